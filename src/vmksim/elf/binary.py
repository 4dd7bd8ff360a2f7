"""What a file asks of the system that runs it: ELF facts, or a script's interpreter.

Models the part of an executable that the kernel and the dynamic loader look
at when ESXi's shell executes it: the ELF class and machine, the OS ABI, the
object type, PT_INTERP (the loader path), PT_DYNAMIC with its DT_NEEDED
sonames and DF_1_PIE flag, and ``.gnu.version_r`` (the symbol versions each
library must provide, e.g. ``GLIBC_2.34``) with the undefined dynamic symbols
that pull each version in. Scripts are recognised by their ``#!`` line. The
ELF layout is read with pyelftools (https://github.com/eliben/pyelftools), as
auditwheel does (https://github.com/pypa/auditwheel); nothing here parses ELF
bytes by hand.

Simplified: symbol versions are read from section headers; a binary stripped
of them (sstrip) reports its versions as unknown instead of decoding
DT_VERNEED from the dynamic segment.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from enum import Enum
from typing import BinaryIO

from elftools.common.exceptions import ELFError
from elftools.construct.core import ConstructError
from elftools.elf.dynamic import DynamicSegment
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection, GNUVerSymSection
from elftools.elf.sections import Section, SymbolTableSection
from elftools.elf.segments import InterpSegment

from vmksim.errors import ElfError

__all__ = [
    "BinaryFacts",
    "ElfFacts",
    "ElfKind",
    "ScriptFacts",
    "TextFacts",
    "VersionNeed",
    "looks_checkable",
    "read_binary",
]

ELF_MAGIC = b"\x7fELF"
SHEBANG = b"#!"
DF_1_PIE = 0x08000000  # DT_FLAGS_1 bit set by the linker for PIE executables (elf.h)
VERSYM_HIDDEN = 0x8000  # high bit of a .gnu.version entry; the rest is the version index
SYMBOLS_PER_VERSION = 3  # enough to tell the user what pulls a version in
TEXT_PROBE = 4096  # bytes read to tell a text file from binary data

VERNEED_ENTRY = 16  # sizeof(Elf32_Verneed) = sizeof(Elf64_Verneed) = sizeof(Elf*_Vernaux) (elf.h)

# What pyelftools raises on malformed or truncated input: its documented ELFError, and
# whatever its internals trip over on hostile bytes. It asserts its own invariants
# (DynamicSegment._get_stringtable asserts a string table exists, which a file with
# neither DT_STRTAB nor .dynstr breaks), indexes and unpacks without checks, and
# follows offsets it reads from the file. None of these is a bug of ours, so each
# becomes the one-line "corrupt ELF" error naming the file (issue 11 item 2).
_PARSE_ERRORS = (
    ELFError,
    ConstructError,
    struct.error,
    ValueError,  # also UnicodeDecodeError of a name
    IndexError,
    KeyError,
    EOFError,
    OverflowError,
    OSError,  # a seek to a negative offset read from a corrupt header
    AssertionError,  # pyelftools' own asserts
    TypeError,  # a None where a table was expected
    AttributeError,  # a section of an unexpected class
    ZeroDivisionError,  # an entry size of 0
    RecursionError,
    MemoryError,  # a size field read as a length to allocate
)


class ElfKind(Enum):
    """How an ELF file gets loaded."""

    STATIC = "static executable"
    STATIC_PIE = "static-pie executable"
    DYNAMIC = "dynamic executable"
    SHARED_LIBRARY = "shared library"
    OBJECT = "object file"
    CORE = "core dump"


@dataclass(frozen=True, slots=True)
class VersionNeed:
    """One entry of ``.gnu.version_r``: *library* must define version *name*."""

    library: str
    name: str
    symbols: tuple[str, ...]
    """Some undefined symbols bound to this version (at most SYMBOLS_PER_VERSION)."""


@dataclass(frozen=True, slots=True)
class ElfFacts:
    path: str
    bits: int
    machine: str
    """pyelftools' e_machine name, e.g. ``EM_X86_64``."""
    osabi: str
    little_endian: bool
    kind: ElfKind
    interpreter: str | None
    needed: tuple[str, ...]
    version_needs: tuple[VersionNeed, ...]
    versions_known: bool
    """False when a dynamic file has no section headers to read versions from."""

    @property
    def static(self) -> bool:
        return self.kind in (ElfKind.STATIC, ElfKind.STATIC_PIE)


@dataclass(frozen=True, slots=True)
class ScriptFacts:
    """A file starting with ``#!``: the kernel runs *interpreter* with *argument*."""

    path: str
    interpreter: str
    argument: str


