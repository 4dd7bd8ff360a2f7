"""The reference scheduler (the specification) and the compiled core give identical counters.

Hypothesis generates small scenarios: hosts with and without HT, 1–4 NUMA nodes, shares
(numbers and levels), reservations, limits, resource pools (with their own shares,
reservations and limits), latency sensitivity high, CPU affinity, SMP VMs and every
workload kind (constant, onoff with each distribution, threads, periodic, trace, and the
daily modifier); some with a short ``Numa.RebalancePeriod`` so NUMA moves happen within the
run. Both engines run the same scenario and every counter of every sample must be equal.

Engine under test: the compiled core (numba) when numba is installed -- the semantics being
proven are the compiled ones; its compile is cached on disk by numba, so it costs once per
change of core.py, not per run. Without numba the same source runs interpreted.

Exactness: every counter is compared with ``np.array_equal``, floats included. Both engines
do the same IEEE double operations in the same order (settle, charge, vt), so no tolerance is
needed. Two things would break exact equality and are kept out of range here: the core orders
events by ``time << 22 | sequence mod 2**22`` (a tie straddling a sequence wrap after 4 M
pushes could reorder; these runs push far fewer), and event generations are compared modulo
2**32 (never reached).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from vmksim.errors import PlacementError
from vmksim.kernel import Kernel, ReferenceKernel
from vmksim.scenario import Scenario, scenario_from_mapping
from vmksim.sched.engine import numba_available

FIELDS = (
    "run", "ready", "max_limited", "costop", "wait", "idle", "used", "latency", "demand", "pcpu_used",
    "pcpu_busy", "core_busy", "switches", "migrations", "quantum_expires", "wakeups", "last_pcpu",
    "numa_migrations", "memory_on_node", "home_nodes",
)  # fmt: skip
TRACE = Path(__file__).parent / "fixtures" / "reference_trace.csv"
JIT = numba_available()


def workloads(trace: str) -> st.SearchStrategy[dict[str, Any]]:
    onoff = st.fixed_dictionaries(
        {
            "kind": st.just("onoff"),
            "busy_ms": st.sampled_from([0.3, 1, 4, 30]),
            "idle_ms": st.sampled_from([0.5, 3, 19]),
            "distribution": st.sampled_from(["exponential", "deterministic", "hyperexponential"]),
        }
    )
    kinds = st.one_of(
        onoff,
        st.fixed_dictionaries({"kind": st.just("constant"), "demand_pct": st.sampled_from([5, 40, 100])}),
        st.fixed_dictionaries({"kind": st.just("threads"), "threads": st.integers(1, 2), "busy_ms": st.just(2)}),
        st.fixed_dictionaries({"kind": st.just("periodic"), "period_ms": st.sampled_from([1, 5]), "work_ms": st.sampled_from([0.2, 3])}),
        st.just({"kind": "trace", "trace": trace, "column": "db"}),
    )  # fmt: skip
    daily = st.sampled_from([None, {"peak_hour": 0.0, "trough_pct": 10.0}])
    return st.tuples(kinds, daily).map(lambda kd: {**kd[0], **({"daily": kd[1]} if kd[1] else {})})


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    nodes = draw(st.integers(1, 4))
    cores = draw(st.integers(1, 3 if nodes < 3 else 2))
    threads = draw(st.sampled_from([1, 2]))
    pcpus = nodes * cores * threads
    host: dict[str, Any] = {
        "sockets": nodes,
        "cores_per_socket": cores,
        "threads_per_core": threads,
        "mhz": 1000,
    }
    if draw(st.booleans()):
        host["settings"] = {"Numa.RebalancePeriod": draw(st.sampled_from([100, 200]))}
    pools = []
    if draw(st.booleans()):
        pools.append(
            {
                "name": "gold",
                "shares": draw(st.sampled_from(["high", 3000])),
                "reservation_mhz": draw(st.sampled_from([0, 500])),
            }
        )
        pools.append({"name": "bronze", "shares": "low", "limit_mhz": draw(st.sampled_from([800, 2500]))})
    vms = [_vm(draw, i, pcpus, [p["name"] for p in pools]) for i in range(draw(st.integers(1, 5)))]
    run = {
        "duration_s": draw(st.sampled_from([0.3, 0.7])),
        "interval_s": 0.1,
        "seed": draw(st.integers(0, 50)),
    }
    return {"host": host, "run": run, "pool": pools, "vm": vms}  # fmt: skip


def _vm(draw: st.DrawFn, i: int, pcpus: int, pools: list[str]) -> dict[str, Any]:
    vcpus = draw(st.integers(1, min(3, pcpus)))
    settings: dict[str, Any] = {"sched.cpu.shares": draw(st.sampled_from([500, 1000, "high", "low", 4000]))}
    extra = draw(st.sampled_from(["none", "limit", "reservation", "lsh", "affinity"]))
    if extra == "limit":
        settings["sched.cpu.max"] = draw(st.sampled_from([200, 700, 1500]))
    elif extra == "reservation":
        settings["sched.cpu.min"] = 300
    elif extra == "lsh":
        settings.update({"sched.cpu.latencySensitivity": "high", "sched.cpu.min": vcpus * 1000})
    elif extra == "affinity":
        settings["sched.cpu.affinity"] = ",".join(str(p) for p in range(0, pcpus, 2))
    vm: dict[str, Any] = {"name": f"vm{i}", "vcpus": vcpus, "settings": settings}
    vm["workload"] = draw(workloads(str(TRACE)))
    if vm["workload"]["kind"] == "threads":  # the scenario refuses more busy threads than vCPUs
        vm["workload"]["threads"] = min(vm["workload"]["threads"], vcpus)
    if pools and draw(st.booleans()):
        vm["pool"] = draw(st.sampled_from(pools))
    return vm


def assert_same_counters(sc: Scenario, samples: int = 4) -> None:
    compiled = Kernel(sc, jit=JIT)
    reference = ReferenceKernel(sc)
    for k in range(1, samples + 1):
        t = sc.run.duration_us * k // samples
        compiled.run_until(t)
        reference.run_until(t)
        a, b = compiled.snapshot(), reference.snapshot()
        for name in FIELDS:
            x, y = getattr(a, name), getattr(b, name)
            same = np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y
            assert same, f"{name} differs at t={t} µs:\ncompiled  {x}\nreference {y}"


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(scenarios())
def test_reference_and_compiled_core_give_identical_counters(mapping: dict[str, Any]) -> None:
    sc = scenario_from_mapping(mapping)
    try:
        Kernel(sc, jit=JIT)
    except PlacementError:
        # admission control (shared by both engines) refused it: LS=high without free cores or
        # reservations above capacity; Hypothesis draws another, so 200 scenarios are compared
        assume(False)
    assert_same_counters(sc)


def test_a_placement_the_reference_refuses_is_refused_by_both() -> None:
    """The admission check is the kernel's, shared by both engines: LS=high without a reservation."""
    mapping = {
        "host": {"sockets": 1, "cores_per_socket": 1},
        "vm": [{"name": "ls", "vcpus": 1, "settings": {"sched.cpu.latencySensitivity": "high"}}],
    }
    with pytest.raises(PlacementError):
        ReferenceKernel(scenario_from_mapping(mapping))


@pytest.mark.parametrize("name", ["latency-sensitive.toml", "limits.toml", "nfv.toml"])
def test_examples_agree_for_two_simulated_seconds(name: str) -> None:
    from dataclasses import replace

    from vmksim.scenario import load_scenario

    sc = load_scenario(Path(__file__).parents[1] / "examples" / name)
    assert_same_counters(replace(sc, run=replace(sc.run, duration_s=2.0)), samples=2)
