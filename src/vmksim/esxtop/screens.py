"""esxtop's screens as data: header lines and table rows for each panel, from one sample.

ESXi counterpart: the interactive esxtop panels (esxtop.md §2.1-§2.7, §3):
``c`` CPU (groups, expandable into worlds with ``e``), ``m`` memory (groups,
with the NUMA fields), ``p`` power (per PCPU), ``i`` interrupts (per vector,
expandable into per-CPU rows). Panels live in :data:`PANELS`, a registry
keyed by their esxtop key; the TUI (:mod:`vmksim.esxtop.app`) only draws what
:func:`render` returns, so screens are testable without a terminal.

Columns come from :mod:`vmksim.metrics` (screen name, field group, format) and
appear when the capture or simulation has them. Simplifications: the first
header line's uptime is the time since the first sample plus one interval (a
capture does not record host uptime); VMs are the groups with ``vmx-vcpu-*``
worlds; PCPU lines print one decimal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from vmksim.metrics import EsxObject, Metric, Panel, by_object, format_value, lookup
from vmksim.stats.sample import Column, ColumnIndex, FloatArray

__all__ = [
    "PANELS",
    "STATE_NAMES",
    "FieldGroup",
    "Frame",
    "PanelSpec",
    "Row",
    "Screen",
    "Topology",
    "ViewState",
    "field_groups",
    "field_menu",
    "missing_note",
    "render",
    "reorder",
]

#: Memory\Kernel State codes as esxtop.md §2.3 reads them (ESXi 6.x).
STATE_NAMES = {0: "high", 1: "clear", 2: "soft", 3: "hard", 4: "low"}
#: Sort key meaning "by group id, ascending" (esxtop's N).
BY_ID = "id"


class Row(NamedTuple):
    key: str  # the instance shown (group, world or vector)
    cells: tuple[str, ...]
    depth: int  # 0: group / vector, 1: world / per-CPU child
    expandable: bool


class Screen(NamedTuple):
    header: list[str]
    columns: list[str]
    rows: list[Row]


@dataclass(slots=True)
class ViewState:
    """What the user chose: panel, filters, expansions, sort, limit, hidden field groups."""

    panel: Panel = Panel.CPU
    vms_only: bool = False
    expanded: set[str] = field(default_factory=set)
    sort: dict[Panel, str] = field(default_factory=dict)
    limit: int | None = None
    hidden: set[str] = field(default_factory=set)
    order: dict[Panel, tuple[str, ...]] = field(default_factory=dict)  # field groups moved first (o)


@dataclass(slots=True)
class Topology:
    """Who belongs to whom, worked out once from the column list (instance names, esxtop.md §1.3)."""

    index: ColumnIndex
    children: dict[str, list[str]]  # group instance -> world instances (Vcpu), vector -> per-CPU
    vms: set[str]  # group instances that are VMs
    vcpus: int

    @classmethod
    def of(cls, columns: tuple[Column, ...]) -> Topology:
        index = ColumnIndex(columns)
        children: dict[str, list[str]] = {}
        groups = [g for g in index.instances(EsxObject.GROUP_CPU) if g is not None]
        groups += [g for g in index.instances(EsxObject.GROUP_MEMORY) if g is not None and g not in groups]
        # Worlds are "GID:group:WID:world"; split on the known group prefix, never on ':' alone.
        by_gid = {g.partition(":")[0]: g for g in groups}
        vms: set[str] = set()
        vcpus = 0
        for world in index.instances(EsxObject.VCPU):
            if world is None:
                continue
            group = by_gid.get(world.partition(":")[0])
            if group is None or not world.startswith(group + ":"):
                continue
            children.setdefault(group, []).append(world)
            if world[len(group) + 1 :].partition(":")[2].startswith("vmx-vcpu-"):
                vms.add(group)
                vcpus += 1
        for inst in index.instances(EsxObject.INTERRUPT):
            if inst is not None and ":" in inst:
                children.setdefault(inst.partition(":")[0], []).append(inst)
        return cls(index, children, vms, vcpus)


@dataclass(slots=True)
class Frame:
    """One sample as the screens read it."""

    topo: Topology
    values: FloatArray
    time: datetime
    first: datetime
    interval: timedelta

    def get(self, obj: str, instance: str | None, counter: str) -> float:
        return self.topo.index.value(self.values, obj, instance, counter)

    def host(self, counter: str, obj: str = EsxObject.MEMORY) -> float:
        return self.get(obj, None, counter)


def _num(value: float, digits: int = 2) -> str:
    return "-" if value != value else f"{value:.{digits}f}"


def _mb(value: float) -> str:
    return "-" if value != value else f"{value:.0f}"


def _first_line(frame: Frame, tail: str) -> str:
    up = frame.time - frame.first + frame.interval
    days, rest = divmod(int(up.total_seconds()), 86_400)
    worlds = len([w for w in frame.topo.index.instances(EsxObject.VCPU) if w is not None])
    clock = frame.time.strftime("%I:%M:%S%p").lower().lstrip("0")
    return (
        f"{clock} up {days} days {rest // 3600:02d}:{rest % 3600 // 60:02d}, {worlds} worlds, "
        f"{len(frame.topo.vms)} VMs, {frame.topo.vcpus} vCPUs; {tail}"
    )


def _pcpu_line(frame: Frame, label: str, counter: str) -> str | None:
    pcpus = [p for p in frame.topo.index.instances(EsxObject.PCPU) if p is not None and p != "_Total"]
    vals = [frame.get(EsxObject.PCPU, p, counter) for p in pcpus]
    if not vals or all(v != v for v in vals):
        return None
    avg = frame.get(EsxObject.PCPU, "_Total", counter)
    return f"{label}: " + " ".join(_num(v, 1) for v in vals) + f" AVG: {_num(avg, 1)}"


def _cpu_header(frame: Frame) -> list[str]:
    load = ", ".join(
        _num(frame.host(f"Cpu Load ({s} Minute Avg)", EsxObject.PCPU_LOAD)) for s in ("1", "5", "15")
    )
    lines = [_first_line(frame, f"CPU load average: {load}")]
    for label, counter in (
        ("PCPU USED(%)", "% Processor Time"),
        ("PCPU UTIL(%)", "% Util Time"),
        ("CORE UTIL(%)", "% Core Util Time"),
    ):
        line = _pcpu_line(frame, label, counter)
        if line is not None:
            lines.append(line)
    return lines


def _memory_header(frame: Frame) -> list[str]:
    h = frame.host
    ovc = ", ".join(_num(h(f"Memory Overcommit ({s} Minute Avg)")) for s in ("1", "5", "15"))
    state = h("Kernel State")
    state_name = STATE_NAMES.get(int(state), str(int(state))) if state == state else "-"
    nodes = [n for n in frame.topo.index.instances(EsxObject.NUMA_NODE) if n is not None]
    numa = ", ".join(
        f"{_mb(frame.get(EsxObject.NUMA_NODE, n, 'Total MBytes'))} ({_mb(frame.get(EsxObject.NUMA_NODE, n, 'Free MBytes'))})"
        for n in nodes
    )
    lines = [
        _first_line(frame, f"MEM overcommit avg: {ovc}"),
        f"PMEM  /MB: {_mb(h('Machine MBytes'))} total: {_mb(h('Kernel MBytes'))} vmk, "
        f"{_mb(h('NonKernel MBytes'))} other, {_mb(h('Free MBytes'))} free",
        f"VMKMEM/MB: {_mb(h('Kernel Managed MBytes'))} managed: {_mb(h('Kernel MinFree MBytes'))} minfree, "
        f"{_mb(h('Kernel Reserved MBytes'))} rsvd, {_mb(h('Kernel Unreserved MBytes'))} ursvd, {state_name} state",
    ]
    if numa:
        lines.append(f"NUMA  /MB: {numa}")
    lines += [
        f"PSHARE/MB: {_mb(h('PShare Shared MBytes'))} shared, {_mb(h('PShare Common MBytes'))} common: "
        f"{_mb(h('PShare Savings MBytes'))} saving",
        f"SWAP  /MB: {_mb(h('Swap Used MBytes'))} curr, {_mb(h('Swap Target MBytes'))} rclmtgt: "
        f"{_num(h('Swap MBytes Read/sec'))} r/s, {_num(h('Swap MBytes Write/sec'))} w/s",
        f"ZIP   /MB: {_mb(h('Total Compressed MBytes'))} zipped, {_mb(h('Total Saved By Compression MBytes'))} saved",
        f"MEMCTL/MB: {_mb(h('Memctl Current MBytes'))} curr, {_mb(h('Memctl Target MBytes'))} target, "
        f"{_mb(h('Memctl Max MBytes'))} max",
    ]
    return lines


def _power_header(frame: Frame) -> list[str]:
    now = frame.host("Power Usage Now Watts", EsxObject.POWER)
    cap = frame.host("Power Usage Cap Watts", EsxObject.POWER)
    pstates = [p for p in frame.topo.index.instances(EsxObject.POWER) if p is not None]
    mhz = " ".join(_mb(frame.get(EsxObject.POWER, p, "P-State MHZ")) for p in pstates)
    load = ", ".join(
        _num(frame.host(f"Cpu Load ({s} Minute Avg)", EsxObject.PCPU_LOAD)) for s in ("1", "5", "15")
    )
    return [
        _first_line(frame, f"CPU load average: {load}"),
        f"Power Usage: {_mb(now)}W, Power Cap: {_mb(cap)}W",
        f"PSTATE MHZ: {mhz}",
    ]


def _interrupt_header(frame: Frame) -> list[str]:
    load = ", ".join(
        _num(frame.host(f"Cpu Load ({s} Minute Avg)", EsxObject.PCPU_LOAD)) for s in ("1", "5", "15")
    )
    return [_first_line(frame, f"CPU load average: {load}")]


@dataclass(frozen=True, slots=True)
class PanelSpec:
    """A screen: its key, rows (object and children), sort keys and header lines."""

    panel: Panel
    title: str
    row_object: EsxObject
    child_object: EsxObject | None
    id_columns: tuple[str, ...]
    sort_keys: dict[str, str]  # key letter -> metric key or BY_ID
    default_sort: str
    header: Callable[[Frame], list[str]]
    extra_object: EsxObject | None = None  # more columns per row (power: Physical Cpu)
    lead_groups: tuple[str, ...] = ()
    """Field groups drawn right after the id columns, so they fit an 80-column terminal."""
    letters: dict[str, str] = field(default_factory=dict)
    """esxtop's letter of each field group in the ``f`` menu, where a source gives it."""
    noun: str = "rows"
    """What a row is, for the note when the data has none (``no interrupt vectors in this data``)."""


