"""The shell's own file system: the host's files as text, in memory.

ESXi counterpart: the visorfs ramdisk plus ``/vmfs/volumes``. Holds ``/etc/vmware/esx.conf``
(ESXi's ``/path = "value"`` configuration store, e.g. ``/system/uuid``, ``/adv/Misc/HostName``,
``/adv/Numa/PreferHT`` for changed advanced options) and each VM's ``.vmx`` under
``/vmfs/volumes/datastore1/NAME/`` (written with :mod:`vmksim.vmx`). Redirections (``>``,
``>>``) write here, never to the real disk; like visorfs, nothing survives the session.
"""

from __future__ import annotations

import posixpath

from vmksim.shell.host import DATASTORE, ShellHost

__all__ = ["VfsError", "VirtualFs", "host_files"]

#: Directories every ESXi host has (the ones scripts cd into); others appear as files are written.
BASE_DIRS = ("/", "/bin", "/etc", "/etc/vmware", "/tmp", "/var", "/var/log", "/vmfs", "/vmfs/volumes")


class VfsError(Exception):
    """An errno-style failure: the message is the strerror text (``No such file or directory``)."""


class VirtualFs:
    """Absolute paths → text; directories are a set. Paths are normalised POSIX paths."""

    def __init__(self) -> None:
        self.files: dict[str, str] = {}
        self.dirs: set[str] = set(BASE_DIRS)

    @staticmethod
    def resolve(cwd: str, path: str) -> str:
        return posixpath.normpath(posixpath.join(cwd, path)).replace("//", "/")

    def mkdirs(self, path: str) -> None:
        while path not in self.dirs:
            self.dirs.add(path)
            path = posixpath.dirname(path)

    def write(self, path: str, text: str, *, append: bool = False) -> None:
        if path in self.dirs:
            raise VfsError("Is a directory")
        if posixpath.dirname(path) not in self.dirs:
            raise VfsError("No such file or directory")
        self.files[path] = (self.files.get(path, "") if append else "") + text

    def read(self, path: str) -> str:
        if path in self.dirs:
            raise VfsError("Is a directory")
        try:
            return self.files[path]
        except KeyError:
            raise VfsError("No such file or directory") from None

    def is_dir(self, path: str) -> bool:
        return path in self.dirs

    def exists(self, path: str) -> bool:
        return path in self.dirs or path in self.files

    def listdir(self, path: str) -> list[str]:
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
    return fs