@dataclass(frozen=True, slots=True)
class TextFacts:
    """A text file without ``#!``: shells run it as a shell script, ESXi 8 refuses it."""

    path: str


BinaryFacts = ElfFacts | ScriptFacts | TextFacts


def looks_checkable(path: str) -> bool:
    """True if *path* starts like an ELF file or a script (used when walking a directory)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(ELF_MAGIC))
    except OSError:
        return False
    return head.startswith((ELF_MAGIC, SHEBANG))


def read_binary(path: str, *, symbols: bool = True) -> BinaryFacts:
    """Read what *path* needs to run; :class:`ElfError` when it cannot be examined.

    *symbols*: also name the symbols behind each version need (reads all of
    ``.dynsym``, most of the time spent on a large binary).
    """
    if os.path.isdir(path):
        raise ElfError("is a directory", source=path)
    if os.path.exists(path) and not os.path.isfile(path):
        raise ElfError("not a regular file (a device, FIFO or socket)", source=path)
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below; pyelftools reads lazily from it
    except OSError as exc:
        raise ElfError(f"cannot open: {exc.strerror}", source=path) from None
    with fh:
        try:
            head = fh.read(TEXT_PROBE)
        except OSError as exc:
            raise ElfError(f"cannot read: {exc.strerror}", source=path) from None
        if head.startswith(ELF_MAGIC):
            return _read_elf(path, fh, symbols)
        if head.startswith(SHEBANG):
            return _read_script(path, head)
        if head and _is_text(head):
            return TextFacts(path)
        what = "is empty" if not head else f"starts with bytes {head[:4].hex(' ')}"
        raise ElfError(f"not an ELF binary nor a #! script ({what})", source=path)


def _is_text(head: bytes) -> bool:
    if b"\0" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the probe's end is still text.
        return exc.start >= len(head) - 3
    return True


def _read_script(path: str, head: bytes) -> ScriptFacts:
    line = head[2:].split(b"\n", 1)[0].strip()
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise ElfError("the #! line is not text", source=path, where=1) from None
    interpreter, _, argument = text.partition(" ")
    if not interpreter:
        raise ElfError("the #! line names no interpreter", source=path, where=1)
    return ScriptFacts(path, interpreter, argument.strip())


def _read_elf(path: str, fh: BinaryIO, symbols: bool) -> ElfFacts:
    size = os.fstat(fh.fileno()).st_size
    try:
        fh.seek(0)
        elf = _ElfReader(ELFFile(fh), size)
        return elf.facts(path, symbols)
    except _TruncatedError as exc:
        raise ElfError(f"truncated ELF: {exc}", source=path) from None
    except _PARSE_ERRORS as exc:
        detail = " ".join(str(exc).split())[:_DETAIL_MAX] or f"pyelftools failed ({type(exc).__name__})"
        raise ElfError(f"corrupt or truncated ELF ({size} bytes): {detail}", source=path) from None


_DETAIL_MAX = 200
"""Characters of pyelftools' message kept (some embed a whole parsed structure)."""


class _TruncatedError(Exception):
    """The headers point past the end of the file."""