#: esxtop's CPU field groups and their letters (esxtop.md §1.2, S36: A ID, B GID, C LWID, D NAME,
#: E NWLD, F %STATE TIMES, G EVENT COUNTS/s, H CPU ALLOC, I SUMMARY STATS). A-D are the id columns,
#: always shown here.
CPU_LETTERS = {
    "NWLD": "E",
    "%STATE TIMES": "F",
    "EVENT COUNTS/s": "G",
    "CPU ALLOC": "H",
    "SUMMARY STATS": "I",
}
#: The memory panel's NUMA fields (NHN NMIG NRMEM NLMEM N%L, esxtop.md §2.3) come first after GID and
#: NAME: in catalogue (CSV) order they start past column 50 and fall off an 80-column terminal.
NUMA_GROUP = "NUMA STATS"


PANELS: dict[str, PanelSpec] = {
    p.panel.value: p
    for p in (
        PanelSpec(Panel.CPU, "CPU", EsxObject.GROUP_CPU, EsxObject.VCPU, ("ID", "GID", "NAME"),
                  {"U": "used", "R": "ready", "N": BY_ID}, "used", _cpu_header, letters=CPU_LETTERS),
        PanelSpec(Panel.MEMORY, "memory", EsxObject.GROUP_MEMORY, None, ("GID", "NAME"),
                  {"M": "size", "B": "memctl_size", "N": BY_ID}, "size", _memory_header,
                  lead_groups=(NUMA_GROUP,)),
        PanelSpec(Panel.POWER, "power", EsxObject.PCPU_POWER, None, ("CPU",),
                  {"N": BY_ID}, BY_ID, _power_header, extra_object=EsxObject.PCPU),
        PanelSpec(Panel.INTERRUPT, "interrupt", EsxObject.INTERRUPT, EsxObject.INTERRUPT, ("VECTOR",),
                  {"N": BY_ID}, BY_ID, _interrupt_header, noun="interrupt vectors"),
    )
}  # fmt: skip


