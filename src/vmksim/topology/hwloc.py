"""Import a host topology from hwloc XML (``lstopo --of xml``).

hwloc 2.x writes a tree of ``<object type=...>`` elements (Machine, Package,
L3Cache, Core, PU) with NUMANode objects as memory children of the object
whose CPUs they serve; every object carries a ``cpuset`` bitmap
(hwloc documentation, "XML" and "Topology objects" chapters). A PU's NUMA
node is the NUMANode whose cpuset contains it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from vmksim.errors import TopologyError
from vmksim.topology.infer import LogicalCpu, topology_from_cpus
from vmksim.topology.model import HostTopology

__all__ = ["from_hwloc_xml", "parse_cpuset"]


def parse_cpuset(text: str) -> set[int]:
    """hwloc bitmap ``0x0000000f,0xffffffff`` (32-bit words, most significant first) → CPU indexes."""
    # An empty word between commas is a zero word ("0xffffffff,,0x0" = bits 64-95).
    words = [w.strip() for w in text.split(",")]
    value = 0
    for w in words:
        value = (value << 32) | int(w.removeprefix("0x") or "0", 16)
    return {i for i in range(value.bit_length()) if value >> i & 1}


def from_hwloc_xml(path: str | Path) -> HostTopology:
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise TopologyError(f"malformed hwloc XML: {exc}", source=str(path)) from None
    except OSError as exc:
        raise TopologyError(f"cannot read: {exc.strerror}", source=str(path)) from None
    if root.tag != "topology":
        raise TopologyError(
            f"not hwloc XML (root element <{root.tag}>, expected <topology>)", source=str(path)
        )
    node_cpus: dict[int, set[int]] = {}
    node_mem: dict[int, int] = {}
    llc_of: dict[int, int] = {}
    records: list[tuple[int, int, int]] = []  # (pu, package, core)
    model = ""
    mhz = None

    def walk(elem: ET.Element, package: int, core: int) -> None:
        nonlocal model, mhz
        for child in elem.findall("object"):
            kind = child.get("type", "")
            idx = int(child.get("os_index", child.get("logical_index", "0")) or 0)
            pkg, cor = package, core
            if kind == "NUMANode":
                node_cpus[idx] = parse_cpuset(child.get("cpuset", "0x0"))
                node_mem[idx] = int(child.get("local_memory", "0")) // (1024 * 1024)
            elif kind == "Package":
                pkg = idx
                for info in child.findall("info"):
                    if info.get("name") == "CPUModel":
                        model = info.get("value", "")
                        m = re.search(r"@\s*([\d.]+)\s*GHz", model)
                        if m:
                            mhz = int(float(m.group(1)) * 1000)
            elif kind == "L3Cache":
                llc_id = len(set(llc_of.values()))
                for cpu in parse_cpuset(child.get("cpuset", "0x0")):
                    llc_of.setdefault(cpu, llc_id)
            elif kind == "Core":
                cor = idx
            elif kind == "PU":
                records.append((idx, package, core))
            walk(child, pkg, cor)

    walk(root, 0, 0)
    if not records:
        raise TopologyError("no PU objects found in the hwloc XML", source=str(path))
    cpu_node = {cpu: node for node, cpus in node_cpus.items() for cpu in cpus}
    cpus = [
        LogicalCpu(pu, pkg, core, cpu_node.get(pu, pkg), llc_of.get(pu)) for pu, pkg, core in sorted(records)
    ]
    return topology_from_cpus(
        cpus,
        name=path.stem,
        source=str(path),
        memory_mb_per_node=node_mem or None,
        mhz=mhz,
        cpu_model=model,
    )
