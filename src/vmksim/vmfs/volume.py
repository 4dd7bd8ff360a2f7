"""A VMFS5 / VMFS6 / VMFS-L file system: descriptor, system files, resources, paths.

Reference vmfs-shell-elf-api.md §1.2 item 3 (FS3 descriptor at volume offset
0x200000), §1.3 (system files at fixed FD addresses, address encoding), §1.4
(resource files, cluster groups, bootstrapping the system FDs) and §1.5-1.6.

Descriptor fields used (offsets confirmed on both test images): magic u32
@0x00, major u32 @0x04, minor u8 @0x08, FS UUID @0x09, config flags u32
@0x19, label @0x1D (128 B), disk block size u32 @0x9D, file block size u64
@0xA1, creation time u32 @0xA9, LV UUID @0xB1, FDC cluster-group offset u32
@0xD1, FDC clusters per group u32 @0xD5, sub-block size u32 @0xD9,
mdAlignment u32 @0x134 (VMFS6), sfbToLfbShift u32 @0x138 (VMFS6).

Resource files (.fdc.sf, .pbc.sf, .sbc.sf, .pb2.sf, .fbb.sf) start with a
resource-metadata header — resources per cluster u32 @0x00, clusters per
group @0x04, first cluster-group offset @0x08, resource size @0x0C,
cluster-group size @0x10, number of resources @0x14 — and resource
(cluster c, resource r) sits at first + (c // cpg) * group size
+ cpg * header + ((c % cpg) * rpc + r) * resource size, header being 1 KiB on
VMFS5 and 2 * mdAlignment on VMFS6. Root FD lands at volume 0x420000 (VMFS5)
and 0x720000 (VMFS6), as §1.4 states.

Read-only: locks, heartbeats and the journal are ignored (an image of a
volume in use may show metadata the journal would still change).
"""

from __future__ import annotations

import bisect
import datetime as dt
import struct
from collections.abc import Iterator, Sequence
from functools import cached_property
from typing import NamedTuple

from vmksim.errors import VmfsError
from vmksim.vmfs.address import AddrType, decode, encode_fd
from vmksim.vmfs.blocks import Geometry
from vmksim.vmfs.directory import DirEntry, read_directory
from vmksim.vmfs.inode import Extent, FileDescriptor, FileType
from vmksim.vmfs.lvm import Device, LogicalVolume, fmt_uuid
from vmksim.vmfs.source import Progress, Source, open_source

__all__ = ["ResourceFile", "Vmfs", "VolumeInfo", "open_volumes"]

FS3_OFFSET = 0x200000
MAGIC_VMFS = 0x2FABF15E
MAGIC_VMFS_L = 0x2FABF15F
MAGICS = {MAGIC_VMFS: "VMFS", MAGIC_VMFS_L: "VMFS-L", 0x2FABF160: "VMFS", 0x2FABF161: "VMFS-L"}
CONFIG_DENSE_SBPC = 0x4

# System files at fixed FD addresses, resource numbers in FDC cluster 0 (§1.3).
ROOT, FBB, FDC, PBC, SBC, VH, PB2, SDD = range(8)
SYMLINK_MAX = 4096
"""Longest symbolic-link target read: PATH_MAX of Linux's limits.h, the userland of ESXi's shell."""
_RESOURCE_NAMES = {FBB: ".fbb.sf", FDC: ".fdc.sf", PBC: ".pbc.sf", SBC: ".sbc.sf", PB2: ".pb2.sf"}


class _Bare:
    """A volume with no LVM underneath (a bare "d" image): the source itself."""

    def __init__(self, source: Source):
        self.source = source
        self.size = source.size
        self.uuid = ""
        self.name = ""
        self.devices: list[Device] = []
        self.source_names = [source.name]

    def read(self, offset: int, size: int) -> bytes:
        return self.source.read(offset, size)


class VolumeInfo(NamedTuple):
    """What ``vmkfstools -Ph`` shows (§1.8)."""

    label: str
    uuid: str
    fs_type: str
    major: int
    minor: int
    block_size: int
    sub_block_size: int
    capacity: int
    free: int | None
    created: dt.datetime
    md_alignment: int
    config_flags: int
    lv_uuid: str
    lv_name: str
    extents: tuple[tuple[str, str, int, int, int], ...]  # (image, device name, physical, logical, length)