def field_groups(spec: PanelSpec, topo: Topology, order: tuple[str, ...] = ()) -> list[str]:
    """Field groups of a panel's columns present in the data, in screen order."""
    return list(dict.fromkeys(m.group for m in visible_metrics(spec, topo, set(), order)))


def missing_note(spec: PanelSpec, topo: Topology) -> str | None:
    """Why the panel would be empty, or None: the data has no row of its object at all (a
    simulated host has no interrupt vectors; a capture may lack a panel's object)."""
    if any(i is not None for i in topo.index.instances(spec.row_object)):
        return None
    return f"no {spec.noun} in this data ({spec.title} panel: no '{spec.row_object.value}' counters)"


def reorder(groups: list[str], letters: str) -> tuple[str, ...] | str:
    """esxtop's ``o``, simplified: *letters* name field groups (A = the first shown) in their new
    order; those named come first, the others keep their order after them. Returns the new
    order, or a one-line problem with the answer."""
    picked: list[str] = []
    for ch in letters.replace(" ", "").upper():
        at = ord(ch) - ord("A")
        if not 0 <= at < len(groups):
            return f"{ch!r} is not a field letter (A to {chr(ord('A') + len(groups) - 1)})"
        if groups[at] in picked:
            return f"{ch!r} is given twice"
        picked.append(groups[at])
    return tuple(picked + [g for g in groups if g not in picked])


