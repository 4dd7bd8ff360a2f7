"""VMFS directories: VMFS5 flat entry arrays and VMFS6 hashed directories.

Reference vmfs-shell-elf-api.md §1.6.

* VMFS5: the directory file is an array of 0x8C-byte entries (type u32,
  FD address u32, generation u32, 128-byte name).
* VMFS6: a 64 KiB header (version 0xF50001, or 0xFDC001 from debug builds;
  "." and ".." embedded at 0x3B8 and 0x4D8; a hash table of 16001 u32
  location words at 0x5F8 — 15973 in the root, whose last slots are fixed
  for the system files), then blocks of mdAlignment bytes, each with a
  64-byte header (version u16, type u16, total u16, free u16, a slot bitmap
  whose set bits are *free* slots). Dirent blocks (type 1) hold 0x120-byte
  entries: type u32, FD address u32, generation u32, low 32 bits of the name
  hash u32, the entry's own offset u64, 256-byte name. Link blocks (type 2)
  chain hash collisions; allocation-map blocks (type 3) track blocks.

Every entry lives in a dirent block, so listing and lookup scan the dirent
blocks — complete even through collision chains, which only index them.
:func:`name_hash` is ESXi's name hash (a Bob Jenkins lookup8 variant, §1.6),
used to check that a name's hash-table slot is filled (see ``hash_slot``).
Offsets were confirmed on the test images: "directory" in the VMFS6 root
hashes to slot 15490, whose word 0x08000005 = dirent block 1, slot 8.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from vmksim.errors import VmfsError
from vmksim.vmfs.blocks import BlockReader
from vmksim.vmfs.inode import FileDescriptor

__all__ = ["MAX_ENTRIES", "DirEntry", "hash_slot", "max_directory_bytes", "name_hash", "read_directory"]

V5_ENTRY = 0x8C
V6_HEADER = 0x10000
V6_ENTRY = 0x120
V6_BLOCK_HEADER = 0x40
V6_VERSIONS = (0xF50001, 0xFDC001)
V6_HASH_TABLE = 0x5F8
V6_SLOTS = 16001
V6_ROOT_SLOTS = 16001 - 28
_SALT = struct.pack("<Q", 0x739A75C28E61B017)
_M64 = (1 << 64) - 1
_DIRENT_BLOCK = 1


class DirEntry(NamedTuple):
    """One directory entry: its name, the FD it points to, and the type the entry records."""

    name: str
    address: int
    type: int
    generation: int


def _mix(a: int, b: int, c: int) -> tuple[int, int, int]:
    """Bob Jenkins' 64-bit mix (lookup8.c, public domain), on Python ints masked to 64 bits."""
    for sa, sb, sc in ((43, 9, 8), (38, 23, 5), (35, 49, 11), (12, 18, 22)):
        a = ((a - b - c) & _M64) ^ (c >> sa)
        b = ((b - c - a) & _M64) ^ ((a << sb) & _M64)
        c = ((c - a - b) & _M64) ^ (b >> sc)
    return a, b, c


