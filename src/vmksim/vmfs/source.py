"""Byte sources a VMFS volume is read from: raw images, gzip images, block devices.

Models the "device" under ESXi's LVM layer (reference vmfs-shell-elf-api.md
§1.2 item 1): a partition, seen as a flat run of bytes. A whole-disk image
with a GPT is narrowed to its VMware VMFS partition (type GUID
AA31E02A-400F-11DB-9590-000C2911D1B8, §1.2); an MBR partition of type 0xFB
likewise.

gzip cannot be read at random offsets cheaply, so a gzip image is inflated
once into an anonymous temporary file (holes kept sparse: all-zero chunks are
skipped, not written); :attr:`Source.note` says so for the CLI to print.
Every read past the end raises :class:`~vmksim.errors.VmfsError` naming the
image and offset — a truncated image is reported, never padded with zeros.
"""

from __future__ import annotations

import gzip
import os
import stat
import struct
import tempfile
import uuid
import zlib
from collections.abc import Callable
from typing import IO

from vmksim.errors import VmfsError

__all__ = ["Progress", "Source", "open_source"]

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20
_ZERO_CHUNK = bytes(_CHUNK)
# GPT type GUID of a VMFS partition (reference §1.2 item 1).
_VMFS_GPT_TYPE = uuid.UUID("AA31E02A-400F-11DB-9590-000C2911D1B8")
_VMFS_MBR_TYPE = 0xFB


class Source:
    """A read-only run of bytes: ``read(offset, size)`` returns exactly *size* bytes or raises."""

    __slots__ = ("_fh", "base", "name", "note", "size")

    def __init__(self, fh: IO[bytes], name: str, size: int, base: int = 0, note: str | None = None):
        self._fh = fh
        self.name = name
        self.size = size
        self.base = base
        self.note = note

    def read(self, offset: int, size: int) -> bytes:
        """Read *size* bytes at *offset*; a short read is a truncated image."""
        if offset < 0 or size < 0:
            raise VmfsError(f"negative read ({size} bytes)", source=self.name, where=f"offset {offset:#x}")
        if offset + size > self.size:
            raise VmfsError(
                f"image is truncated: need {size} bytes here but the image ends at {self.size:#x}",
                source=self.name,
                where=f"offset {offset:#x}",
            )
        data = os.pread(self._fh.fileno(), size, self.base + offset)
        if len(data) != size:
            raise VmfsError("short read (image truncated?)", source=self.name, where=f"offset {offset:#x}")
        return data

    def close(self) -> None:
        self._fh.close()

    def __repr__(self) -> str:
        return f"Source({self.name!r}, size={self.size:#x}, base={self.base:#x})"


Progress = Callable[[str, int, int], None]
"""Called as ``progress(image, compressed bytes read, compressed size)`` while a gzip image inflates."""


def _inflate(path: str, progress: Progress | None = None) -> tuple[IO[bytes], int]:
    """Decompress a gzip file into an anonymous sparse temporary file, once."""
    tmp = tempfile.TemporaryFile(prefix="vmksim-vmfs-")  # noqa: SIM115 - returned to the caller
    try:
        with open(path, "rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as gz:
            total = os.fstat(raw.fileno()).st_size
            pos = 0
            while True:
                chunk = gz.read(_CHUNK)
                if progress is not None:
                    progress(path, raw.tell(), total)
                if not chunk:
                    break
                if len(chunk) == _CHUNK and chunk == _ZERO_CHUNK:
                    pos += _CHUNK  # keep the temporary file sparse
                    continue
                tmp.seek(pos)
                tmp.write(chunk)
                pos += len(chunk)
        tmp.truncate(pos)
        tmp.flush()
    except (OSError, EOFError, zlib.error) as exc:
        tmp.close()
        raise VmfsError(f"cannot decompress gzip image: {exc}", source=path) from None
    return tmp, pos


def _find_partition(fh: IO[bytes], size: int) -> tuple[int, int] | None:
    """(offset, length) of a VMFS partition in a whole-disk image, or None if it is no disk image."""
    head = os.pread(fh.fileno(), 1024, 0)
    if len(head) < 1024:
        return None
    if head[512:520] == b"EFI PART":
        entries_lba, count, entry_size = struct.unpack_from("<QII", head, 512 + 72)
        if not (128 <= entry_size <= 4096 and count <= 1024):
            return None
        table = os.pread(fh.fileno(), count * entry_size, entries_lba * 512)
        for i in range(len(table) // entry_size):
            entry = table[i * entry_size : (i + 1) * entry_size]
            if uuid.UUID(bytes_le=entry[:16]) == _VMFS_GPT_TYPE:
                first, last = struct.unpack_from("<QQ", entry, 32)
                return first * 512, (last - first + 1) * 512
        return None
    if head[510:512] == b"\x55\xaa":
        for i in range(4):
            entry = head[446 + 16 * i : 462 + 16 * i]
            if entry[4] == _VMFS_MBR_TYPE:
                first, count = struct.unpack_from("<II", entry, 8)
                return first * 512, count * 512
    return None


def open_source(path: str | os.PathLike[str], progress: Progress | None = None) -> Source:
    """Open a raw image, gzip image or block device as a :class:`Source`.

    A gzip image is inflated here, once, whatever is read from it later; *progress*
    follows the inflation (the CLI draws a progress line from it).
    """
    name = os.fspath(path)
    try:
        st = os.stat(name)
        if stat.S_ISDIR(st.st_mode):
            raise VmfsError("is a directory, expected a VMFS image or block device", source=name)
        fh: IO[bytes] = open(name, "rb")  # noqa: SIM115 - owned by the Source
    except OSError as exc:
        raise VmfsError(f"cannot open: {exc.strerror}", source=name) from None
    note = None
    magic = os.pread(fh.fileno(), 2, 0)
    if magic == _GZIP_MAGIC:
        fh.close()
        fh, size = _inflate(name, progress)
        note = f"{name}: gzip image inflated to a temporary file ({size / 2**20:.0f} MiB)"
    else:
        size = fh.seek(0, os.SEEK_END)
    part = _find_partition(fh, size)
    if part is not None:
        base, length = part
        return Source(fh, name, min(length, max(0, size - base)), base, note)
    return Source(fh, name, size, 0, note)