class FieldGroup(NamedTuple):
    group: str
    label: str  # "H CPU ALLOC", with esxtop's letter where known
    available: bool  # the data has at least one of its counters


def field_menu(spec: PanelSpec, topo: Topology) -> list[FieldGroup]:
    """The ``f`` menu: every field group of the panel's object (esxtop.md §3), present or not.

    A group the data lacks is listed as unavailable: a default-field capture has only NWLD and the
    state times on the CPU panel (esxtop.md §1.2); the rest are written with ``esxtop -a``.
    """
    present = set(field_groups(spec, topo))
    groups = dict.fromkeys(m.group for m in _ordered(spec, by_object(spec.row_object)))
    if spec.extra_object is not None:
        groups |= dict.fromkeys(m.group for m in by_object(spec.extra_object))
    out = []
    for g in groups:
        letter = spec.letters.get(g)
        label = f"{letter} {g}" if letter else g
        if g not in present:
            label += " (not in this data: esxtop -b writes it with -a)"
        out.append(FieldGroup(g, label, g in present))
    return out


def _ordered(
    spec: PanelSpec, metrics: tuple[Metric, ...] | list[Metric], order: tuple[str, ...] = ()
) -> list[Metric]:
    """The user's order (``o``) first, then catalogue order with the panel's lead groups first."""
    first = (*order, *(g for g in spec.lead_groups if g not in order))
    lead = [m for g in first for m in metrics if m.group == g]
    return lead + [m for m in metrics if m.group not in first]


