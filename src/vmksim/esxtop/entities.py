"""esxtop entity files: ``--export-entity`` / ``--import-entity``.

ESXi counterpart: the plain-text file esxtop writes with ``-export-entity FILE``
and reads with ``-import-entity FILE`` to limit what a batch run collects
(esxtop.md §1.2 "Entity file format"): one section per entity type, each
opened by a bare keyword line (``SchedGroup``, ``Adapter``, ``Device``,
``NetPort``, ``InterruptCookie``) and followed by ``<numeric id> <name>``
lines; sections are separated by a blank line. Keeping only some
``SchedGroup`` lines is the documented way to shrink a capture.

Simplifications: vmksim models no storage or network, so only ``SchedGroup``
(group ids) and ``InterruptCookie`` (vectors) are written; other sections are
accepted and ignored on import.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from vmksim.counters import GroupInfo
from vmksim.errors import InputError

__all__ = ["SECTIONS", "Entities", "format_entities", "parse_entities"]

#: Section keywords esxtop writes (esxtop.md §1.2).
SECTIONS = ("SchedGroup", "Adapter", "Device", "NetPort", "InterruptCookie")


@dataclass(frozen=True, slots=True)
class Entities:
    """The ids listed per section of an entity file."""

    groups: frozenset[int]
    interrupts: frozenset[int] = frozenset()


def format_entities(groups: Iterable[GroupInfo], vectors: Iterable[int] = ()) -> str:
    """The text of an entity file listing *groups* (and interrupt *vectors*)."""
    lines = ["SchedGroup", *(f"{g.group_id} {g.name}" for g in groups), ""]
    vec = list(vectors)
    if vec:
        lines += ["InterruptCookie", *(f"{v} 0x{v:x}" for v in vec), ""]
    return "\n".join(lines)


def parse_entities(text: str, *, source: str | None = None) -> Entities:
    """Read an entity file; a bad line raises InputError naming the file and line."""
    sections: dict[str, set[int]] = {}
    current: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            current = None
            continue
        if line in SECTIONS:
            current = line
            sections.setdefault(line, set())
            continue
        ident, _, _name = line.partition(" ")
        if current is None:
            raise InputError(
                f"expected a section keyword ({', '.join(SECTIONS)}), got {line[:40]!r}",
                source=source,
                where=f"line {number}",
            )
        try:
            sections[current].add(int(ident, 0))
        except ValueError:
            raise InputError(
                f"expected '<numeric id> <name>', got {line[:40]!r}", source=source, where=f"line {number}"
            ) from None
    if "SchedGroup" not in sections:
        raise InputError("no SchedGroup section: not an esxtop entity file", source=source)
    return Entities(frozenset(sections["SchedGroup"]), frozenset(sections.get("InterruptCookie", set())))
