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
from vmksim.topology.model import MAX_LOGICAL_CPUS, HostTopology

__all__ = ["MAX_XML_BYTES", "from_hwloc_xml", "parse_cpuset"]

#: Largest hwloc XML read. ``lstopo --of xml`` of a host at ESXi's maximum of 896 PUs is a
#: few MB; anything far larger is not a topology and is refused before it is read.
MAX_XML_BYTES = 64 * 1024 * 1024
#: Most 32-bit words in a cpuset: enough for every CPU index ESXi supports
#: (MAX_LOGICAL_CPUS) with room for leading zero words; more is a malformed bitmap.
_MAX_CPUSET_WORDS = 4 * MAX_LOGICAL_CPUS // 32
_HEX_WORD = re.compile(r"(?:0x)?([0-9a-fA-F]{0,8})")
_INDEX = re.compile(r"[0-9]{1,9}")
_BYTES = re.compile(r"[0-9]{1,20}")


def parse_cpuset(text: str, *, source: str = "hwloc XML", where: str | None = None) -> set[int]:
    """hwloc bitmap ``0x0000000f,0xffffffff`` (32-bit words, most significant first) → CPU indexes.

    A word is up to 8 hex digits with an optional ``0x``; an empty word between commas is
    a zero word ("0xffffffff,,0x0" = bits 64-95). hwloc's infinite-set notation
    (``0xf...f``) and anything else are refused with a TopologyError naming *where*.
    """
    words = [w.strip() for w in text.split(",")]
    if len(words) > _MAX_CPUSET_WORDS:
        raise TopologyError(
            f"cpuset has {len(words)} words, more than a host ESXi supports could need",
            source=source,
            where=where,
        )
    value = 0
    for w in words:
        m = _HEX_WORD.fullmatch(w)
        if m is None:
            raise TopologyError(f"malformed cpuset {_short(text)!r}", source=source, where=where)
        value = (value << 32) | int(m.group(1) or "0", 16)
    return {i for i in range(value.bit_length()) if value >> i & 1}


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _index(child: ET.Element, source: str) -> int:
    """``os_index`` (else ``logical_index``, else 0) as a small non-negative integer."""
    raw = child.get("os_index", child.get("logical_index", "0")) or "0"
    if not _INDEX.fullmatch(raw.strip()):
        kind = child.get("type", "object")
        raise TopologyError(
            f"{kind} object has os_index {_short(raw)!r}, not a CPU/node number", source=source
        )
    return int(raw.strip())


def _parse_root(path: Path) -> ET.Element:
    source = str(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_XML_BYTES + 1)
    except OSError as exc:
        raise TopologyError(f"cannot read: {exc.strerror}", source=source) from None
    if len(data) > MAX_XML_BYTES:
        raise TopologyError(f"larger than {MAX_XML_BYTES // 2**20} MiB: not an hwloc topology", source=source)
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise TopologyError(f"malformed hwloc XML: {exc}", source=source) from None
    except (LookupError, ValueError) as exc:  # unknown encoding in the XML declaration
        raise TopologyError(f"unreadable hwloc XML: {exc}", source=source) from None


def from_hwloc_xml(path: str | Path) -> HostTopology:
    path = Path(path)
    source = str(path)
    root = _parse_root(path)
    if root.tag != "topology":
        raise TopologyError(
            f"not hwloc XML (root element <{_short(root.tag)}>, expected <topology>)", source=source
        )
    found = _Walk(source)
    found.walk(root)
    if not found.records:
        raise TopologyError("no PU objects found in the hwloc XML", source=source)
    if len(found.records) > MAX_LOGICAL_CPUS:
        raise TopologyError(
            f"{len(found.records)} PUs is more than ESXi 8.0 supports per host ({MAX_LOGICAL_CPUS})",
            source=source,
        )
    cpu_node = {cpu: node for node, cpus in found.node_cpus.items() for cpu in cpus}
    cpus = [
        LogicalCpu(pu, pkg, core, cpu_node.get(pu, pkg), found.llc_of.get(pu))
        for pu, pkg, core in sorted(found.records)
    ]
    return topology_from_cpus(
        cpus,
        name=path.stem,
        source=source,
        memory_mb_per_node=found.node_mem or None,
        mhz=found.mhz,
        cpu_model=found.model,
    )


class _Walk:
    """What one pass over the object tree finds (iterative: a deep tree cannot overflow the stack)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.node_cpus: dict[int, set[int]] = {}
        self.node_mem: dict[int, int] = {}
        self.llc_of: dict[int, int] = {}
        self.records: list[tuple[int, int, int]] = []  # (pu, package, core)
        self.model = ""
        self.mhz: int | None = None

    def walk(self, root: ET.Element) -> None:
        """Pre-order, document order, as a recursive walk would visit the objects."""
        stack: list[tuple[ET.Element, int, int]] = [(c, 0, 0) for c in reversed(root.findall("object"))]
        while stack and len(self.records) <= MAX_LOGICAL_CPUS:  # more PUs: the caller refuses the file
            elem, package, core = stack.pop()
            pkg, cor = self.visit(elem, package, core)
            stack.extend((c, pkg, cor) for c in reversed(elem.findall("object")))

    def visit(self, child: ET.Element, package: int, core: int) -> tuple[int, int]:
        kind = child.get("type", "")
        if kind not in ("NUMANode", "Package", "L3Cache", "Core", "PU"):
            return package, core
        idx = _index(child, self.source)
        where = f"{kind} {idx}"
        if kind == "NUMANode":
            self.node_cpus[idx] = parse_cpuset(child.get("cpuset", "0x0"), source=self.source, where=where)
            mem = child.get("local_memory", "0").strip() or "0"
            if not _BYTES.fullmatch(mem):
                raise TopologyError(
                    f"local_memory {_short(mem)!r} is not a byte count", source=self.source, where=where
                )
            self.node_mem[idx] = int(mem) // (1024 * 1024)
        elif kind == "Package":
            self._package_info(child)
            return idx, core
        elif kind == "L3Cache":
            llc_id = len(set(self.llc_of.values()))
            for cpu in parse_cpuset(child.get("cpuset", "0x0"), source=self.source, where=where):
                self.llc_of.setdefault(cpu, llc_id)
        elif kind == "Core":
            return package, idx
        else:
            self.records.append((idx, package, core))
        return package, core

    def _package_info(self, child: ET.Element) -> None:
        for info in child.findall("info"):
            if info.get("name") == "CPUModel":
                self.model = info.get("value", "")
                m = re.search(r"@\s*([0-9]{1,2}(?:\.[0-9]{1,3})?)\s*GHz", self.model)
                if m:
                    self.mhz = int(float(m.group(1)) * 1000)
