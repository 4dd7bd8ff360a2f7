"""Small ELF files built byte by byte for the tests (layouts from elf.h)."""

from __future__ import annotations

import struct

__all__ = ["dynamic_needing", "dynamic_without_string_table", "elf32_bytes"]


def elf32_bytes() -> bytes:
    """A minimal valid static i386 executable: ELF32 header + one PT_LOAD + `exit(0)` code."""
    code = bytes.fromhex("31dbb801000000cd80")  # xor ebx,ebx; mov eax,1; int 0x80
    ehsize, phentsize = 52, 32
    entry = 0x08048000 + ehsize + phentsize
    ident = b"\x7fELF" + bytes([1, 1, 1, 0]) + bytes(8)  # ELFCLASS32, little-endian, version 1, SYSV
    header = ident + struct.pack(
        "<HHIIIIIHHHHHH", 2, 3, 1, entry, ehsize, 0, 0, ehsize, phentsize, 1, 40, 0, 0
    )
    size = ehsize + phentsize + len(code)
    phdr = struct.pack("<IIIIIIII", 1, 0, 0x08048000, 0x08048000, size, size, 5, 0x1000)
    return header + phdr + code


def dynamic_without_string_table() -> bytes:
    """ELF64 with one PT_DYNAMIC holding DT_NEEDED but neither DT_STRTAB nor section headers.

    pyelftools looks for the name of the needed library in a string table that does not
    exist and trips its own ``assert`` in ``DynamicSegment._get_stringtable``.
    """
    ehsize, phentsize = 64, 56
    dyn_at = ehsize + phentsize
    dynamic = struct.pack("<qQqQ", 1, 1, 0, 0)  # DT_NEEDED name offset 1, DT_NULL
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)  # ELFCLASS64, little-endian, SYSV
    header = ident + struct.pack(
        "<HHIQQQIHHHHHH", 2, 62, 1, 0x401000, ehsize, 0, 0, ehsize, phentsize, 1, 64, 0, 0
    )
    phdr = struct.pack("<IIQQQQQQ", 2, 6, dyn_at, dyn_at, dyn_at, len(dynamic), len(dynamic), 8)  # PT_DYNAMIC
    return header + phdr + dynamic


def dynamic_needing(soname: bytes) -> bytes:
    """ELF64 x86-64 executable: PT_LOAD over the whole file, PT_DYNAMIC with DT_NEEDED *soname*."""
    base, ehsize, phentsize = 0x400000, 64, 56
    strtab = b"\0" + soname + b"\0"
    dyn_at = ehsize + 2 * phentsize
    str_at = dyn_at + 4 * 16
    dynamic = struct.pack(
        "<qQqQqQqQ", 1, 1, 5, base + str_at, 10, len(strtab), 0, 0
    )  # NEEDED, STRTAB, STRSZ, NULL
    size = str_at + len(strtab)
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    header = ident + struct.pack(
        "<HHIQQQIHHHHHH", 2, 62, 1, base, ehsize, 0, 0, ehsize, phentsize, 2, 64, 0, 0
    )
    load = struct.pack("<IIQQQQQQ", 1, 5, 0, base, base, size, size, 0x1000)
    dyn = struct.pack("<IIQQQQQQ", 2, 6, dyn_at, base + dyn_at, base + dyn_at, 64, 64, 8)
    return header + load + dyn + dynamic + strtab
