"""The shell's own file system: the host's files as text, in memory.

ESXi counterpart: the visorfs ramdisk plus ``/vmfs/volumes``. Holds ``/etc/vmware/esx.conf``
(ESXi's ``/path = "value"`` configuration store, e.g. ``/system/uuid``, ``/adv/Misc/HostName``,
``/adv/Numa/PreferHT`` for changed advanced options) and each VM's ``.vmx`` under
``/vmfs/volumes/datastore1/NAME/`` (written with :mod:`vmksim.vmx`). Redirections (``>``,
``>>``) write here, never to the real disk; like visorfs, nothing survives the session.

Attached VMFS images (``--datastore IMG``, read with :mod:`vmksim.vmfs`) appear read-only at
``/vmfs/volumes/LABEL`` and ``/vmfs/volumes/UUID``, as ESXi mounts a datastore (by UUID, with
the label as a link to it). Symlinks inside them are followed one level.
"""

from __future__ import annotations

import posixpath

from vmksim.errors import VmfsError
from vmksim.shell.host import DATASTORE, ShellHost
from vmksim.vmfs import FileDescriptor, FileType, Vmfs

__all__ = ["MAX_VMFS_READ_BYTES", "VfsError", "VirtualFs", "host_files"]

#: Directories every ESXi host has (the ones scripts cd into); others appear as files are written.
#: Largest file the text applets read from a VMFS image (a flat .vmdk would not fit in memory).
MAX_VMFS_READ_BYTES = 64 << 20
BASE_DIRS = ("/", "/bin", "/etc", "/etc/vmware", "/tmp", "/var", "/var/log", "/vmfs", "/vmfs/volumes")


class VfsError(Exception):
    """An errno-style failure: the message is the strerror text (``No such file or directory``)."""


class VirtualFs:
    """Absolute paths → text; directories are a set. Paths are normalised POSIX paths."""

    def __init__(self) -> None:
        self.files: dict[str, str] = {}
        self.dirs: set[str] = set(BASE_DIRS)
        self.mounts: dict[str, Vmfs] = {}  # mount point -> read-only VMFS volume

    def mount(self, point: str, volume: Vmfs) -> None:
        self.mounts[point] = volume
        self.mkdirs(point)

    def _mounted(self, path: str) -> tuple[Vmfs, str] | None:
        """(volume, path inside it) when *path* is at or below a mount point."""
        for point, volume in self.mounts.items():
            if path == point or path.startswith(point + "/"):
                return volume, path[len(point) :] or "/"
        return None

    def _lookup(self, path: str) -> FileDescriptor | None:
        found = self._mounted(path)
        if found is None:
            return None
        volume, inner = found
        try:
            fd = volume.lookup(inner)
            if fd.type is FileType.SYMLINK:
                target = fd.read().decode("utf-8", "replace")
                fd = volume.lookup(posixpath.normpath(posixpath.join(posixpath.dirname(inner), target)))
        except VmfsError as exc:
            raise VfsError("No such file or directory" if "no such file" in str(exc) else str(exc)) from None
        return fd

    @staticmethod
    def resolve(cwd: str, path: str) -> str:
        return posixpath.normpath(posixpath.join(cwd, path)).replace("//", "/")

    def mkdirs(self, path: str) -> None:
        while path not in self.dirs:
            self.dirs.add(path)
            path = posixpath.dirname(path)

    def write(self, path: str, text: str, *, append: bool = False) -> None:
        if self._mounted(path) is not None:
            raise VfsError("Read-only file system")
        if path in self.dirs:
            raise VfsError("Is a directory")
        if posixpath.dirname(path) not in self.dirs:
            raise VfsError("No such file or directory")
        self.files[path] = (self.files.get(path, "") if append else "") + text

    def read(self, path: str) -> str:
        fd = self._lookup(path)
        if fd is not None:
            if fd.type is FileType.DIRECTORY:
                raise VfsError("Is a directory")
            if fd.size > MAX_VMFS_READ_BYTES:
                raise VfsError(f"File too large for the shell ({fd.size} bytes)")
            try:
                return fd.read().decode("utf-8", "replace")
            except VmfsError as exc:
                raise VfsError(str(exc)) from None
        if path in self.dirs:
            raise VfsError("Is a directory")
        try:
            return self.files[path]
        except KeyError:
            raise VfsError("No such file or directory") from None

    def _try(self, path: str) -> FileDescriptor | None:
        try:
            return self._lookup(path)
        except VfsError:
            return None

    def is_dir(self, path: str) -> bool:
        if self._mounted(path) is not None:
            fd = self._try(path)
            return fd is not None and fd.type is FileType.DIRECTORY
        return path in self.dirs

    def exists(self, path: str) -> bool:
        if self._mounted(path) is not None:
            return self._try(path) is not None
        return path in self.dirs or path in self.files

    def listdir(self, path: str) -> list[str]:
        found = self._mounted(path)
        if found is not None:
            fd = self._lookup(path)
            if fd is None or fd.type is not FileType.DIRECTORY:
                raise VfsError("Not a directory")
            try:
                return sorted(e.name for e in found[0].listdir(fd))
            except VmfsError as exc:
                raise VfsError(str(exc)) from None
        if path not in self.dirs:
            raise VfsError("No such file or directory")
        names = {
            posixpath.basename(p)
            for p in (*self.files, *self.dirs)
            if p != path and posixpath.dirname(p) == path
        }
        return sorted(names)


def esx_conf(host: ShellHost) -> str:
    lines = [("/system/uuid", host.uuid), ("/adv/Misc/HostName", host.hostname)]
    lines += [(f"/adv/{k.replace('.', '/')}", v) for k, v in sorted(host.scenario.host_settings.items())]
    return "".join(f'{k} = "{v}"\n' for k, v in lines)


def host_files(host: ShellHost) -> VirtualFs:
    """The file system of *host*: esx.conf and the VMs' .vmx files on datastore1."""
    fs = VirtualFs()
    fs.write("/etc/vmware/esx.conf", esx_conf(host))
    fs.mkdirs(f"/vmfs/volumes/{DATASTORE}")
    for vm in host.vms:
        fs.mkdirs(vm.directory)
        fs.write(vm.vmx_path, vm.vmx.to_text())
    for volume in host.datastores:
        for name in (volume.uuid, volume.label):
            if name:
                fs.mount(f"/vmfs/volumes/{name}", volume)
    return fs
