"""Read and write ``.vmx`` files as ESXi does.

Format (as ESXi and libvirt's VMX driver read and write it): one
``key = "value"`` per line; ``#`` starts a comment line; keys are
case-insensitive (``numvcpus`` = ``numVCPUs``); values are double-quoted, and
characters that cannot stand in a quoted value (``"``, ``|``, control
characters) are encoded as ``|`` followed by two hex digits (``|22`` is a
quote). Backslashes are literal (Windows paths); vmksim also reads ``\\"`` in
hand-edited files as a quote, and accepts unquoted values. A key given twice keeps the last value;
a warning names both lines.

Writing preserves every entry (unknown keys too), its order and the key's
original spelling, so a parse → write round trip changes nothing but
formatting.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from vmksim.errors import InputWarning, VmxError

__all__ = ["Place", "VmxFile", "decode_value", "encode_value", "parse_vmx"]

#: One ``key = "value"`` line, matched on the stripped line: a lazy value followed by ``\s*$`` would
#: be quadratic in a long run of trailing blanks (found by the fuzz suite).
_LINE = re.compile(r"^([A-Za-z0-9_.:\-\[\]]+)\s*=\s*(.*)$")
_HEX = re.compile(r"\|([0-9A-Fa-f]{2})")


def decode_value(raw: str, *, source: str, lineno: int) -> str:
    """Unquote one value: the text between the first and the last quote, ``|XX`` decoded.

    Backslashes are literal, as ESXi writes Windows paths (``"C:\\vm"``); only a
    hand-written ``\\"`` inside the quotes is read as a quote.
    """
    if not raw.startswith('"'):
        if '"' in raw:
            raise VmxError(f"stray quote in unquoted value {raw!r}", source=source, where=lineno)
        return _HEX.sub(lambda m: chr(int(m.group(1), 16)), raw)
    close = raw.rfind('"')
    if close == 0:
        raise VmxError(f"unterminated quoted value {raw!r}", source=source, where=lineno)
    rest = raw[close + 1 :].strip()
    if rest and not rest.startswith("#"):
        raise VmxError(f"text after the closing quote: {rest!r}", source=source, where=lineno)
    inner = raw[1:close].replace('\\"', '"')
    return _HEX.sub(lambda m: chr(int(m.group(1), 16)), inner)


def encode_value(value: str) -> str:
    """Quote a value the way ESXi writes it (``|XX`` for quote, pipe and control characters)."""
    chars = []
    for ch in value:
        if (
            (ch in '"|\\' and (ch != "\\" or value.endswith("\\")))
            or ord(ch) < 0x20
            or 0x7F <= ord(ch) <= 0x9F
        ):
            chars.append(f"|{ord(ch):02X}")
        else:
            chars.append(ch)
    return '"' + "".join(chars) + '"'


class Place(NamedTuple):
    """Where a value came from, for an error message: a file and a line, or a file (or
    None: the command line) and the user's own name for the setting (``vm[0].vcpus``,
    ``--memory-gb``). ``VmxError(problem, **place._asdict())`` prints it."""

    source: str | None
    where: str | int | None


@dataclass
class VmxFile:
    """An ordered, case-insensitive mapping of .vmx keys to string values."""

    source: str = "<vmx>"
    _entries: dict[str, tuple[str, str]] = field(default_factory=dict)  # lower key -> (key, value)
    _lines: dict[str, int] = field(default_factory=dict)  # lower key -> line number
    warnings: list[str] = field(default_factory=list)
    _origins: dict[str, Place] = field(default_factory=dict)  # lower key -> the option that set it

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._entries

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str, default: str | None = None) -> str | None:
        entry = self._entries.get(key.lower())
        return entry[1] if entry else default

    def __getitem__(self, key: str) -> str:
        return self._entries[key.lower()][1]

    def __setitem__(self, key: str, value: str) -> None:
        old = self._entries.get(key.lower())
        self._entries[key.lower()] = (old[0] if old else key, str(value))

    def set(self, key: str, value: str, origin: Place) -> None:
        """Set a key from an option, remembering the option's name for error messages."""
        self[key] = value
        self._lines.pop(key.lower(), None)
        self._origins[key.lower()] = origin

    def remove(self, key: str) -> None:
        self._entries.pop(key.lower(), None)
        self._lines.pop(key.lower(), None)
        self._origins.pop(key.lower(), None)

    def line_of(self, key: str) -> int | None:
        return self._lines.get(key.lower())

    def where(self, key: str) -> str:
        """``line N`` if the key came from the file, else the key name (for error messages)."""
        line = self.line_of(key)
        return f"{line}" if line is not None else key

    def place(self, key: str) -> Place:
        """The one place an error about *key* names: the option that set it (:meth:`set`),
        else this file and the key's line, else this file and the key's name."""
        origin = self._origins.get(key.lower())
        return origin if origin is not None else Place(self.source, self.where(key))

    def is_from_options(self, key: str) -> bool:
        """True when *key* was given as an option (:meth:`set`), not read from the file."""
        return key.lower() in self._origins

    def items(self) -> list[tuple[str, str]]:
        return list(self._entries.values())

    def copy(self) -> VmxFile:
        return VmxFile(
            self.source, dict(self._entries), dict(self._lines), list(self.warnings), dict(self._origins)
        )

    def to_text(self) -> str:
        return "".join(f"{key} = {encode_value(value)}\n" for key, value in self._entries.values())

    def write(self, path: str | Path) -> None:
        from vmksim.fileio import atomic_write

        with atomic_write(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(self.to_text())


#: A byte-order mark some editors put at the start of a UTF-8 file. ESXi writes .vmx files as
#: UTF-8 (the ``.encoding = "UTF-8"`` key names it); the mark is not part of the first key.
_BOM = "\ufeff"


def parse_vmx(text: str, source: str = "<vmx>") -> VmxFile:
    vmx = VmxFile(source=source)
    text = text.removeprefix(_BOM)
    # Split on newline only: str.splitlines would also break at characters such as U+0085.
    for lineno, line in enumerate(text.split("\n"), 1):
        line = line.removesuffix("\r")
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        m = _LINE.match(stripped)
        if not m:
            raise VmxError(
                f'malformed line {stripped[:60]!r} (expected key = "value")', source=source, where=lineno
            )
        key, raw = m.group(1), m.group(2)
        value = decode_value(raw, source=source, lineno=lineno)
        lower = key.lower()
        if lower in vmx._entries:
            vmx.warnings.append(
                f"{source}:{lineno}: duplicate key '{key}' (first on line {vmx._lines[lower]}); the last value wins"
            )
            vmx._entries.pop(lower)
        vmx._entries[lower] = (key, value)
        vmx._lines[lower] = lineno
    return vmx


def read_vmx(path: str | Path) -> VmxFile:
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise VmxError(f"cannot read: {exc.strerror}", source=str(p)) from None
    if b"\x00" in data[:4096]:
        raise VmxError("binary data, not a .vmx text file", source=str(p))
    vmx = parse_vmx(data.decode("utf-8", errors="replace"), source=str(p))
    if not len(vmx):
        # ESXi defaults fill every key (vmx.config): say so rather than plan a VM nobody described.
        warnings.warn(
            f"{p}: no settings in the file; using ESXi's defaults (numvcpus = 1, no memSize, normal shares)",
            InputWarning,
            stacklevel=2,
        )
    return vmx
