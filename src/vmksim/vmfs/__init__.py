"""Read-only VMFS5 / VMFS6 / VMFS-L reader (reference vmfs-shell-elf-api.md §1).

Layers, bottom up: :mod:`~vmksim.vmfs.source` (raw, gzip, block device, GPT),
:mod:`~vmksim.vmfs.lvm` (LVM5/LVM6 devices and spanned volumes),
:mod:`~vmksim.vmfs.address` (typed block addresses),
:mod:`~vmksim.vmfs.blocks` (the block-reader interface files read through),
:mod:`~vmksim.vmfs.inode` (file descriptors and block maps),
:mod:`~vmksim.vmfs.directory` (VMFS5 and hashed VMFS6 directories),
:mod:`~vmksim.vmfs.volume` (FS3 descriptor, resource files, paths; implements
the block reader). Each imports only the ones before it.

    >>> fs = Vmfs.open(["vmfs6.bin.gz"])          # doctest: +SKIP
    >>> fs.lookup("/directory/file4").read()      # doctest: +SKIP
    b'content\\n'
"""

from __future__ import annotations

from vmksim.vmfs.directory import DirEntry
from vmksim.vmfs.inode import Extent, FileDescriptor, FileType
from vmksim.vmfs.volume import Vmfs, VolumeInfo, open_volumes

__all__ = ["DirEntry", "Extent", "FileDescriptor", "FileType", "Vmfs", "VolumeInfo", "open_volumes"]
