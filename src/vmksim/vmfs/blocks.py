"""What a file needs from the volume under it: geometry and block reads (the bottom of vmfs/).

:mod:`~vmksim.vmfs.inode` (file descriptors and block maps) and
:mod:`~vmksim.vmfs.directory` (directory entries) read through the small
:class:`BlockReader` interface; :class:`~vmksim.vmfs.volume.Vmfs` implements
it. So the import order is one way, blocks < inode < directory < volume,
with no type-level cycle between the three (issue 12 item 6).

Sizes per format: reference vmfs-shell-elf-api.md §1.4 (resource clusters,
pointer blocks) and §1.5 (file descriptor layout).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["MAX_FILE_SIZE", "BlockReader", "Geometry"]

MAX_FILE_SIZE = 62 << 40
"""The largest file VMFS5 and VMFS6 can hold, 62 TB (the "Limits" box of
https://en.wikipedia.org/wiki/VMware_VMFS, from VMware's configuration maximums);
an FD claiming more is corrupt."""


@dataclass(frozen=True, slots=True)
class Geometry:
    """Sizes that differ between VMFS5 and VMFS6 (§1.4, §1.5)."""

    vmfs6: bool
    md_alignment: int  # 512 on VMFS5 (its unit), 4096 on VMFS6
    fd_size: int
    fd_meta: int
    fd_resident: int
    fd_pointers: int
    cluster_header: int
    pb_entries: int
    word: int


class BlockReader(Protocol):
    """A mounted volume as seen by a file: where its blocks are and how to read them."""

    name: str
    """The image name that errors start with."""
    geometry: Geometry
    volume_size: int

    @property
    def vmfs6(self) -> bool: ...

    def read_volume(self, offset: int, size: int) -> bytes:
        """Exactly *size* bytes at volume *offset*, or a VmfsError."""
        ...

    def data_block(self, addr: int, block_size: int, where: str) -> int | None:
        """Volume offset of the data block *addr*; None when it reads as zeros (TBZ)."""
        ...

    def pointer_block(self, addr: int, where: str) -> tuple[int, ...]:
        """The addresses held by the pointer block *addr*."""
        ...
