"""Import a host topology from ``esxcli hardware cpu list`` + ``esxcli hardware memory get`` text.

``cpu list`` prints one block per logical CPU (``CPU:N`` then indented
``Key: value`` lines such as ``Package Id``, ``Core Speed`` in Hz, ``Brand``,
``L2 Cache CPU Count``, and on most releases ``Node``); ``memory get`` prints
``Physical Memory: N Bytes`` and ``NUMA Node Count: N``. Both texts may be in
one file, one after the other.

Where a field is absent the derivation is:

* threads per core = ``Core Id`` grouping if present, else ``L2 Cache CPU Count``
  (the L2 is private to a core on every x86 part ESXi supports, so the CPUs
  sharing it are one core's threads), else 1; ESXi numbers a core's threads
  adjacently (esxi-scheduler.md §1.1);
* NUMA node = ``Node`` if present, else the logical CPUs are split evenly, in
  order, over ``NUMA Node Count`` nodes;
* LLC domain = groups of ``L3 Cache CPU Count`` consecutive CPUs.
"""

from __future__ import annotations

import re
from pathlib import Path

from vmksim.errors import TopologyError
from vmksim.topology.infer import LogicalCpu, topology_from_cpus
from vmksim.topology.model import HostTopology

__all__ = ["from_esxcli_text", "parse_esxcli_text"]

_BLOCK = re.compile(r"^\s*CPU:\s*(\d+)\s*$")
_FIELD = re.compile(r"^\s+([A-Za-z0-9 ()]+?):\s*(.*?)\s*$")


def parse_esxcli_text(text: str, source: str) -> tuple[list[dict[str, str]], dict[str, str]]:
    """Split into per-CPU field dicts and the memory fields."""
    cpus: list[dict[str, str]] = []
    memory: dict[str, str] = {}
    current: dict[str, str] | None = None
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if m := _BLOCK.match(line):
            current = {"CPU": m.group(1)}
            cpus.append(current)
            continue
        m = _FIELD.match(line) or re.match(r"^\s*([A-Za-z0-9 ()]+?):\s*(.*?)\s*$", line)
        if not m:
            raise TopologyError(f"unexpected line '{line.strip()}'", source=source, where=lineno)
        key, value = m.group(1), m.group(2)
        if key in ("Physical Memory", "Reliable Memory", "NUMA Node Count"):
            memory[key] = value
            current = None
        elif current is not None:
            current[key] = value
    return cpus, memory


def _int(value: str | None, what: str, source: str) -> int | None:
    if value is None:
        return None
    m = re.match(r"\s*(0x[0-9a-fA-F]+|\d+)", value)
    if not m:
        raise TopologyError(f"{what} is not a number: '{value}'", source=source)
    return int(m.group(1), 0)


def from_esxcli_text(path: str | Path) -> HostTopology:
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TopologyError(f"cannot read esxcli text: {exc}", source=source) from None
    cpus, memory = parse_esxcli_text(text, source)
    if not cpus:
        raise TopologyError("no 'CPU:N' blocks (expected `esxcli hardware cpu list` output)", source=source)
    n = len(cpus)
    first = cpus[0]
    if all("Core Id" in c for c in cpus):
        core_ids = [_int(c["Core Id"], "Core Id", source) or 0 for c in cpus]
        tpc = None
    else:
        core_ids = None
        tpc = _int(first.get("L2 Cache CPU Count"), "L2 Cache CPU Count", source) or 1
    node_count = _int(memory.get("NUMA Node Count"), "NUMA Node Count", source)
    has_node = all("Node" in c for c in cpus)
    if not has_node and node_count and n % node_count:
        raise TopologyError(f"{n} CPUs cannot split evenly over {node_count} NUMA nodes", source=source)
    l3 = _int(first.get("L3 Cache CPU Count"), "L3 Cache CPU Count", source)
    records = []
    for i, c in enumerate(cpus):
        cpu_id = _int(c.get("Id", c["CPU"]), "Id", source) or 0
        pkg = _int(c.get("Package Id"), "Package Id", source)
        if pkg is None:
            raise TopologyError(f"CPU:{c['CPU']} has no 'Package Id'", source=source)
        core = core_ids[i] if core_ids is not None else i // (tpc or 1)
        if has_node:
            node = _int(c["Node"], "Node", source) or 0
        elif node_count:
            node = i // (n // node_count)
        else:
            node = pkg
        records.append(LogicalCpu(cpu_id, pkg, core, node, i // l3 if l3 else None))
    speed = _int(first.get("Core Speed"), "Core Speed", source)
    mem_bytes = _int(memory.get("Physical Memory"), "Physical Memory", source)
    return topology_from_cpus(
        records,
        name=path.stem,
        source=source,
        total_memory_mb=mem_bytes // (1024 * 1024) if mem_bytes else None,
        mhz=round(speed / 1e6) if speed and speed > 100_000 else speed,
        cpu_model=first.get("Brand", ""),
    )
