"""The simulated VMkernel: identities on every world and sample, documented ESXi behaviour, engines agree."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from isolated import ISOLATED
from vmksim.errors import PlacementError
from vmksim.kernel import Kernel, simulate
from vmksim.scenario import Scenario, scenario_from_mapping
from vmksim.sched import core as C
from vmksim.sched.engine import numba_available

BUSY = {"kind": "constant", "demand_pct": 100}
IDLE = {"kind": "constant", "demand_pct": 0}


def scenario(host: dict[str, Any], vms: list[dict[str, Any]], duration: float = 10, **extra: Any) -> Scenario:
    run = {"duration_s": duration, "interval_s": duration / 5, "seed": 1}
    return scenario_from_mapping({"host": {**host, **ISOLATED}, "run": run, "vm": vms, **extra})


def rows(sc: Scenario, jit: bool = False) -> dict[str, tuple[float, ...]]:
    result = simulate(sc, jit=jit)
    fields = ("used", "run", "ready", "costop", "max_limited", "wait", "latency")
    return {r.name: tuple(round(getattr(r, f), 1) for f in fields) for r in result.summaries}


# --- documented behaviour (esxi-scheduler.md) ---------------------------------------------------


def test_shares_2000_to_1000_on_one_saturated_core_give_2_to_1() -> None:
    sc = scenario(
        {"sockets": 1, "cores_per_socket": 1},
        [
            {"name": "hi", "vcpus": 1, "settings": {"sched.cpu.shares": 2000}, "workload": BUSY},
            {"name": "lo", "vcpus": 1, "settings": {"sched.cpu.shares": 1000}, "workload": BUSY},
        ],
    )
    # used, run, ready, costop, mlmtd, wait, lat_c
    got = rows(sc)
    assert got["hi"] == pytest.approx((66.7, 66.7, 33.3, 0.0, 0.0, 0.0, 33.3), abs=0.5)
    assert got["lo"] == pytest.approx((33.3, 33.3, 66.7, 0.0, 0.0, 0.0, 66.7), abs=0.5)


def test_two_busy_vcpus_on_the_threads_of_one_core_run_100_used_62_5() -> None:
    sc = scenario(
        {"sockets": 1, "cores_per_socket": 1, "threads_per_core": 2},
        [{"name": "a", "vcpus": 1, "workload": BUSY}, {"name": "b", "vcpus": 1, "workload": BUSY}],
    )
    expected = (62.5, 100.0, 0.0, 0.0, 0.0, 0.0, 37.5)  # %LAT_C holds the 37.5 % HT loss
    assert rows(sc) == {"a": expected, "b": expected}
    snap = simulate(sc, jit=False).snapshots[-1]
    assert snap.pcpu_used / snap.time_us == pytest.approx([0.5, 0.5])  # PCPU USED halves per thread
    assert snap.core_busy / snap.time_us == pytest.approx([1.0])


def test_one_vcpu_alone_on_a_core_is_charged_in_full() -> None:
    sc = scenario(
        {"sockets": 1, "cores_per_socket": 2, "threads_per_core": 2},
        [{"name": "a", "vcpus": 1, "workload": BUSY}],
    )
    assert rows(sc) == {"a": (100.0, 100.0, 0.0, 0.0, 0.0, 0.0, 0.0)}


def test_limit_of_half_a_core_on_an_idle_host() -> None:
    sc = scenario(
        {"sockets": 1, "cores_per_socket": 2, "mhz": 2000},
        [{"name": "capped", "vcpus": 1, "settings": {"sched.cpu.max": 1000}, "workload": BUSY}],
    )
    _used, run, ready, costop, mlmtd, _wait, lat = rows(sc)["capped"]
    assert run == pytest.approx(50, abs=1) and mlmtd == pytest.approx(50, abs=1)
    assert ready >= mlmtd and costop == 0 and lat == pytest.approx(0, abs=0.5)  # %LAT_C excludes MLMTD


def _starved(threads: int | None) -> Scenario:
    # A high-shares VM pinned to PCPU 3 leaves the 4-vCPU VM three PCPUs for four vCPUs.
    smp = {
        "kind": "threads",
        "threads": threads,
        "busy_ms": 50,
        "idle_ms": 0.001,
        "distribution": "deterministic",
    }
    return scenario(
        {"sockets": 1, "cores_per_socket": 4},
        [
            {"name": "smp", "vcpus": 4, "workload": smp if threads is not None else BUSY},
            {
                "name": "pin",
                "vcpus": 1,
                "settings": {"sched.cpu.affinity": "3", "sched.cpu.shares": 20000},
                "workload": BUSY,
            },
        ],
    )


def test_starved_vcpu_makes_its_siblings_costop() -> None:
    result = simulate(_starved(None), jit=False)
    vcpus = [r for r in result.vcpu_summaries if r.vm == "smp"]
    assert sum(r.run for r in vcpus) == pytest.approx(300, abs=1)
    assert all(r.costop > 5 for r in vcpus)
    assert result.summary("pin").costop == 0


def test_idle_sibling_causes_no_costop() -> None:
    result = simulate(_starved(3), jit=False)
    assert result.summary("smp").costop == 0
    assert result.summary("smp").ready == pytest.approx(0, abs=0.1)


def test_latency_sensitivity_high_gets_whole_cores_and_no_ready() -> None:
    host = {"sockets": 1, "cores_per_socket": 4, "threads_per_core": 2, "mhz": 2000}
    ls = {"sched.cpu.latencySensitivity": "high", "sched.cpu.min": 4000}
    vms = [
        {"name": "ls", "vcpus": 2, "settings": ls, "workload": {"kind": "onoff", "busy_ms": 1, "idle_ms": 1}},
        {"name": "o", "count": 6, "vcpus": 1, "workload": BUSY},
    ]
    result = simulate(scenario(host, vms), jit=False)
    assert result.summary("ls").ready == 0 and result.summary("ls").costop == 0
    excl = result.kernel.layouts[0].exclusive_pcpus
    assert len(excl) == 2
    snap = result.snapshots[-1]
    for p in excl:  # the sibling thread of every exclusive PCPU stays idle
        assert snap.pcpu_busy[p ^ 1] == 0
    # the six others share the two remaining cores (4 threads): 400 % RUN among 6 vCPUs
    others = [r for r in result.summaries if r.name != "ls"]
    assert sum(r.run for r in others) == pytest.approx(400, abs=1)
    assert sum(r.ready for r in others) == pytest.approx(200, abs=1)


def test_latency_sensitivity_high_needs_a_full_reservation() -> None:
    sc = scenario(
        {"sockets": 1, "cores_per_socket": 4, "mhz": 2000},
        [{"name": "ls", "vcpus": 2, "settings": {"sched.cpu.latencySensitivity": "high"}}],
    )
    with pytest.raises(PlacementError, match=r"sched\.cpu\.min = 4000"):
        Kernel(sc)


def test_rebalancer_moves_a_client_and_locality_recovers() -> None:
    host = {"sockets": 2, "cores_per_socket": 4, "numa_nodes": 2, "memory_gb": 64}
    vms = [
        {"name": "b1", "vcpus": 4, "memory_gb": 0.5, "workload": BUSY},
        {"name": "i1", "vcpus": 4, "memory_gb": 0.5, "workload": IDLE},
        {"name": "b2", "vcpus": 4, "memory_gb": 0.5, "workload": BUSY},
        {"name": "i2", "vcpus": 4, "memory_gb": 0.5, "workload": IDLE},
    ]
    kernel = Kernel(scenario(host, vms, duration=20))
    assert [c.home for c in kernel.numa.clients] == [0, 1, 0, 1]  # the planner put both busy VMs on node 0
    locality = []
    for t in (1, 2, 4, 6, 8, 10, 20):
        kernel.run_until(t * 1_000_000)
        snap = kernel.snapshot()
        mem = snap.memory_on_node[0]
        locality.append(round(100 * mem[snap.home_nodes[0][0]] / mem.sum()))
    assert snap.numa_migrations.tolist() == [1, 0, 0, 0]
    assert snap.home_nodes[0] == (1,)
    # moved at t = 2 s: N%L drops to 0, then pages migrate at 64 MB/s (512 MB in 8 s)
    assert locality == [100, 0, 25, 50, 75, 100, 100]


# --- identities (DESIGN.md "Worlds and states"), property-tested --------------------------------

workloads = st.sampled_from(
    [
        {"kind": "onoff", "busy_ms": 3, "idle_ms": 5},
        {"kind": "onoff", "busy_ms": 30, "idle_ms": 5, "distribution": "hyperexponential"},
        {"kind": "constant", "demand_pct": 100},
        {"kind": "constant", "demand_pct": 40, "slice_ms": 2},
        {"kind": "periodic", "period_ms": 1, "work_ms": 0.6},
        {"kind": "threads", "threads": 1, "busy_ms": 4, "idle_ms": 1},
    ]
)


@st.composite
def small_scenarios(draw: st.DrawFn) -> Scenario:
    ht = draw(st.sampled_from([1, 2]))
    nodes = draw(st.sampled_from([1, 2]))
    cores = draw(st.integers(1, 3))
    host = {
        "sockets": nodes,
        "cores_per_socket": cores,
        "threads_per_core": ht,
        "numa_nodes": nodes,
        "mhz": 1000,
    }
    vms = []
    for i in range(draw(st.integers(1, 4))):
        settings: dict[str, Any] = {"sched.cpu.shares": draw(st.sampled_from([500, 1000, 4000]))}
        if draw(st.booleans()):
            settings["sched.cpu.max"] = draw(st.sampled_from([300, 700, 1500]))
        vcpus = draw(st.integers(1, min(3, nodes * cores * ht)))
        vms.append({"name": f"vm{i}", "vcpus": vcpus, "settings": settings, "workload": draw(workloads)})
    run = {
        "duration_s": draw(st.sampled_from([0.5, 1.3])),
        "interval_s": 0.25,
        "seed": draw(st.integers(0, 99)),
    }
    return scenario_from_mapping({"host": {**host, **ISOLATED}, "run": run, "vm": vms})


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_scenarios())
def test_state_identities_hold_on_every_world_and_sample(sc: Scenario) -> None:
    kernel = Kernel(sc, jit=False)
    prev = kernel.snapshot()
    one_vcpu = np.array([kernel.groups[w.group].vcpus == 1 for w in kernel.worlds])
    t = 0
    while t < sc.run.duration_us:
        t = min(t + sc.run.interval_us, sc.run.duration_us)
        kernel.run_until(t)
        snap = kernel.snapshot()
        assert snap.time_us == t
        # every world in exactly one state at every instant
        assert np.array_equal(snap.run + snap.ready + snap.costop + snap.wait, np.full(len(kernel.worlds), t))
        assert np.all(snap.max_limited <= snap.ready)
        assert np.all(snap.costop[one_vcpu] == 0)
        # counters never go backwards
        for name in ("run", "ready", "costop", "wait", "max_limited", "pcpu_busy", "core_busy"):
            assert np.all(getattr(snap, name) >= getattr(prev, name)), name
        assert np.all(snap.used >= prev.used - 1e-6)
        # no PCPU runs two worlds: the RUN time of all worlds is exactly the busy time of all PCPUs,
        # and no PCPU is busy longer than the elapsed time
        assert int(snap.run.sum()) == int(snap.pcpu_busy.sum())
        assert np.all(snap.pcpu_busy <= t)
        running = kernel.pcpu_worlds()
        busy = running[running >= 0]
        assert len(set(busy.tolist())) == len(busy)
        assert set(np.nonzero(kernel.world_states() == C.RUN)[0].tolist()) == set(busy.tolist())
        # charging: used <= run, and %USED + %LAT_C = %RUN + RDY - MLMTD + CSTP (nominal frequency)
        assert np.all(snap.used <= snap.run + 1e-6)
        assert np.allclose(snap.used + snap.latency, snap.run + snap.ready - snap.max_limited + snap.costop)
        prev = snap


# --- determinism and the two engines -------------------------------------------------------------

NFV_SMALL = {
    "host": {
        "sockets": 2,
        "cores_per_socket": 4,
        "threads_per_core": 2,
        "numa_nodes": 2,
        "memory_gb": 64,
        **ISOLATED,
    },
    "run": {"duration_s": 3, "interval_s": 1, "seed": 4},
    "pool": [{"name": "gold", "shares": "high", "limit_mhz": 9000}],
    "vm": [
        {
            "name": "vnf",
            "count": 3,
            "vcpus": 4,
            "pool": "gold",
            "workload": {"kind": "onoff", "busy_ms": 2, "idle_ms": 2},
        },
        {
            "name": "ctl",
            "count": 2,
            "vcpus": 2,
            "workload": {"kind": "periodic", "period_ms": 1, "work_ms": 0.5},
        },
        {
            "name": "db",
            "vcpus": 6,
            "settings": {"sched.cpu.max": 5000},
            "workload": {"kind": "constant", "demand_pct": 90},
        },
    ],
}


def _all_counters(sc: Scenario, jit: bool) -> list[Any]:
    result = simulate(sc, jit=jit)
    out = []
    for snap in result.snapshots:
        for name in (
            "run",
            "ready",
            "costop",
            "wait",
            "max_limited",
            "used",
            "latency",
            "pcpu_used",
            "pcpu_busy",
        ):
            out.append(getattr(snap, name).tolist())
        out.append(snap.numa_migrations.tolist())
    return out


def test_same_scenario_and_seed_give_identical_counters() -> None:
    sc = scenario_from_mapping(NFV_SMALL)
    assert _all_counters(sc, False) == _all_counters(sc, False)
    other = sc.with_run(seed=5)
    assert _all_counters(sc, False) != _all_counters(other, False)


@pytest.mark.skipif(not numba_available(), reason="needs numba (a core dependency)")
def test_compiled_and_interpreted_engines_agree_exactly() -> None:
    sc = scenario_from_mapping(NFV_SMALL)
    assert _all_counters(sc, True) == _all_counters(sc, False)


def test_sampling_interval_does_not_change_results() -> None:
    a = scenario_from_mapping(NFV_SMALL)
    b = a.with_run(interval_s=0.3)
    assert _all_counters(a, False)[-10:] == _all_counters(b, False)[-10:]


def test_growing_the_event_heap_mid_run_does_not_change_results() -> None:
    sc = scenario_from_mapping(NFV_SMALL)
    plain = simulate(sc, jit=False).kernel.kernel.snapshot()  # the booted host's own Kernel
    kernel = Kernel(sc, jit=False)
    kernel.run_until(sc.run.duration_us // 2)
    kernel.state._grow_heap()  # empty slots past the last entry must keep the EMPTY key
    kernel.run_until(sc.run.duration_us)
    grown = kernel.snapshot()
    for name in ("run", "ready", "costop", "wait", "used", "wakeups"):
        assert getattr(grown, name).tolist() == getattr(plain, name).tolist(), name