class _ElfReader:
    """Reads the facts :mod:`vmksim.elf.check` needs from a pyelftools ELFFile."""

    def __init__(self, elf: ELFFile, size: int):
        self.elf = elf
        self.size = size
        self._check_extent()

    def _check_extent(self) -> None:
        header = self.elf.header
        tables = (
            ("program header table", header["e_phoff"], header["e_phnum"] * header["e_phentsize"]),
            ("section header table", header["e_shoff"], header["e_shnum"] * header["e_shentsize"]),
        )
        for name, offset, length in tables:
            if length and offset + length > self.size:
                raise _TruncatedError(
                    f"the {name} ends at byte {offset + length}, the file has {self.size} bytes"
                )

    def _check_section(self, section: Section | None) -> None:
        """A section we read entry by entry must lie inside the file."""
        if section is None or section["sh_type"] == "SHT_NOBITS":
            return
        end = section["sh_offset"] + section["sh_size"]
        if end > self.size:
            raise _TruncatedError(
                f"section {section.name} ends at byte {end}, the file has {self.size} bytes"
            )

    def facts(self, path: str, symbols: bool) -> ElfFacts:
        header = self.elf.header
        interpreter, dynamic = self._segments()
        needed, pie = self._dynamic_tags(dynamic)
        versions_known = self.elf.num_sections() > 0
        return ElfFacts(
            path=path,
            bits=self.elf.elfclass,
            machine=str(header["e_machine"]),
            osabi=str(header["e_ident"]["EI_OSABI"]),
            little_endian=self.elf.little_endian,
            kind=_kind(str(header["e_type"]), interpreter, dynamic is not None, pie, needed),
            interpreter=interpreter,
            needed=needed,
            version_needs=self._version_needs(symbols) if versions_known else (),
            versions_known=versions_known or dynamic is None,
        )

    def _segments(self) -> tuple[str | None, DynamicSegment | None]:
        interpreter: str | None = None
        dynamic = None
        for segment in self.elf.iter_segments():
            kind = segment["p_type"]
            if segment["p_offset"] + segment["p_filesz"] > self.size:
                raise _TruncatedError(
                    f"segment {kind} ends at byte {segment['p_offset'] + segment['p_filesz']}, "
                    f"the file has {self.size} bytes"
                )
            if isinstance(segment, InterpSegment):
                interpreter = segment.get_interp_name()
            elif isinstance(segment, DynamicSegment):
                dynamic = segment
        return interpreter, dynamic

    @staticmethod
    def _dynamic_tags(dynamic: DynamicSegment | None) -> tuple[tuple[str, ...], bool]:
        if dynamic is None:
            return (), False
        needed: list[str] = []
        pie = False
        for tag in dynamic.iter_tags():
            if tag.entry.d_tag == "DT_NEEDED":
                needed.append(tag.needed)  # type: ignore[attr-defined]  # set by pyelftools for DT_NEEDED
            elif tag.entry.d_tag == "DT_FLAGS_1":
                pie = bool(tag.entry.d_val & DF_1_PIE)
        return tuple(needed), pie

    def _version_needs(self, symbols: bool) -> tuple[VersionNeed, ...]:
        verneed = versym = dynsym = None
        for section in self.elf.iter_sections():
            if isinstance(section, GNUVerNeedSection):
                verneed = section
            elif isinstance(section, GNUVerSymSection):
                versym = section
            elif isinstance(section, SymbolTableSection) and section["sh_type"] == "SHT_DYNSYM":
                dynsym = section
        if verneed is None:
            return ()
        for table in (verneed, versym, dynsym):
            self._check_section(table)
        by_index = _symbols_by_version(versym, dynsym) if symbols else {}
        needs: list[VersionNeed] = []
        # The entry counts (sh_info, vn_cnt) and the next-entry offsets are read from the file:
        # a count of 2**32 with a next offset of 0 would walk the same entry for ever. Each
        # entry is VERNEED_ENTRY bytes of the section, so more entries than fit is corruption.
        budget = _EntryBudget(verneed["sh_size"] // VERNEED_ENTRY, verneed["sh_size"])
        for need, auxes in verneed.iter_versions():
            budget.spend()
            for aux in auxes:
                budget.spend()
                names = by_index.get(aux["vna_other"] & ~VERSYM_HIDDEN, [])
                needs.append(
                    VersionNeed(need.name or "?", aux.name or "?", tuple(names[:SYMBOLS_PER_VERSION]))
                )
        return tuple(needs)


class _EntryBudget:
    """Counts the entries read from a table against how many its size can hold."""

    def __init__(self, entries: int, size: int):
        self.left = entries
        self.size = size

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise ELFError(f".gnu.version_r claims more entries than its {self.size} bytes hold")


def _symbols_by_version(
    versym: GNUVerSymSection | None, dynsym: SymbolTableSection | None
) -> dict[int, list[str]]:
    """Version index → names of the undefined dynamic symbols bound to it."""
    out: dict[int, list[str]] = {}
    if versym is None or dynsym is None:
        return out
    count = min(versym.num_symbols(), dynsym.num_symbols())
    for n in range(1, count):
        symbol = dynsym.get_symbol(n)
        index = versym.get_symbol(n)["ndx"]
        if symbol["st_shndx"] != "SHN_UNDEF" or not isinstance(index, int):
            continue
        out.setdefault(index & ~VERSYM_HIDDEN, []).append(symbol.name)
    return out


def _kind(
    elf_type: str, interpreter: str | None, has_dynamic: bool, pie: bool, needed: tuple[str, ...]
) -> ElfKind:
    if elf_type == "ET_REL":
        return ElfKind.OBJECT
    if elf_type == "ET_CORE":
        return ElfKind.CORE
    if interpreter is not None:
        return ElfKind.DYNAMIC
    if not has_dynamic:
        return ElfKind.STATIC
    if elf_type == "ET_DYN" and pie and not needed:
        return ElfKind.STATIC_PIE
    return ElfKind.SHARED_LIBRARY if elf_type == "ET_DYN" else ElfKind.DYNAMIC