def visible_metrics(
    spec: PanelSpec, topo: Topology, hidden: set[str], order: tuple[str, ...] = ()
) -> list[Metric]:
    present = {c.counter for c in topo.index.columns if c.object == spec.row_object}
    out = [m for m in by_object(spec.row_object) if m.counter in present and m.group not in hidden]
    if spec.extra_object is not None:
        extra = {c.counter for c in topo.index.columns if c.object == spec.extra_object}
        out += [m for m in by_object(spec.extra_object) if m.counter in extra and m.group not in hidden]
    return _ordered(spec, out, order)


def _cells(
    frame: Frame, spec: PanelSpec, metrics: list[Metric], obj: str, instance: str, pcpu: str | None
) -> list[str]:
    cells = []
    for m in metrics:
        if m.object == spec.extra_object:
            v = frame.get(m.object, pcpu, m.counter)
        else:
            v = frame.get(obj, instance, m.counter)
        fmt = (lookup(obj, m.counter) or m).fmt
        cells.append(format_value(fmt, v) if v == v else "")
    return cells


def _sort_value(frame: Frame, spec: PanelSpec, sort: str, instance: str) -> tuple[float, str]:
    if sort == BY_ID:
        head = instance.partition(":")[0].removeprefix("PCPU ")
        try:
            return (float(int(head, 0)), instance)
        except ValueError:
            return (0.0, instance)
    metric = next((m for m in by_object(spec.row_object) if m.key == sort), None)
    v = frame.get(spec.row_object, instance, metric.counter) if metric else float("nan")
    return (-(v if v == v else float("-inf")), instance)


def render(frame: Frame, state: ViewState) -> Screen:
    """The header lines, column titles and rows of the panel *state* shows."""
    spec = PANELS[state.panel.value]
    metrics = visible_metrics(spec, frame.topo, state.hidden, state.order.get(spec.panel, ()))
    columns = [*spec.id_columns, *(m.column for m in metrics)]
    instances = [i for i in frame.topo.index.instances(spec.row_object) if i is not None]
    if spec.panel is Panel.INTERRUPT:
        instances = [i for i in instances if ":" not in i]
    if state.vms_only and spec.row_object in (EsxObject.GROUP_CPU, EsxObject.GROUP_MEMORY):
        instances = [i for i in instances if i in frame.topo.vms]
    sort = state.sort.get(spec.panel, spec.default_sort)
    instances.sort(key=lambda i: _sort_value(frame, spec, sort, i))
    if state.limit is not None:
        instances = instances[: state.limit]
    rows: list[Row] = []
    for inst in instances:
        kids = frame.topo.children.get(inst, []) if spec.child_object is not None else []
        rows.append(Row(inst, tuple(_ids(spec, inst) + _cells(frame, spec, metrics, spec.row_object, inst,
                                                              _pcpu_of(inst))), 0, bool(kids)))  # fmt: skip
        if inst in state.expanded and spec.child_object is not None:
            for kid in kids:
                cells = _child_ids(spec, inst, kid) + _cells(
                    frame, spec, metrics, spec.child_object, kid, None
                )
                rows.append(Row(kid, tuple(cells), 1, False))
    note = missing_note(spec, frame.topo)
    return Screen([*spec.header(frame), *([note] if note else [])], columns, rows)


def _pcpu_of(instance: str) -> str | None:
    return instance.removeprefix("PCPU ") if instance.startswith("PCPU ") else None


def _ids(spec: PanelSpec, instance: str) -> list[str]:
    if spec.panel is Panel.CPU:
        gid, _, name = instance.partition(":")
        return [gid, gid, name]
    if spec.panel is Panel.MEMORY:
        gid, _, name = instance.partition(":")
        return [gid, name]
    if spec.panel is Panel.POWER:
        return [instance.removeprefix("PCPU ")]
    return [instance]


def _child_ids(spec: PanelSpec, group: str, world: str) -> list[str]:
    if spec.panel is Panel.INTERRUPT:
        return ["  " + world.partition(":")[2]]
    gid = group.partition(":")[0]
    wid, _, name = world[len(group) + 1 :].partition(":")
    return [wid, gid, "  " + name]
