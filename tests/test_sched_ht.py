"""Hyper-threading placement: vCPUs do not stay paired on one core while whole cores are idle."""

from __future__ import annotations

from pathlib import Path

import pytest

from isolated import ISOLATED
from vmksim.kernel import simulate
from vmksim.scenario import scenario_from_mapping


def busy(name: str) -> dict[str, object]:
    return {"name": name, "vcpus": 1, "workload": {"kind": "constant", "demand_pct": 100}}


def brief(name: str, trace: Path) -> dict[str, object]:
    # Busy for the first second, then halted for the rest of the run.
    return {"name": name, "vcpus": 1, "workload": {"kind": "trace", "trace": str(trace), "column": "brief"}}


def test_paired_vcpus_split_onto_a_core_that_frees_up(tmp_path: Path) -> None:
    # 2 cores x 2 threads. Four busy VMs fill all four threads: a and c share core 0, b and d core 1
    # (whole idle cores first, then the first idle thread). b and d halt after 1 s; a and c must not
    # stay paired on core 0 (charged 62.5 %) while core 1 is idle: the scheduler prefers whole idle
    # cores (esxi-scheduler.md §1.6), so one of them moves at its next quantum expiry.
    trace = tmp_path / "brief.csv"
    trace.write_text("time_s,brief\n0,100\n1,0\n")
    scenario = scenario_from_mapping(
        {
            "host": {"sockets": 1, "cores_per_socket": 2, "threads_per_core": 2, "memory_gb": 8, **ISOLATED},
            "run": {"duration_s": 10, "interval_s": 10, "seed": 1},
            "vm": [busy("a"), brief("b", trace), busy("c"), brief("d", trace)],
        }
    )
    result = simulate(scenario, jit=False)
    for name in ("a", "c"):
        row = result.summary(name)
        assert row.run == pytest.approx(100.0, abs=0.1)
        # 1 s shared (62.5 %) + 9 s alone (100 %) = 96.25 %; paired all along would be 62.5 %.
        assert row.used == pytest.approx(96.25, abs=1.0)