def name_hash(name: str) -> int:
    """ESXi's 64-bit directory name hash (§1.6: HashFunc_HashQuads over a salted 256-byte key)."""
    key = bytearray(256)
    raw = name.encode("utf-8")[:255]
    key[: len(raw)] = raw
    pos = -(-len(raw) // 8) * 8
    while pos < 127:
        key[pos : pos + 8] = _SALT
        pos += 8
    quads = struct.unpack("<32Q", key)
    a = b = 42  # initial level
    c = 0x9E3779B97F4A7C13
    for i in range(0, 30, 3):
        a, b, c = _mix((a + quads[i]) & _M64, (b + quads[i + 1]) & _M64, (c + quads[i + 2]) & _M64)
    # 2 quads left; the variant adds the quad count (32), not the byte count
    c = (c + 32) & _M64
    b = (b + quads[31]) & _M64
    a = (a + quads[30]) & _M64
    return _mix(a, b, c)[2]


def hash_slot(name: str, root: bool) -> int:
    """The hash-table slot of *name* in a VMFS6 directory (the root has 28 fewer slots)."""
    return name_hash(name) % (V6_ROOT_SLOTS if root else V6_SLOTS)


def _decode_name(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


MAX_ENTRIES = 130_690
"""Files per directory, ~130,690 (the "Limits" box of https://en.wikipedia.org/wiki/VMware_VMFS,
from VMware's configuration maximums)."""
DIR_SLACK = 2
"""Room for VMFS6 link and allocation-map blocks, whose number §1.6 does not give."""


def max_directory_bytes(fs: BlockReader) -> int:
    """The largest directory file MAX_ENTRIES entries (plus "." and "..") can need."""
    entries = MAX_ENTRIES + 2
    if not fs.vmfs6:
        return entries * V5_ENTRY
    block = fs.geometry.md_alignment
    per_block = (block - V6_BLOCK_HEADER) // V6_ENTRY
    return V6_HEADER + DIR_SLACK * -(-entries // per_block) * block


def read_directory(fs: BlockReader, fd: FileDescriptor) -> list[DirEntry]:
    """All entries of directory *fd* except "." and ".."."""
    limit = max_directory_bytes(fs)
    if fd.size > limit:
        raise VmfsError(
            f"directory claims {fd.size} bytes, more than {MAX_ENTRIES} entries need ({limit})",
            source=fs.name,
            where=fd.where,
        )
    data = fd.read()
    if len(data) != fd.size:
        raise VmfsError("directory file is short", source=fs.name, where=fd.where)
    entries = _read_v6(fs, fd, data) if fs.vmfs6 else _read_v5(data)
    return [e for e in entries if e.name not in (".", "..")]


def _read_v5(data: bytes) -> list[DirEntry]:
    out = []
    for off in range(0, len(data) - V5_ENTRY + 1, V5_ENTRY):
        etype, addr, gen = struct.unpack_from("<III", data, off)
        if addr == 0 or etype == 0:
            continue  # unused slot
        out.append(DirEntry(_decode_name(data[off + 12 : off + V5_ENTRY]), addr, etype, gen))
    return out


def _read_v6(fs: BlockReader, fd: FileDescriptor, data: bytes) -> list[DirEntry]:
    if len(data) < V6_HEADER:
        raise VmfsError(
            f"VMFS6 directory is {len(data)} bytes, shorter than its 64 KiB header",
            source=fs.name,
            where=fd.where,
        )
    (version,) = struct.unpack_from("<I", data, 0)
    if version not in V6_VERSIONS:
        raise VmfsError(
            f"bad VMFS6 directory version {version:#x} (expected 0xf50001)", source=fs.name, where=fd.where
        )
    block = fs.geometry.md_alignment
    out = []
    for start in range(V6_HEADER, len(data) - block + 1, block):
        _bver, btype, total, _free = struct.unpack_from("<4H", data, start)
        if btype != _DIRENT_BLOCK:
            continue
        if V6_BLOCK_HEADER + total * V6_ENTRY > block:
            raise VmfsError(
                f"dirent block claims {total} slots, more than fit in {block} bytes",
                source=fs.name,
                where=f"{fd.where}, directory offset {start:#x}",
            )
        bitmap = int.from_bytes(data[start + 8 : start + V6_BLOCK_HEADER], "little")
        for slot in range(total):
            if bitmap >> slot & 1:
                continue  # free slot
            off = start + V6_BLOCK_HEADER + slot * V6_ENTRY
            etype, addr, gen = struct.unpack_from("<III", data, off)
            if addr == 0:
                continue
            out.append(DirEntry(_decode_name(data[off + 0x18 : off + 0x118]), addr, etype, gen))
    return out


def table_location(data: bytes, slot: int) -> tuple[int, int, int]:
    """Decode the hash-table word at *slot*: (block type, block number, slot in block)."""
    (word,) = struct.unpack_from("<I", data, V6_HASH_TABLE + 4 * slot)
    return word & 3, (word >> 2) & 0x3FFFFF, word >> 24


__all__ += ["table_location"]
