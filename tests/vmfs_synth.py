"""Build small synthetic bare VMFS5 volumes for edge-case tests.

Lays out exactly what reference vmfs-shell-elf-api.md §1.2-1.6 describes (and
what the reader was checked against on the real ESXi images): FS3 descriptor
at 0x200000, .fdc.sf at 4 MiB with 2 KiB FDs, .pbc.sf with 4 KiB pointer
blocks, VMFS5 0x8C-byte directory entries. Files are sparse on disk.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

MIB = 1 << 20
FS3 = 0x200000
FDC_BLOCK = 4  # .fdc.sf data at 4 MiB (sfd base)
PBC_BLOCK = 6
ROOT_BLOCK = 5
FD_SIZE = 0x800
PB_SIZE = 0x1000
FD_RPC = 32
PB_RPC = 16


def fd_addr(resource: int, cluster: int = 0) -> int:
    return 4 | (cluster << 6) | (resource << 22)


def fb_addr(block: int) -> int:
    return 1 | (block << 6)


def pb_addr(resource: int, cluster: int = 0) -> int:
    return 3 | (cluster << 6) | (resource << 28)


@dataclass
class Synth:
    """A bare VMFS5 volume under construction: ``add_file`` then ``write``."""

    size: int = 64 * MIB
    label: str = "SYNTH"
    writes: list[tuple[int, bytes]] = field(default_factory=list)
    entries: list[tuple[str, int, int]] = field(default_factory=list)
    next_fd: int = 8
    next_pb: int = 0

    def fd(self, resource: int, ftype: int, size: int, zla: int, ptrs: list[int] | None = None,
           resident: bytes = b"", mode: int = 0o644, block_size: int = MIB) -> int:  # fmt: skip
        meta = bytearray(0x200)
        struct.pack_into("<5I", meta, 0, fd_addr(resource), 1, 1, ftype, 0)
        struct.pack_into("<3Q", meta, 0x14, size, block_size, len([p for p in ptrs or [] if p]))
        struct.pack_into("<7I", meta, 0x2C, 1_600_000_000, 1_600_000_000, 1_600_000_000, 0, 0, mode, zla)
        data = bytearray(0x400)
        if resident:
            data[: len(resident)] = resident
        for i, p in enumerate(ptrs or []):
            struct.pack_into("<I", data, 4 * i, p)
        lock = struct.pack("<I", 0x10C00001).ljust(0x200, b"\0")
        at = FDC_BLOCK * MIB + 0x10000 + 1 * 0x400 + resource * FD_SIZE
        self.writes.append((at, lock + bytes(meta) + bytes(data)))
        return fd_addr(resource)

    def pointer_block(self, entries: dict[int, int]) -> int:
        """A pointer block in .pbc.sf holding {index: address}; returns its address."""
        r = self.next_pb
        self.next_pb += 1
        raw = bytearray(PB_SIZE)
        for i, a in entries.items():
            struct.pack_into("<I", raw, 4 * i, a)
        self.writes.append((PBC_BLOCK * MIB + 0x10000 + 0x400 + r * PB_SIZE, bytes(raw)))
        return pb_addr(r)

    def pointer_block_at(self, address: int, entries: dict[int, int]) -> None:
        r = address >> 28
        raw = bytearray(PB_SIZE)
        for i, a in entries.items():
            struct.pack_into("<I", raw, 4 * i, a)
        self.writes.append((PBC_BLOCK * MIB + 0x10000 + 0x400 + r * PB_SIZE, bytes(raw)))

    def data(self, block: int, payload: bytes) -> int:
        self.writes.append((block * MIB, payload))
        return fb_addr(block)

    def add_file(self, name: str, size: int, zla: int, ptrs: list[int] | None = None,
                 resident: bytes = b"", ftype: int = 3, mode: int = 0o644) -> int:  # fmt: skip
        r = self.next_fd
        self.next_fd += 1
        addr = self.fd(r, ftype, size, zla, ptrs, resident, mode)
        self.entries.append((name, addr, ftype))
        return addr

    def write(self, path: Path) -> Path:
        desc = bytearray(0x200)
        struct.pack_into("<IIB", desc, 0, 0x2FABF15E, 14, 81)
        desc[9:25] = bytes(range(16))
        desc[0x1D : 0x1D + len(self.label)] = self.label.encode()
        struct.pack_into("<IQI", desc, 0x9D, 512, MIB, 1_600_000_000)
        struct.pack_into("<IIII", desc, 0xD1, 0x10000, 1, 0x2000, 8)
        # resource headers: rpc, cpg, first group, resource size, group size, count (§1.4)
        fdc_hdr = struct.pack("<6I", FD_RPC, 1, 0x10000, FD_SIZE, 0x400 + FD_RPC * FD_SIZE, FD_RPC)
        pbc_hdr = struct.pack("<6I", PB_RPC, 1, 0x10000, PB_SIZE, 0x400 + PB_RPC * PB_SIZE, PB_RPC)
        self.fd(2, 5, MIB, 1, [fb_addr(FDC_BLOCK)], mode=0o400)  # .fdc.sf
        self.fd(3, 5, MIB, 1, [fb_addr(PBC_BLOCK)], mode=0o400)  # .pbc.sf
        dirents = b"".join(
            struct.pack("<III", t, a, 1) + n.encode().ljust(128, b"\0")
            for n, a, t in [(".", fd_addr(0), 2), ("..", fd_addr(0), 2), *self.entries]
        )
        self.fd(0, 2, len(dirents), 1, [fb_addr(ROOT_BLOCK)], mode=0o755)
        with open(path, "wb") as fh:
            fh.truncate(self.size)
            for at, raw in [(FS3, bytes(desc)), (FDC_BLOCK * MIB, fdc_hdr), (PBC_BLOCK * MIB, pbc_hdr),
                            (ROOT_BLOCK * MIB, dirents), *self.writes]:  # fmt: skip
                fh.seek(at)
                fh.write(raw)
        return path