class ResourceFile:
    """A resource .sf file: locates (cluster, resource) inside it (§1.4)."""

    def __init__(self, fs: Vmfs, fd: FileDescriptor, name: str, header_at: int = 0):
        self.fs = fs
        self.fd = fd
        self.name = name
        raw = fs.read_file_bytes(fd, header_at, 0x40)
        rpc, cpg, first, res_size, group_size, count = struct.unpack_from("<6I", raw, 0)
        if not (rpc and cpg and first):
            raise VmfsError(f"{name} has an empty resource header", source=fs.name, where=fd.where)
        self.per_cluster = rpc
        self.per_group = cpg
        self.first_group = first
        self.resource_size = res_size
        self.group_size = group_size
        self.count = count
        (self.child_offset,) = struct.unpack_from("<I", raw, 0x34) if fs.geometry.vmfs6 else (0,)

    def locate(self, cluster: int, resource: int, where: str) -> int:
        """Offset of the resource in this file; out-of-range → VmfsError."""
        if resource >= self.per_cluster:
            raise VmfsError(
                f"resource {resource} out of range in {self.name} ({self.per_cluster} per cluster)",
                source=self.fs.name,
                where=where,
            )
        hdr = self.fs.geometry.cluster_header
        offset = (
            self.first_group
            + (cluster // self.per_group) * self.group_size
            + self.per_group * hdr
            + ((cluster % self.per_group) * self.per_cluster + resource) * self.resource_size
        )
        if offset + self.resource_size > self.fd.size:
            raise VmfsError(
                f"cluster {cluster} resource {resource} lies beyond the end of {self.name}",
                source=self.fs.name,
                where=where,
            )
        return offset

    def cluster_meta(self, cluster: int, parent_per_group: int = 0) -> bytes:
        """The metadata block of *cluster* (after its lock block)."""
        hdr = self.fs.geometry.cluster_header
        group, index = divmod(cluster, self.per_group)
        offset = self.first_group + group * self.group_size + (parent_per_group + index) * hdr + hdr // 2
        return self.fs.read_file_bytes(self.fd, offset, 0x40)


class Vmfs:
    """One mounted (read-only) VMFS file system. Use :func:`open_volumes` or :meth:`open`."""

    def __init__(self, volume: LogicalVolume | _Bare, name: str):
        self.volume = volume
        self.name = name
        self.volume_size = volume.size
        raw = self.read_volume(FS3_OFFSET, 0x200)
        magic, major, minor = struct.unpack_from("<IIB", raw, 0)
        if magic not in MAGICS:
            raise VmfsError(
                f"bad VMFS magic {magic:#010x}, expected {MAGIC_VMFS:#010x} (VMFS) or "
                f"{MAGIC_VMFS_L:#010x} (VMFS-L); not a VMFS volume",
                source=name,
                where=f"volume offset {FS3_OFFSET:#x}",
            )
        self.fs_type = MAGICS[magic]
        self.major = major
        self.minor = minor
        self.uuid = fmt_uuid(raw[9:25])
        (self.config_flags,) = struct.unpack_from("<I", raw, 0x19)
        self.label = raw[0x1D:0x9D].split(b"\0", 1)[0].decode("utf-8", "replace")
        (self.disk_block_size,) = struct.unpack_from("<I", raw, 0x9D)
        (self.file_block_size, self.ctime) = struct.unpack_from("<QI", raw, 0xA1)
        self.lv_uuid = fmt_uuid(raw[0xB1:0xC1])
        fdc_group, fdc_cpg, self.sub_block_size = struct.unpack_from("<III", raw, 0xD1)
        md_alignment, self.sfb_to_lfb_shift = struct.unpack_from("<II", raw, 0x134)
        vmfs6 = major >= 24
        if not vmfs6 and major < 14:
            raise VmfsError(f"VMFS major version {major} (VMFS3 or older) is not supported", source=name)
        if not (self.file_block_size and not self.file_block_size & (self.file_block_size - 1)):
            raise VmfsError(f"bad file block size {self.file_block_size}", source=name, where="descriptor")
        if vmfs6:
            if md_alignment not in (512, 1024, 2048, 4096, 8192):
                raise VmfsError(f"bad mdAlignment {md_alignment}", source=name, where="descriptor")
            self.geometry = Geometry(
                True, md_alignment, 2 * md_alignment, md_alignment, md_alignment + 0x200, 320,
                2 * md_alignment, 8192, 8,
            )  # fmt: skip
            # §1.4: mdAlignment * 1024 + 4 MiB - 1, truncated to 1 MiB (7 MiB for 4 KiB alignment)
            sfd_base = (md_alignment * 1024 + (4 << 20) - 1) & ~((1 << 20) - 1)
        else:
            self.sfb_to_lfb_shift = 0
            self.geometry = Geometry(False, 512, 0x800, 0x200, 0x400, 256, 0x400, 1024, 4)
            sfd_base = 4 << 20  # after the 4 MiB .vh.sf (§1.3)
        g = self.geometry
        fdc_at = sfd_base + fdc_group + fdc_cpg * g.cluster_header + FDC * g.fd_size
        fdc_fd = FileDescriptor.parse(
            self, encode_fd(0, FDC), self.read_volume(fdc_at, g.fd_size), f"volume offset {fdc_at:#x}"
        )
        self._loading_sfb = False
        self._extent_cache: dict[int, tuple[list[int], list[Extent]]] = {}
        self._resources: dict[int, ResourceFile] = {}
        self._loading: set[int] = {FDC}
        try:
            self.fdc = ResourceFile(self, fdc_fd, ".fdc.sf")
        finally:
            self._loading.discard(FDC)

    # ------------------------------------------------------------ opening
    @classmethod
    def open(cls, paths: Sequence[str], progress: Progress | None = None) -> Vmfs:
        """Open the one volume held by *paths* (one image, or every device of a spanned volume)."""
        vols = open_volumes(paths, progress)
        if len(vols) != 1:
            labels = ", ".join(v.label or v.uuid for v in vols)
            raise VmfsError(f"the images hold {len(vols)} volumes ({labels}); give one volume's devices")
        return vols[0]

    # ------------------------------------------------------------ geometry
    @property
    def vmfs6(self) -> bool:
        return self.geometry.vmfs6

    @property
    def lfb_size(self) -> int:
        return self.file_block_size << self.sfb_to_lfb_shift

    @property
    def _truncated_hint(self) -> str:
        """A bare image's volume ends where the file ends, so "outside" may mean "truncated"."""
        return "; image truncated?" if isinstance(self.volume, _Bare) else ""

    def read_volume(self, offset: int, size: int) -> bytes:
        if offset < 0 or offset + size > self.volume_size:
            raise VmfsError(
                f"block at {offset:#x} (+{size:#x}) is outside the {self.volume_size:#x}-byte volume"
                f"{self._truncated_hint}",
                source=self.name,
                where=f"volume offset {offset:#x}",
            )
        return self.volume.read(offset, size)

    # ------------------------------------------------------------ resources
    def _resource(self, number: int) -> ResourceFile:
        """The resource file at FD (0, *number*), loaded once.

        Its own FD and block map are found through other resource files (§1.4: the FD
        through .fdc.sf, sub-blocks through .sbc.sf, pointer blocks through .pbc.sf). A
        crafted image can make one of them need itself (.sbc.sf's data in a sub-block):
        that loop is refused here instead of recursing until Python gives up.
        """
        res = self._resources.get(number)
        if res is not None:
            return res
        name = _RESOURCE_NAMES[number]
        if number in self._loading:
            raise VmfsError(
                f"{name} is needed to locate its own blocks (corrupt system file)",
                source=self.name,
                where=f"FD {encode_fd(0, number):#x}",
            )
        self._loading.add(number)
        try:
            fd = self.fd(encode_fd(0, number))
            res = ResourceFile(self, fd, name)
        finally:
            self._loading.discard(number)
        self._resources[number] = res
        return res

    @property
    def sbc(self) -> ResourceFile:
        return self._resource(SBC)

    @property
    def pbc(self) -> ResourceFile:
        return self._resource(PBC)

    @property
    def pb2(self) -> ResourceFile:
        return self._resource(PB2)

    @property
    def fbb(self) -> ResourceFile:
        return self._resource(FBB)

    @cached_property
    def sfb(self) -> ResourceFile:
        """VMFS6: the small-file-block resource, the child inside .fbb.sf (§1.3)."""
        parent = self.fbb
        return ResourceFile(
            self, parent.fd, ".fbb.sf (SFB)", parent.child_offset or self.geometry.md_alignment
        )

    def _sfb_per_cluster(self, where: str) -> int:
        if self._loading_sfb:
            raise VmfsError(
                "the block bitmap .fbb.sf lives outside SFB cluster 0", source=self.name, where=where
            )
        self._loading_sfb = True
        try:
            return self.sfb.per_cluster
        finally:
            self._loading_sfb = False

    def _system_extents(self, fd: FileDescriptor) -> tuple[list[int], list[Extent]]:
        cached = self._extent_cache.get(fd.address)
        if cached is None:
            exts = list(fd.extents())
            cached = ([e.offset for e in exts], exts)
            self._extent_cache[fd.address] = cached
        return cached

    def read_file_bytes(self, fd: FileDescriptor, offset: int, size: int) -> bytes:
        """Read a (small, system) file's bytes through a cached block map."""
        if offset + size > fd.size:
            raise VmfsError(
                f"read at {offset:#x} (+{size:#x}) is past the end of a {fd.size:#x}-byte file",
                source=self.name,
                where=fd.where,
            )
        starts, exts = self._system_extents(fd)
        out = []
        while size > 0:
            ext = exts[bisect.bisect_right(starts, offset) - 1]
            inside = offset - ext.offset
            n = min(size, ext.length - inside)
            out.append(bytes(n) if ext.volume is None else self.read_volume(ext.volume + inside, n))
            offset += n
            size -= n
        return b"".join(out)

    def _resource_volume_offset(self, res: ResourceFile, cluster: int, resource: int, where: str) -> int:
        """Volume offset of a whole resource (it must not straddle two blocks of the .sf file)."""
        off = res.locate(cluster, resource, where)
        starts, exts = self._system_extents(res.fd)
        ext = exts[bisect.bisect_right(starts, off) - 1]
        if ext.volume is None or off + res.resource_size > ext.offset + ext.length:
            raise VmfsError(
                f"cluster {cluster} resource {resource} of {res.name} is not backed by one block",
                source=self.name,
                where=where,
            )
        return ext.volume + off - ext.offset

    def data_block(self, addr: int, block_size: int, where: str) -> int | None:
        """Volume offset of the data block *addr* (None when TBZ: reads as zeros)."""
        d = decode(addr, self.vmfs6, bool(self.config_flags & CONFIG_DENSE_SBPC))
        where = f"{where}, address {addr:#x}"
        if d.tbz:
            return None
        if d.type is AddrType.FB:
            if self.vmfs6:
                # cluster 0 needs no geometry: this is how the system files bootstrap (§1.4)
                per_cluster = self._sfb_per_cluster(where) if d.cluster else 0
                vol = (d.cluster * per_cluster + d.resource) * self.file_block_size
            else:
                vol = d.block * self.file_block_size
        elif d.type is AddrType.LFB and self.vmfs6:
            vol = d.block * self.lfb_size
        elif d.type is AddrType.SB:
            vol = self._resource_volume_offset(self.sbc, d.cluster, d.resource, where)
            block_size = min(block_size, self.sbc.resource_size)
        else:
            raise VmfsError(
                f"{d.type.name} address where a data block was expected", source=self.name, where=where
            )
        if vol + block_size > self.volume_size:
            raise VmfsError(
                f"block address points outside the volume (offset {vol:#x}, volume is "
                f"{self.volume_size:#x} bytes{self._truncated_hint})",
                source=self.name,
                where=where,
            )
        return vol

    def pointer_block(self, addr: int, where: str) -> tuple[int, ...]:
        """The addresses held by the pointer block *addr* (PB, PB2, or a SB/FB used as one)."""
        g = self.geometry
        size = g.pb_entries * g.word
        d = decode(addr, self.vmfs6, bool(self.config_flags & CONFIG_DENSE_SBPC))
        where = f"{where}, pointer block {addr:#x}"
        if d.type is AddrType.PB:
            vol = self._resource_volume_offset(self.pbc, d.cluster, d.resource, where)
        elif d.type is AddrType.PB2:
            vol = self._resource_volume_offset(self.pb2, d.cluster, d.resource, where)
        elif d.type in (AddrType.SB, AddrType.FB, AddrType.LFB):
            got = self.data_block(addr, size, where)
            if got is None:
                return (0,) * g.pb_entries
            vol = got
        else:
            raise VmfsError(
                f"{d.type.name} address where a pointer block was expected", source=self.name, where=where
            )
        raw = self.read_volume(vol, size)
        return struct.unpack(f"<{g.pb_entries}{'Q' if g.vmfs6 else 'I'}", raw)

    # ------------------------------------------------------------ files
    def fd(self, address: int, where: str | None = None) -> FileDescriptor:
        """Parse the FD at *address* (an FD-type address, §1.3)."""
        where = where or f"FD {address:#x}"
        d = decode(address, self.vmfs6)
        if d.type is not AddrType.FD:
            raise VmfsError(f"{address:#x} is not a file-descriptor address", source=self.name, where=where)
        if FDC in self._loading:
            raise VmfsError(
                ".fdc.sf is needed to locate its own blocks (corrupt system file)",
                source=self.name,
                where=where,
            )
        off = self.fdc.locate(d.cluster, d.resource, where)
        raw = self.read_file_bytes(self.fdc.fd, off, self.geometry.fd_size)
        return FileDescriptor.parse(self, address, raw, where)

    @cached_property
    def root(self) -> FileDescriptor:
        return self.fd(encode_fd(0, ROOT))

    def listdir(self, fd: FileDescriptor) -> list[DirEntry]:
        """Entries of directory *fd* (without "." and "..")."""
        if fd.type is not FileType.DIRECTORY:
            raise VmfsError("not a directory", source=self.name, where=fd.where)
        return read_directory(self, fd)

    def lookup(self, path: str) -> FileDescriptor:
        """The FD at an absolute or root-relative *path*; symlinks are not followed."""
        fd = self.root
        walked = ""
        for part in [p for p in path.split("/") if p and p != "."]:
            if fd.type is not FileType.DIRECTORY:
                raise VmfsError("not a directory", source=self.name, where=walked or "/")
            walked += "/" + part
            if part == "..":
                raise VmfsError("'..' is not supported in paths", source=self.name, where=walked)
            for entry in self.listdir(fd):
                if entry.name == part:
                    fd = self.fd(entry.address, where=walked)
                    break
            else:
                raise VmfsError("no such file or directory", source=self.name, where=walked)
        return fd

    def walk(self, path: str = "/") -> Iterator[tuple[str, DirEntry, FileDescriptor]]:
        """Depth-first (path, entry, fd) for everything under *path*; directory cycles are refused."""
        top = self.lookup(path)
        stack = [(path.rstrip("/") or "", top, frozenset({top.address}))]
        while stack:
            base, fd, ancestors = stack.pop()
            items = []
            for entry in sorted(self.listdir(fd), key=lambda e: e.name):
                child_path = f"{base}/{entry.name}"
                child = self.fd(entry.address, where=child_path)
                items.append((child_path, entry, child))
            for child_path, entry, child in items:
                yield child_path, entry, child
            for child_path, _entry, child in reversed(items):
                if child.type is FileType.DIRECTORY:
                    if child.address in ancestors:
                        raise VmfsError("directory cycle", source=self.name, where=child_path)
                    stack.append((child_path, child, ancestors | {child.address}))

    def readlink(self, fd: FileDescriptor) -> str:
        if fd.type is not FileType.SYMLINK:
            raise VmfsError("not a symbolic link", source=self.name, where=fd.where)
        if fd.size > SYMLINK_MAX:
            raise VmfsError(
                f"symbolic link claims a {fd.size}-byte target, longer than a path can be ({SYMLINK_MAX})",
                source=self.name,
                where=fd.where,
            )
        return fd.read().decode("utf-8", "replace")

    # ------------------------------------------------------------ volume info
    def _free_blocks(self) -> tuple[int, int | None]:
        """(total, free) file blocks from the block-bitmap cluster metadata (§1.4)."""
        try:
            return self._count_blocks()
        except VmfsError:
            return self.volume_size // self.file_block_size, None

    def _count_blocks(self) -> tuple[int, int | None]:
        if self.vmfs6:
            res, parent_cpg = self.sfb, self.fbb.per_group
            total_at, free_at, fmt = 0x20, 0x26, "<H"
        else:
            res, parent_cpg = self.fbb, 0
            total_at, free_at, fmt = 0x04, 0x08, "<I"
        clusters = -(-res.count // res.per_cluster)
        total = free = 0
        try:
            for c in range(clusters):
                meta = res.cluster_meta(c, parent_cpg)
                total += struct.unpack_from(fmt, meta, total_at)[0]
                free += struct.unpack_from(fmt, meta, free_at)[0]
        except VmfsError:
            return res.count, None
        return res.count, (free if total == res.count else None)

    def info(self) -> VolumeInfo:
        total, free = self._free_blocks()
        extents: list[tuple[str, str, int, int, int]] = []
        if isinstance(self.volume, LogicalVolume):
            byidx = {pe.device: d for d in self.volume.devices for pe in d.extents}
            for pe in self.volume.extents:
                dev = byidx[pe.device]
                extents.append((dev.source.name, dev.device_name, pe.physical, pe.logical, pe.length))
        else:
            extents.append((self.volume.source.name, "", 0, 0, self.volume.size))
        return VolumeInfo(
            self.label, self.uuid, self.fs_type, self.major, self.minor, self.file_block_size,
            self.sub_block_size, total * self.file_block_size,
            None if free is None else free * self.file_block_size,
            dt.datetime.fromtimestamp(self.ctime, dt.UTC), self.geometry.md_alignment if self.vmfs6 else 0,
            self.config_flags, self.volume.uuid, self.volume.name, tuple(extents),
        )  # fmt: skip

    @property
    def version_text(self) -> str:
        """E.g. "VMFS-6.82" — vmkfstools' spelling (§1.8)."""
        gen = 6 if self.major >= 24 else 5
        return f"{self.fs_type}-{gen}.{self.minor}"


def open_volumes(paths: Sequence[str], progress: Progress | None = None) -> list[Vmfs]:
    """Open every volume found in *paths*: LVM devices are grouped by volume UUID, bare images stand alone.

    *progress* follows the inflation of gzip images (see :func:`~vmksim.vmfs.source.open_source`).
    """
    if not paths:
        raise VmfsError("no image given")
    sources = [open_source(p, progress) for p in paths]
    groups: dict[str, list[Device]] = {}
    bare: list[Source] = []
    for i, src in enumerate(sources):
        if Device.probe(src):
            dev = Device.read(src, i)
            groups.setdefault(dev.volume_uuid, []).append(dev)
        elif src.size >= FS3_OFFSET + 4 and struct.unpack("<I", src.read(FS3_OFFSET, 4))[0] in MAGICS:
            bare.append(src)
        else:
            if src.size < FS3_OFFSET + 4:
                raise VmfsError(
                    f"image is truncated or too small ({src.size} bytes) to hold a VMFS volume",
                    source=src.name,
                )
            (lvm_magic,) = struct.unpack("<I", src.read(0x100000, 4))
            raise VmfsError(
                f"neither an LVM device (magic {lvm_magic:#010x} at 0x100000, expected 0xc001d00d) "
                "nor a bare VMFS volume (no 0x2fabf15e at 0x200000)",
                source=src.name,
            )
    vols = [Vmfs(LogicalVolume(devs), devs[0].source.name) for devs in groups.values()]
    vols += [Vmfs(_Bare(src), src.name) for src in bare]
    return vols
