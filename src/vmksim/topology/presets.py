"""Named hosts: the hardware of the documented examples and of our users.

Each preset names the real processor family it stands for; core counts and
NUMA layout are those of that part (vendor data sheets), memory is a typical
configuration and only matters for memory-per-node warnings.
"""

from __future__ import annotations

from vmksim.topology.model import HostTopology

__all__ = ["PRESETS", "preset_names"]


def _p(**kw: object) -> HostTopology:
    return HostTopology.from_counts(**kw)  # type: ignore[arg-type]


PRESETS: dict[str, HostTopology] = {
    h.name: h
    for h in (
        _p(
            name="nfv-2x24-ht",
            sockets=2,
            cores_per_socket=24,
            threads_per_core=2,
            numa_nodes=2,
            memory_gb=768,
            mhz=2800,
            cpu_model="Intel Xeon Gold 6342 (24 cores, HT)",
            description="NFV platform host: 2 x 24-core Xeon with hyper-threading, 2 NUMA nodes",
        ),
        _p(
            name="xeon-2x20-ht",
            sockets=2,
            cores_per_socket=20,
            threads_per_core=2,
            numa_nodes=2,
            memory_gb=512,
            mhz=2400,
            cpu_model="Intel Xeon Gold 6148 (20 cores, HT)",
            description="2 x 20-core Xeon, 256 GB per node (Denneman's vSphere 7/8 examples)",
        ),
        _p(
            name="xeon-2x10-ht",
            sockets=2,
            cores_per_socket=10,
            threads_per_core=2,
            numa_nodes=2,
            memory_gb=256,
            mhz=2200,
            cpu_model="Intel Xeon E5-2630 v4 (10 cores, HT)",
            description="2 x 10-core Xeon E5-2630 v4 (Denneman's NUMA deep-dive lab host)",
        ),
        _p(
            name="xeon-4x14-ht",
            sockets=4,
            cores_per_socket=14,
            threads_per_core=2,
            numa_nodes=4,
            memory_gb=1024,
            mhz=2000,
            cpu_model="Intel Xeon E7-4830 v4 (14 cores, HT)",
            description="4-socket, 14 cores per socket",
        ),
        _p(
            name="epyc-2x64-nps1",
            sockets=2,
            cores_per_socket=64,
            threads_per_core=2,
            numa_nodes=2,
            memory_gb=1024,
            mhz=2000,
            llc_per_node=16,
            cpu_model="AMD EPYC 7702 (64 cores, SMT, 16 CCX of 4 cores)",
            description="2-socket AMD EPYC Rome in NPS1: one NUMA node per socket, 16 LLC domains each",
        ),
        _p(
            name="epyc-2x64-nps4",
            sockets=2,
            cores_per_socket=64,
            threads_per_core=2,
            numa_nodes=8,
            memory_gb=1024,
            mhz=2000,
            llc_per_node=4,
            cpu_model="AMD EPYC 7702 (64 cores, SMT, 16 CCX of 4 cores)",
            description="2-socket AMD EPYC Rome in NPS4: four NUMA nodes of 16 cores per socket",
        ),
        _p(
            name="tiny-1x4",
            sockets=1,
            cores_per_socket=4,
            threads_per_core=1,
            numa_nodes=1,
            memory_gb=32,
            mhz=2400,
            description="a small single-node host for experiments and tests",
        ),
    )
}


def preset_names() -> list[str]:
    return sorted(PRESETS)
