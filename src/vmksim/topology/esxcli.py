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
import warnings
from pathlib import Path

from vmksim.errors import InputWarning, TopologyError
from vmksim.topology.infer import LogicalCpu, topology_from_cpus
from vmksim.topology.model import HostTopology

__all__ = ["MAX_TEXT_BYTES", "from_esxcli_text", "parse_esxcli_text"]

#: Largest esxcli text read: ``cpu list`` prints ~20 lines per logical CPU, well under
#: 1 MB at ESXi's maximum of 896; a far larger file is not esxcli output.
MAX_TEXT_BYTES = 16 * 1024 * 1024

_BLOCK = re.compile(r"^\s*CPU:\s*(\d+)\s*$")
_KEY = re.compile(r"[A-Za-z0-9 ()]+")


def _field(line: str) -> tuple[str, str] | None:
    """``   Key: value`` as (key, value): the key up to the first colon, the value stripped.

    Split by hand, in linear time: the lazy regex it replaces was quadratic on long runs of
    blanks (found by the fuzz suite).
    """
    key, colon, value = line.strip().partition(":")
    if not colon or not _KEY.fullmatch(key):
        return None
    return key, value.strip()


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
        field = _field(line)
        if field is None:
            raise TopologyError(f"unexpected line '{line.strip()[:80]}'", source=source, where=lineno)
        key, value = field
        if key in ("Physical Memory", "Reliable Memory", "NUMA Node Count"):
            memory[key] = value
            current = None
        elif current is not None:
            current[key] = value
    return cpus, memory


#: A number field: hex (``0x...``) or decimal, ASCII digits only, at most 20 digits (a 64-bit
#: byte count); leading zeros are decimal (``07``), and Unicode digits or longer runs are refused.
_NUMBER = re.compile(r"\s*(?:0x([0-9a-fA-F]{1,16})(?![0-9a-fA-F])|([0-9]{1,20})(?![0-9]))")


def _int(value: str | None, what: str, source: str) -> int | None:
    if value is None:
        return None
    m = _NUMBER.match(value)
    if not m:
        shown = value if len(value) <= 60 else value[:57] + "..."
        raise TopologyError(f"{what} is not a number: '{shown}'", source=source)
    return int(m.group(1), 16) if m.group(1) is not None else int(m.group(2), 10)


def _threads_without_core_id(first: dict[str, str], source: str) -> int | None:
    """Threads per core from ``L2 Cache CPU Count`` when ``Core Id`` is missing; None if absent too."""
    return _int(first.get("L2 Cache CPU Count"), "L2 Cache CPU Count", source) or None


def _warn_ht_assumed_off(source: str) -> None:
    """Neither Core Id nor L2 Cache CPU Count: HT had to be assumed off; say so (issue 10)."""
    warnings.warn(
        f"{source}: no 'Core Id' or 'L2 Cache CPU Count' fields: assumed 1 thread per core "
        "(hyper-threading off); add the full `esxcli hardware cpu list` output if the host has HT",
        InputWarning,
        stacklevel=4,
    )


def from_esxcli_text(path: str | Path) -> HostTopology:
    path = Path(path)
    source = str(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_TEXT_BYTES + 1)
        text = data.decode("utf-8")
    except OSError as exc:
        raise TopologyError(f"cannot read esxcli text: {exc.strerror}", source=source) from None
    except UnicodeDecodeError as exc:
        raise TopologyError(f"not UTF-8 text (byte offset {exc.start})", source=source) from None
    if len(data) > MAX_TEXT_BYTES:
        raise TopologyError(f"larger than {MAX_TEXT_BYTES // 2**20} MiB: not esxcli output", source=source)
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
        tpc = _threads_without_core_id(first, source)
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
    host = topology_from_cpus(
        records,
        name=path.stem,
        source=source,
        total_memory_mb=mem_bytes // (1024 * 1024) if mem_bytes else None,
        mhz=round(speed / 1e6) if speed and speed > 100_000 else speed,
        cpu_model=first.get("Brand", ""),
    )
    if core_ids is None and tpc is None:  # warned only for a host that reads (no warning + error)
        _warn_ht_assumed_off(source)
    return host
