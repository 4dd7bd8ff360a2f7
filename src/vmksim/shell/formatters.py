"""esxcli's output formatters: simple, table, csv, keyvalue and xml, over typed records.

ESXi counterpart: ``esxcli --formatter=X`` (vmfs-shell-elf-api.md §2.2 "Output formats",
https://github.com/vmware/govmomi/blob/main/simulator/esx/command_info.go for the hints).
A command returns one :class:`Struct` or a list of them; each field has a display name with
spaces ("World ID") and a type. What each formatter does with them:

- **simple** (the default of most commands): every field as ``   Name: value`` indented three
  spaces; a list puts a header line before each record (the command's ``header`` hint, e.g.
  the VM's display name for ``vm process list`` — unverified there, "From ESXi experience") and a
  blank line after it.
- **table**: a header row, a row of dashes under each header, columns padded and separated by
  two spaces.
- **csv**: header of field names with spaces removed, **in alphabetical order**, every line
  ending with a trailing comma; values with commas, spaces or quotes are double-quoted (public
  fixtures of ``storage core device list``).
- **keyvalue**: ``Struct.Field.type=value`` per field (``VersionGet.Version.string=8.0.0``).
- **xml**: ``<output xmlns="http://www.vmware.com/Products/ESX/5.0/esxcli"><root>`` then a
  ``<structure typeName=..>`` of ``<field name=..><string>..</string></field>``, or a
  ``<list type="structure">`` of them (shape known from ESXi, "not re-verified" in §2.2: unverified).

``--format-param=fields=A,B`` keeps those fields (names without spaces, as csv shows them) and
``show-header=false`` drops the header (table, csv).
"""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

__all__ = [
    "ESXCLI_XMLNS",
    "FORMATTERS",
    "FieldType",
    "FormatError",
    "FormatParams",
    "Struct",
    "Value",
    "render",
]

#: Namespace of esxcli's XML output (vmfs-shell-elf-api.md §2.2).
ESXCLI_XMLNS = "http://www.vmware.com/Products/ESX/5.0/esxcli"
#: Spaces per indentation level of simple and xml output (§2.2: "indented Key: value lines").
INDENT = "   "


class FieldType(Enum):
    """esxcli value types as keyvalue and xml name them."""

    STRING = "string"
    INTEGER = "integer"
    BOOLEAN = "boolean"


class FormatError(Exception):
    """A bad --formatter or --format-param (esxcli prints it as ``Error: ...``)."""


Value = str | int | bool


@dataclass(frozen=True, slots=True)
class Struct:
    """One esxcli data object: its type name and ordered (display name, type, value) fields."""

    type_name: str
    fields: tuple[tuple[str, FieldType, Value], ...]
    header: str = ""  # the line simple prints before the record in a list ("" = none)

    def select(self, wanted: Sequence[str] | None) -> Struct:
        """Only the fields named in *wanted* (space-less names, in the order of *wanted*)."""
        if wanted is None:
            return self
        by_key = {_key(name): f for f in self.fields for name in (f[0],)}
        return Struct(self.type_name, tuple(by_key[w] for w in wanted if w in by_key), self.header)


@dataclass(frozen=True, slots=True)
class FormatParams:
    fields: tuple[str, ...] | None = None
    show_header: bool = True

    @classmethod
    def parse(cls, items: Sequence[str]) -> FormatParams:
        """``fields=A,B`` and ``show-header=false`` (each --format-param may hold several, comma-free)."""
        fields: tuple[str, ...] | None = None
        show = True
        for item in items:
            key, sep, value = item.partition("=")
            if not sep:
                raise FormatError(f"Invalid format parameter {item}")
            # Scripts in the wild write fields=="A,B" (§2.2 ransomware samples); esxcli accepts it.
            value = value.lstrip("=").strip('"')
            if key == "fields":
                fields = tuple(v.strip() for v in value.split(",") if v.strip())
            elif key == "show-header":
                show = value.lower() not in ("false", "0", "no")
            else:
                raise FormatError(f"Invalid format parameter {key}")
        return cls(fields, show)


