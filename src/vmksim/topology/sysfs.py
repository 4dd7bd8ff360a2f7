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
from vmksim.topology.model import HostTopology

__all__ = ["from_sysfs", "parse_cpulist"]


def parse_cpulist(text: str, *, source: str = "cpulist") -> list[int]:
    """Parse a kernel CPU list such as ``0-3,8,10-11``."""
    out: list[int] = []
    for part in text.strip().split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        try:
            a, b = int(lo), int(hi or lo)
        except ValueError:
            raise TopologyError(f"bad CPU list '{text.strip()}'", source=source) from None
        out.extend(range(a, b + 1))
    return out


def _system_dir(root: Path) -> Path:
    for candidate in (root / "sys" / "devices" / "system", root / "devices" / "system", root):
        if (candidate / "cpu").is_dir():
            return candidate
    raise TopologyError("no devices/system/cpu directory below it (not a sysfs tree)", source=str(root))


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def from_sysfs(root: str | Path) -> HostTopology:
    root = Path(root)
    system = _system_dir(root)
    cpu_dir, node_dir = system / "cpu", system / "node"
    online = _read(cpu_dir / "online")
    if online is not None:
        ids = parse_cpulist(online, source=str(cpu_dir / "online"))
    else:
        ids = sorted(int(m.group(1)) for p in cpu_dir.iterdir() if (m := re.fullmatch(r"cpu(\d+)", p.name)))
    cpu_node: dict[int, int] = {}
    memory: dict[int, int] = {}
    if node_dir.is_dir():
        for p in sorted(node_dir.iterdir()):
            m = re.fullmatch(r"node(\d+)", p.name)
            if not m:
                continue
            node = int(m.group(1))
            for cpu in parse_cpulist(_read(p / "cpulist") or "", source=str(p / "cpulist")):
                cpu_node[cpu] = node
            mem = re.search(r"MemTotal:\s+(\d+)\s*kB", _read(p / "meminfo") or "")
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
        if raw and raw.isdigit():
            khz = int(raw)
            break
    model = ""
    cpuinfo = _read(system.parents[1] / "proc" / "cpuinfo") if len(system.parents) > 1 else None
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
