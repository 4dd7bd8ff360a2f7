"""NUMA memory placement at run time: node capacity, spill to remote nodes, N%L."""

from __future__ import annotations

from typing import Any

import pytest

from isolated import ISOLATED
from vmksim.kernel import simulate
from vmksim.numa.runtime import NumaRuntime
from vmksim.scenario import scenario_from_mapping
from vmksim.sched.params import SchedParams
from vmksim.topology import HostTopology


def one_vm(host: dict[str, Any], memory_gb: float, vcpus: int = 6) -> Any:
    return scenario_from_mapping(
        {
            "host": {**host, **ISOLATED},
            "run": {"duration_s": 2, "interval_s": 1, "seed": 1},
            "vm": [
                {
                    "name": "big",
                    "vcpus": vcpus,
                    "memory_gb": memory_gb,
                    "workload": {"kind": "constant", "demand_pct": 20, "active_memory_pct": 100},
                }
            ],
        }
    )


def test_memory_larger_than_a_node_spills_to_remote_nodes() -> None:
    # Case c23 (vnuma-cases-A.yaml): 6 vCPU / 96 GB on an EPYC with 64 GB nodes: one client,
    # "the scheduler tries to place 64 GB locally and the remaining 32 GB remotely".
    host = {"sockets": 1, "cores_per_socket": 32, "threads_per_core": 2, "numa_nodes": 4, "memory_gb": 256}
    result = simulate(one_vm(host, 96), jit=False)
    row = result.summary("big")
    assert row.local_pct == pytest.approx(100 * 64 / 96, abs=0.5)


def test_memory_that_fits_is_all_local() -> None:
    host = {"sockets": 1, "cores_per_socket": 32, "threads_per_core": 2, "numa_nodes": 4, "memory_gb": 256}
    assert simulate(one_vm(host, 48), jit=False).summary("big").local_pct == pytest.approx(100.0)


def test_spill_prefers_the_same_socket_and_unknown_memory_is_unlimited() -> None:
    host = HostTopology(
        "h", sockets=2, nodes_per_socket=2, cores_per_node=4, threads_per_core=1, memory_per_node_mb=1000
    )
    numa = NumaRuntime(host, groups=2, params=SchedParams())
    numa.add_client(0, 0, [0], [1], 1500.0, movable=True)
    assert numa.memory_on_node()[0].tolist() == [500.0, 1000.0, 0.0, 0.0]
    numa.add_client(1, 0, [1], [0], 800.0, movable=True)  # node 0 has 500 MB left; node 1 is full
    assert numa.memory_on_node()[1].tolist() == [500.0, 0.0, 300.0, 0.0]
    unknown = HostTopology(
        "u", sockets=1, nodes_per_socket=2, cores_per_node=4, threads_per_core=1, memory_per_node_mb=0
    )
    free = NumaRuntime(unknown, groups=1, params=SchedParams())
    free.add_client(0, 0, [0], [1], 10_000.0, movable=True)
    assert free.memory_on_node()[0].tolist() == [0.0, 10_000.0]


def test_remote_pages_migrate_home_only_into_free_memory() -> None:
    host = HostTopology(
        "h", sockets=1, nodes_per_socket=2, cores_per_node=4, threads_per_core=1, memory_per_node_mb=1000
    )
    numa = NumaRuntime(host, groups=2, params=SchedParams())
    big = numa.add_client(0, 0, [0], [0], 1200.0, movable=True)  # 200 MB spill to node 1
    numa.advance_memory(10_000_000)  # plenty of migration budget, but node 0 is full
    assert big.memory.tolist() == [1000.0, 200.0]
