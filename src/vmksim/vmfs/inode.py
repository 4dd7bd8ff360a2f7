"""VMFS file descriptors ("inodes") and their block maps.

Reference vmfs-shell-elf-api.md §1.5. An FD is a lock block, a metadata block
and a data area. VMFS5: 512 + 512 + 1024 bytes, the data area being 256 u32
block pointers or resident data. VMFS6: two mdAlignment units (8 KiB); the
metadata sits in the second unit, resident data follows the 512-byte metadata
and the 320 u64 pointers are aligned to the end of the FD.

The zero-level address type (ZLA) says how the pointers are read: 1 direct
file blocks, 2 direct sub-blocks, 3 one level of pointer blocks, 5 one level
of PB2 pointer blocks, 4304 two levels, 4305 data resident in the FD. Address
0 is a hole, a TBZ bit reads as zeros; both yield holes so extraction can
stay sparse. Pointer blocks hold 1024 u32 (VMFS5, 4 KiB) or 8192 u64 (VMFS6,
64 KiB). Metadata offsets (type @0x0C, length @0x14, block size @0x1C, times
@0x2C.., mode @0x40, ZLA @0x44) were confirmed on the test images.
"""

from __future__ import annotations

import stat
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple

from vmksim.errors import VmfsError
from vmksim.vmfs.blocks import MAX_FILE_SIZE, BlockReader

__all__ = ["Extent", "FileDescriptor", "FileType", "Zla"]


class FileType(IntEnum):
    """FD type field (§1.5)."""

    VOLUME = 1
    DIRECTORY = 2
    REGULAR = 3
    SYMLINK = 4
    SYSTEM = 5
    RDM = 6


class Zla(IntEnum):
    """Zero-level address type (§1.5)."""

    FILE_BLOCKS = 1
    SUB_BLOCKS = 2
    POINTER_BLOCKS = 3
    PB2 = 5
    DOUBLE_INDIRECT = 4304
    RESIDENT = 4305


class Extent(NamedTuple):
    """*length* bytes of a file at *offset*; *volume* is where they live, None for a hole."""

    offset: int
    length: int
    volume: int | None


# levels of indirection per ZLA
_LEVELS = {Zla.FILE_BLOCKS: 0, Zla.SUB_BLOCKS: 0, Zla.POINTER_BLOCKS: 1, Zla.PB2: 1, Zla.DOUBLE_INDIRECT: 2}
_LS_TYPE = {
    FileType.DIRECTORY: stat.S_IFDIR,
    FileType.REGULAR: stat.S_IFREG,
    FileType.SYMLINK: stat.S_IFLNK,
    FileType.SYSTEM: stat.S_IFREG,
    FileType.RDM: stat.S_IFREG,
    FileType.VOLUME: stat.S_IFREG,
}