def _key(display: str) -> str:
    """A field's name without spaces: csv header, keyvalue and xml field name ("World ID" → WorldID)."""
    return display.replace(" ", "")


def _text(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- the formatters ---------------------------------------------------------------------------
def simple(data: Struct | list[Struct], params: FormatParams) -> str:
    if isinstance(data, Struct):
        head = f"{data.header}\n" if data.header else ""
        return head + "".join(f"{INDENT}{n}: {_text(v)}\n" for n, _, v in data.fields)
    return "".join(simple(s, params) + "\n" for s in data)


def table(data: Struct | list[Struct], params: FormatParams) -> str:
    rows = [data] if isinstance(data, Struct) else data
    if not rows:
        return ""
    names = [n for n, _, _ in rows[0].fields]
    cells = [[_text(v) for _, _, v in r.fields] for r in rows]
    widths = [max([len(n)] + [len(c[i]) for c in cells]) for i, n in enumerate(names)]
    lines = []
    if params.show_header:
        lines.append(names)
        lines.append(["-" * w for w in widths])
    lines.extend(cells)
    return "".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() + "\n" for line in lines
    )


def _csv_cell(value: Value) -> str:
    """One csv value: quoted (by the csv module) when it holds a comma, a space or a quote."""
    text = _text(value)
    if not text:
        return ""  # an empty value is nothing between the commas (the csv module would write "")
    buf = io.StringIO()
    if any(ch in text for ch in ', "'):
        csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="").writerow([text])
    else:
        csv.writer(buf, quoting=csv.QUOTE_MINIMAL, lineterminator="").writerow([text])
    return buf.getvalue()


def csv_format(data: Struct | list[Struct], params: FormatParams) -> str:
    rows = [data] if isinstance(data, Struct) else data
    if not rows:
        return ""
    order = sorted(range(len(rows[0].fields)), key=lambda i: _key(rows[0].fields[i][0]))
    lines = []
    if params.show_header:
        lines.append("".join(_key(rows[0].fields[i][0]) + "," for i in order))
    for r in rows:
        lines.append("".join(_csv_cell(r.fields[i][2]) + "," for i in order))
    return "".join(line + "\n" for line in lines)


def keyvalue(data: Struct | list[Struct], params: FormatParams) -> str:
    rows = [data] if isinstance(data, Struct) else data
    return "".join(f"{r.type_name}.{_key(n)}.{t.value}={_text(v)}\n" for r in rows for n, t, v in r.fields)


def _xml_struct(parent: ET.Element, s: Struct) -> None:
    el = ET.SubElement(parent, "structure", typeName=s.type_name)
    for name, kind, value in s.fields:
        field = ET.SubElement(el, "field", name=_key(name))
        ET.SubElement(field, kind.value).text = _text(value)


def xml_format(data: Struct | list[Struct], params: FormatParams) -> str:
    out = ET.Element("output", xmlns=ESXCLI_XMLNS)
    root = ET.SubElement(out, "root")
    if isinstance(data, Struct):
        _xml_struct(root, data)
    else:
        lst = ET.SubElement(root, "list", type="structure")
        for s in data:
            _xml_struct(lst, s)
    ET.indent(out, space=INDENT)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(out, encoding="unicode") + "\n"


FORMATTERS = {
    "simple": simple,
    "table": table,
    "csv": csv_format,
    "keyvalue": keyvalue,
    "xml": xml_format,
}


def render(data: Struct | list[Struct], formatter: str, params: FormatParams) -> str:
    """*data* as *formatter* prints it, after ``fields=`` selection."""
    try:
        fn = FORMATTERS[formatter]
    except KeyError:
        raise FormatError(f"Invalid formatter: {formatter}") from None
    if params.fields is not None:
        data = (
            data.select(params.fields)
            if isinstance(data, Struct)
            else [s.select(params.fields) for s in data]
        )
    return fn(data, params)
