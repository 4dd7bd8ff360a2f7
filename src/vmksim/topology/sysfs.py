"""Import a host topology from a Linux sysfs tree.

Reads ``devices/system/cpu/cpuN/topology/{physical_package_id,core_id}``,
``cpuN/cache/index3/shared_cpu_list`` (LLC), ``cpuN/cpufreq`` (nominal clock)
and ``devices/system/node/nodeN/{cpulist,meminfo}`` — the files documented in
the Linux kernel's ABI (Documentation/ABI/stable/sysfs-devices-system-cpu and
sysfs-devices-node). The root argument lets tests point at a fake tree.
"""

from __future__ import annotations

import re
from pathlib import Path

from vmksim.errors import TopologyError
from vmksim.topology.infer import LogicalCpu, topology_from_cpus
from vmksim.topology.model import MAX_LOGICAL_CPUS, HostTopology

__all__ = ["MAX_ATTR_BYTES", "MAX_PROC_BYTES", "from_sysfs", "parse_cpulist"]


#: Largest sysfs attribute read: the kernel fills at most one page per attribute; /proc/cpuinfo
#: of a host at ESXi's 896-CPU maximum is ~1.5 MB (MAX_PROC_BYTES).
MAX_ATTR_BYTES = 64 * 1024
MAX_PROC_BYTES = 16 * 1024 * 1024
_RANGE = re.compile(r"([0-9]{1,12})(?:-([0-9]{1,12}))?")


def parse_cpulist(text: str, *, source: str = "cpulist", limit: int = MAX_LOGICAL_CPUS) -> list[int]:
    """Parse a kernel CPU list such as ``0-3,8,10-11`` (Documentation/ABI "cpu list" format).

    At most *limit* CPUs (ESXi's per-host maximum by default): the count of a range is
    checked before it is expanded, so ``0-1000000000`` is a clear error, not a list that
    grows until memory runs out (issue 11 item 8).
    """
    out: list[int] = []
    shown = text.strip() if len(text.strip()) <= 60 else text.strip()[:57] + "..."
    for part in text.strip().split(","):
        if not part:
            continue
        m = _RANGE.fullmatch(part.strip())
        if m is None or (m.group(2) is not None and int(m.group(2)) < int(m.group(1))):
            raise TopologyError(f"bad CPU list '{shown}'", source=source)
        a = int(m.group(1))
        b = int(m.group(2) or a)
        if len(out) + (b - a + 1) > limit:
            raise TopologyError(
                f"CPU list '{shown}' names more than {limit} CPUs (the ESXi 8.0 maximum per host)",
                source=source,
            )
        out.extend(range(a, b + 1))
    return out


def _system_dir(root: Path) -> Path:
    for candidate in (root / "sys" / "devices" / "system", root / "devices" / "system", root):
        if (candidate / "cpu").is_dir():
            return candidate
    raise TopologyError("no devices/system/cpu directory below it (not a sysfs tree)", source=str(root))


def _read(path: Path, limit: int = MAX_ATTR_BYTES) -> str | None:
    """An attribute's text, or None if it is missing, not a regular file, unreadable or too large.

    Only regular files are opened (sysfs attributes are regular files): a FIFO or device
    planted in a copied tree must not block or stream without end.
    """
    try:
        if not path.is_file():
            return None
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError:
        return None
    if len(data) > limit:
        return None
    return data.decode("utf-8", errors="replace").strip()


def from_sysfs(root: str | Path) -> HostTopology:
    root = Path(root)
    system = _system_dir(root)
    cpu_dir, node_dir = system / "cpu", system / "node"
    online = _read(cpu_dir / "online")
    if online is not None:
        ids = parse_cpulist(online, source=str(cpu_dir / "online"))
    else:
        ids = sorted(
            int(m.group(1)) for p in cpu_dir.iterdir() if (m := re.fullmatch(r"cpu([0-9]{1,9})", p.name))
        )
        if len(ids) > MAX_LOGICAL_CPUS:
            raise TopologyError(
                f"{len(ids)} cpuN directories: more logical CPUs than ESXi 8.0 supports per host "
                f"({MAX_LOGICAL_CPUS})",
                source=str(cpu_dir),
            )
    cpu_node: dict[int, int] = {}
    memory: dict[int, int] = {}
    if node_dir.is_dir():
        for p in sorted(node_dir.iterdir()):
            m = re.fullmatch(r"node([0-9]{1,9})", p.name)
            if not m:
                continue
            node = int(m.group(1))
            for cpu in parse_cpulist(_read(p / "cpulist") or "", source=str(p / "cpulist")):
                cpu_node[cpu] = node
            mem = re.search(r"MemTotal:\s+([0-9]{1,20})\s*kB", _read(p / "meminfo") or "")
            if mem:
                memory[node] = int(mem.group(1)) // 1024
    records = []
    for cpu in ids:
        topo = cpu_dir / f"cpu{cpu}" / "topology"
        pkg, core = _read(topo / "physical_package_id"), _read(topo / "core_id")
        if pkg is None or core is None:
            raise TopologyError(
                f"cpu{cpu}: missing topology/physical_package_id or core_id", source=str(root)
            )
        shared = _read(cpu_dir / f"cpu{cpu}" / "cache" / "index3" / "shared_cpu_list")
        llc = min(parse_cpulist(shared)) if shared else None
        try:
            records.append(LogicalCpu(cpu, int(pkg), int(core), cpu_node.get(cpu, int(pkg)), llc))
        except ValueError:
            raise TopologyError(f"cpu{cpu}: non-numeric package or core id", source=str(root)) from None
    khz = None
    for name in ("base_frequency", "cpuinfo_max_freq"):
        raw = _read(cpu_dir / f"cpu{ids[0]}" / "cpufreq" / name) if ids else None
        if raw and raw.isascii() and raw.isdigit() and len(raw) <= 12:
            khz = int(raw)
            break
    model = ""
    cpuinfo = (
        _read(system.parents[1] / "proc" / "cpuinfo", MAX_PROC_BYTES) if len(system.parents) > 1 else None
    )
    if cpuinfo and (m := re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)):
        model = m.group(1).strip()
    return topology_from_cpus(
        records,
        name=root.name or "sysfs",
        source=str(root),
        memory_mb_per_node=memory or None,
        mhz=khz // 1000 if khz else None,
        cpu_model=model,
    )