@dataclass(frozen=True, slots=True)
class FileDescriptor:
    """One parsed FD. ``extents()`` walks its block map; ``read()`` reads its bytes."""

    fs: BlockReader
    address: int
    generation: int
    links: int
    type: FileType
    flags: int
    size: int
    block_size: int
    num_blocks: int
    mtime: int
    ctime: int
    atime: int
    uid: int
    gid: int
    mode: int
    zla: int
    pointers: tuple[int, ...]
    resident: bytes

    @classmethod
    def parse(cls, fs: BlockReader, address: int, raw: bytes, where: str) -> FileDescriptor:
        g = fs.geometry
        meta = raw[g.fd_meta : g.fd_meta + 0x200]
        (own, gen, links, ftype, flags) = struct.unpack_from("<5I", meta, 0)
        size, block_size, num_blocks = struct.unpack_from("<3Q", meta, 0x14)
        mtime, ctime, atime, uid, gid, mode, zla = struct.unpack_from("<7I", meta, 0x2C)
        if own != address or ftype not in FileType._value2member_map_:
            raise VmfsError(
                f"FD {address:#x} is not in use (its slot holds address {own:#x}, type {ftype})",
                source=fs.name,
                where=where,
            )
        if size > MAX_FILE_SIZE:
            raise VmfsError(
                f"FD claims a {size}-byte file, more than the largest VMFS file ({MAX_FILE_SIZE} bytes)",
                source=fs.name,
                where=where,
            )
        if zla == Zla.RESIDENT:
            pointers: tuple[int, ...] = ()
            resident = raw[g.fd_resident : g.fd_resident + min(size, g.fd_size - g.fd_resident)]
        else:
            fmt = f"<{g.fd_pointers}{'Q' if g.vmfs6 else 'I'}"
            pointers = struct.unpack_from(fmt, raw, g.fd_size - struct.calcsize(fmt))
            resident = b""
        return cls(
            fs, address, gen, links, FileType(ftype), flags, size, block_size, num_blocks,
            mtime, ctime, atime, uid, gid, mode, zla, pointers, resident,
        )  # fmt: skip

    # ------------------------------------------------------------------ views
    @property
    def kind(self) -> str:
        """file, dir, symlink or rdm (the CLI's ``type``); system files count as files."""
        return {FileType.DIRECTORY: "dir", FileType.SYMLINK: "symlink", FileType.RDM: "rdm"}.get(
            self.type, "file"
        )

    @property
    def st_mode(self) -> int:
        """Unix mode with the file-type bits ESXi leaves out of the stored mode."""
        return _LS_TYPE[self.type] | (self.mode & 0o7777)

    @property
    def where(self) -> str:
        return f"FD {self.address:#x}"

    # -------------------------------------------------------------- block map
    def extents(self) -> Iterator[Extent]:
        """Cover [0, size) with data extents and holes, in file order."""
        if self.zla == Zla.RESIDENT:
            if self.size > len(self.resident):
                raise VmfsError(
                    f"resident file claims {self.size} bytes but the FD holds {len(self.resident)}",
                    source=self.fs.name,
                    where=self.where,
                )
            return
        try:
            levels = _LEVELS[Zla(self.zla)]
        except (ValueError, KeyError):
            raise VmfsError(
                f"unknown zero-level address type {self.zla}", source=self.fs.name, where=self.where
            ) from None
        if self.block_size <= 0 or self.block_size & (self.block_size - 1):
            raise VmfsError(f"bad block size {self.block_size}", source=self.fs.name, where=self.where)
        span = self.block_size * self.fs.geometry.pb_entries**levels
        seen: set[int] = set()
        for i, ptr in enumerate(self.pointers):
            start = i * span
            if start >= self.size:
                break
            yield from self._walk(ptr, levels, start, seen)
        end = min(len(self.pointers) * span, self.size)
        if end < self.size:
            raise VmfsError(
                f"file size {self.size} is beyond what ZLA {self.zla} can address ({end})",
                source=self.fs.name,
                where=self.where,
            )

    def _walk(self, addr: int, level: int, start: int, seen: set[int]) -> Iterator[Extent]:
        fs = self.fs
        span = self.block_size * fs.geometry.pb_entries**level
        length = min(span, self.size - start)
        if addr == 0:
            yield Extent(start, length, None)
            return
        if level == 0:
            vol = fs.data_block(addr, self.block_size, self.where)
            yield Extent(start, length, vol)
            return
        if addr in seen:
            raise VmfsError(
                f"pointer-block loop: pointer block {addr:#x} is referenced twice",
                source=fs.name,
                where=self.where,
            )
        seen.add(addr)
        child = span // fs.geometry.pb_entries
        for j, sub in enumerate(fs.pointer_block(addr, self.where)):
            s = start + j * child
            if s >= self.size:
                break
            yield from self._walk(sub, level - 1, s, seen)

    def iter_chunks(self, chunk: int = 1 << 20) -> Iterator[tuple[int, bytes | int]]:
        """(offset, bytes) for data and (offset, hole length) for holes, in file order."""
        if self.zla == Zla.RESIDENT:
            list(self.extents())  # validates the size
            if self.size:
                yield 0, self.resident[: self.size]
            return
        for ext in _merge(self.extents()):
            if ext.volume is None:
                yield ext.offset, ext.length
                continue
            done = 0
            while done < ext.length:
                n = min(chunk, ext.length - done)
                yield ext.offset + done, self.fs.read_volume(ext.volume + done, n)
                done += n

    def read(self, offset: int = 0, size: int | None = None) -> bytes:
        """Bytes [offset, offset+size) (clipped to the file)."""
        end = self.size if size is None else min(self.size, offset + size)
        if offset >= end:
            return b""
        if self.zla == Zla.RESIDENT:
            list(self.extents())
            return self.resident[offset:end]
        out = bytearray()
        for ext in self.extents():
            if ext.offset + ext.length <= offset:
                continue
            if ext.offset >= end:
                break
            lo = max(offset, ext.offset)
            hi = min(end, ext.offset + ext.length)
            if ext.volume is None:
                out += bytes(hi - lo)
            else:
                out += self.fs.read_volume(ext.volume + lo - ext.offset, hi - lo)
        return bytes(out)


def _merge(extents: Iterator[Extent]) -> Iterator[Extent]:
    """Join neighbouring holes, and neighbouring data extents that are contiguous on the volume."""
    cur: Extent | None = None
    for ext in extents:
        if cur is not None and cur.offset + cur.length == ext.offset:
            if cur.volume is None and ext.volume is None:
                cur = Extent(cur.offset, cur.length + ext.length, None)
                continue
            if cur.volume is not None and ext.volume == cur.volume + cur.length:
                cur = Extent(cur.offset, cur.length + ext.length, cur.volume)
                continue
        if cur is not None:
            yield cur
        cur = ext
    if cur is not None:
        yield cur
