"""VMFS block addresses: the typed 32/64-bit words that point at FDs and blocks.

Reference vmfs-shell-elf-api.md §1.3 "Address encoding": the low 3 bits give
the type; the rest packs a cluster and resource number (resource files) or a
block number (file blocks). VMFS5 uses 32-bit words, VMFS6 64-bit words for
block types (FD addresses stay 32-bit). A set to-be-zeroed (TBZ) bit means
"reads as zeros" (§1.5).
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

__all__ = ["AddrType", "Decoded", "decode", "encode_fd"]


class AddrType(IntEnum):
    """Low 3 bits of an address (§1.3)."""

    NONE = 0
    FB = 1  # file block (VMFS5) / small file block (VMFS6)
    SB = 2  # sub-block
    PB = 3  # pointer block
    FD = 4  # file descriptor
    PB2 = 5  # secondary pointer block
    JB = 6  # journal block (VMFS6)
    LFB = 7  # large file block (VMFS6)


class Decoded(NamedTuple):
    """An address split into its fields; *block* is set for FB/LFB, cluster/resource otherwise."""

    type: AddrType
    cluster: int
    resource: int
    block: int
    tbz: bool


def _bits(value: int, lo: int, hi: int) -> int:
    """Bits lo..hi inclusive."""
    return (value >> lo) & ((1 << (hi - lo + 1)) - 1)


def decode(addr: int, vmfs6: bool, dense_sbpc: bool = False) -> Decoded:
    """Split *addr* per §1.3's layouts for VMFS5 (32-bit) or VMFS6 (64-bit)."""
    kind = AddrType(addr & 7)
    if kind is AddrType.FD:
        return Decoded(kind, _bits(addr, 6, 21), _bits(addr, 22, 31), 0, False)
    if not vmfs6:
        if kind is AddrType.FB:
            return Decoded(kind, 0, 0, _bits(addr, 6, 31), bool(addr & 0x20))
        if kind is AddrType.SB:
            resource = _bits(addr, 28, 31)
            if dense_sbpc:
                resource |= _bits(addr, 3, 4) << 4
            return Decoded(kind, _bits(addr, 6, 27), resource, 0, False)
        if kind in (AddrType.PB, AddrType.PB2):
            return Decoded(kind, _bits(addr, 6, 27), _bits(addr, 28, 31), 0, False)
        return Decoded(kind, 0, 0, 0, False)
    if kind is AddrType.FB:
        return Decoded(kind, _bits(addr, 15, 45), _bits(addr, 51, 63), 0, bool(_bits(addr, 7, 14)))
    if kind is AddrType.LFB:
        return Decoded(kind, 0, 0, _bits(addr, 15, 45), bool(_bits(addr, 7, 14)))
    if kind is AddrType.SB:
        return Decoded(kind, _bits(addr, 6, 41), _bits(addr, 56, 63), 0, False)
    if kind in (AddrType.PB, AddrType.PB2):
        return Decoded(kind, _bits(addr, 6, 41), _bits(addr, 56, 63), 0, False)
    if kind is AddrType.JB:
        return Decoded(kind, _bits(addr, 3, 15), _bits(addr, 26, 31), 0, False)
    return Decoded(kind, 0, 0, 0, False)


def encode_fd(cluster: int, resource: int) -> int:
    """The FD address of (cluster, resource) — e.g. (0, 1) → 0x400004 (.fbb.sf)."""
    return AddrType.FD | (cluster << 6) | (resource << 22)
