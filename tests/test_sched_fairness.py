"""Mixed workloads: a light VM among CPU hogs gets its demand; the hogs split the rest by shares.

The expected outcomes are derived from the priority rule and weighted max-min fairness, not
read from the simulator:

* esxi-scheduler.md §1.3 (CPU51 quoted in RACK): a world's priority is consumed ÷ entitlement;
  a world that has consumed less than its entitlement is high priority and likely runs next.
  A light VM that asks for 5 % of a core while entitled to a half (or a quarter) is always
  below its entitlement, so when it wakes it runs (wake-up preemption), and its %RDY is near 0.
* sim-engines-and-theory.md §4.4: the fluid allocation is weighted max-min (water-filling).
  Every VM demanding less than its fair share gets its demand; the saturating VMs split what
  is left in proportion to their shares.

The light workload is ``onoff`` with deterministic bursts of 1 ms of CPU work and 19 ms halted,
so its demand is 1 / (1 + 19) = 5 % of a core (the idle time starts when a burst completes).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vmksim.kernel import simulate
from vmksim.scenario import Scenario, scenario_from_mapping
from vmksim.sched.params import SchedParams

BUSY = {"kind": "constant", "demand_pct": 100}
LIGHT = {"kind": "onoff", "busy_ms": 1, "idle_ms": 19, "distribution": "deterministic"}
LIGHT_DEMAND_PCT = 100 * 1 / (1 + 19)
#: %RDY a light VM may show: waiting behind another light VM's 1 ms burst now and then, never a quantum.
SMALL_READY = 1.5


def hog(name: str, shares: int | None = None) -> dict[str, Any]:
    settings = {} if shares is None else {"sched.cpu.shares": shares}
    return {"name": name, "vcpus": 1, "settings": settings, "workload": BUSY}


def light(name: str) -> dict[str, Any]:
    return {"name": name, "vcpus": 1, "workload": LIGHT}


try:  # a booted host also runs non-VM worlds and P-states; these keys switch them off
    from isolated import ISOLATED  # type: ignore[import-not-found, unused-ignore]
except ImportError:  # a host without them: the scenario's vCPUs are all that runs
    ISOLATED = {}


def scenario(host: dict[str, Any], vms: list[dict[str, Any]], duration: float = 10) -> Scenario:
    """The expected outcomes concern the scenario's vCPUs alone, at nominal clock."""
    run = {"duration_s": duration, "interval_s": duration, "seed": 1}
    return scenario_from_mapping({"host": {**host, **ISOLATED}, "run": run, "vm": vms})


def summaries(sc: Scenario, params: SchedParams | None = None) -> dict[str, Any]:
    return {r.name: r for r in simulate(sc, jit=False, params=params).summaries}


ONE_PCPU = {"sockets": 1, "cores_per_socket": 1}


def test_light_vm_beside_a_hog_on_one_pcpu_gets_its_demand() -> None:
    """The case of issue 10: it used to show %RUN 1.8 and %RDY 65 (each wake waited out a quantum)."""
    got = summaries(scenario(ONE_PCPU, [hog("hog"), light("light")]))
    assert got["light"].run == pytest.approx(LIGHT_DEMAND_PCT, abs=0.3)
    assert got["light"].ready < SMALL_READY
    # max-min: the hog gets everything the light VM leaves
    assert got["hog"].run == pytest.approx(100 - got["light"].run, abs=0.3)


def test_without_wake_up_preemption_the_light_vm_waits_out_the_quantum() -> None:
    """The mechanism, shown by switching it off: a granularity longer than the run disables it."""
    never = replace(SchedParams(), wake_preempt_us=10**9)
    got = summaries(scenario(ONE_PCPU, [hog("hog"), light("light")]), params=never)
    assert got["light"].ready > 30


def test_light_vm_among_hogs_with_unequal_shares() -> None:
    """Hogs at 2000 and 1000 shares and a light VM at 1000 on one PCPU.

    Entitlements 1/2, 1/4, 1/4: the light VM demands 5 % < 25 %, so it gets 5 %; the hogs
    split the remaining 95 % as 2 : 1.
    """
    got = summaries(scenario(ONE_PCPU, [hog("hi", 2000), hog("lo", 1000), light("light")]))
    assert got["light"].run == pytest.approx(LIGHT_DEMAND_PCT, abs=0.3)
    assert got["light"].ready < SMALL_READY
    rest = 100 - got["light"].run
    assert got["hi"].run == pytest.approx(rest * 2 / 3, abs=1.0)
    assert got["lo"].run == pytest.approx(rest * 1 / 3, abs=1.0)


def test_two_light_vms_and_two_hogs_on_one_pcpu() -> None:
    lights = [
        light("light-a"),
        {"name": "light-b", "vcpus": 1, "workload": {**LIGHT, "busy_ms": 2, "idle_ms": 38}},
    ]
    got = summaries(scenario(ONE_PCPU, [hog("h1"), hog("h2"), *lights]))
    for name in ("light-a", "light-b"):
        assert got[name].run == pytest.approx(LIGHT_DEMAND_PCT, abs=0.5)
        assert got[name].ready < SMALL_READY
    rest = 100 - got["light-a"].run - got["light-b"].run
    assert got["h1"].run == pytest.approx(rest / 2, abs=1.0)
    assert got["h2"].run == pytest.approx(rest / 2, abs=1.0)


def test_light_vm_among_hogs_on_several_pcpus() -> None:
    """Three hogs and a light VM on two PCPUs (one node): light 5 %, the hogs (200 − 5) / 3 each."""
    got = summaries(
        scenario({"sockets": 1, "cores_per_socket": 2}, [hog("h1"), hog("h2"), hog("h3"), light("light")])
    )
    assert got["light"].run == pytest.approx(LIGHT_DEMAND_PCT, abs=0.3)
    assert got["light"].ready < SMALL_READY
    for name in ("h1", "h2", "h3"):
        assert got[name].run == pytest.approx((200 - got["light"].run) / 3, abs=1.5)


def test_light_vm_among_hogs_with_hyper_threading() -> None:
    """Two hogs and a light VM on the two threads of one core.

    Both threads are always busy, so the light VM always runs beside a busy sibling and gets
    ``ht_progress`` (0.625) of a core's work per µs (§1.6): its 1 ms of work takes 1.6 ms of RUN,
    so %RUN = 1.6 / (1.6 + 19) and %USED (work done) = 1 / (1.6 + 19). The hogs share the rest of
    the two threads equally, each at 62.5 % charge.
    """
    p = SchedParams()
    burst = 1.0 / p.ht_progress
    host = {"sockets": 1, "cores_per_socket": 1, "threads_per_core": 2}
    got = summaries(scenario(host, [hog("h1"), hog("h2"), light("light")]))
    assert got["light"].run == pytest.approx(100 * burst / (burst + 19), abs=0.3)
    assert got["light"].used == pytest.approx(100 * 1 / (burst + 19), abs=0.3)
    assert got["light"].ready < SMALL_READY
    for name in ("h1", "h2"):
        assert got[name].run == pytest.approx((200 - got["light"].run) / 2, abs=1.0)
        assert got[name].used == pytest.approx(got[name].run * p.ht_charge, abs=0.3)


@pytest.mark.parametrize("threads", [1, 2])
def test_light_vm_among_hogs_on_two_numa_nodes(threads: int) -> None:
    """Two nodes of one core each (with and without HT), four hogs and a light VM.

    The light VM is homed on one node and may only preempt there; it still gets its demand
    (from its node's hogs) with a small %RDY; the hogs together get all the rest of the host.
    """
    host = {"sockets": 2, "cores_per_socket": 1, "threads_per_core": threads}
    hogs = [hog(f"h{i}") for i in range(4)]
    got = summaries(scenario(host, [*hogs, light("light")]))
    burst = 1.0 if threads == 1 else 1.0 / SchedParams().ht_progress
    assert got["light"].run == pytest.approx(100 * burst / (burst + 19), abs=0.3)
    assert got["light"].ready < SMALL_READY
    total = 2 * threads * 100
    assert sum(got[h["name"]].run for h in hogs) == pytest.approx(total - got["light"].run, abs=0.5)
    for h in hogs:
        assert got[h["name"]].run > 0.4 * total / 4  # no hog is starved


@settings(max_examples=12, deadline=None)
@given(shares=st.lists(st.sampled_from([500, 1000, 2000, 4000]), min_size=1, max_size=3))
def test_weighted_max_min_with_a_light_vm_for_any_shares(shares: list[int]) -> None:
    """Hogs with any shares and a light VM (1000 shares) on one PCPU.

    The light VM's fair share is 1000 / (1000 + Σ hog shares) ≥ 1000 / 13000 ≈ 7.7 % > its 5 %
    demand, so it gets its demand; the hogs split the rest in proportion to their shares.
    """
    hogs = [hog(f"h{i}", s) for i, s in enumerate(shares)]
    got = summaries(scenario(ONE_PCPU, [*hogs, light("light")], duration=6))
    assert got["light"].run == pytest.approx(LIGHT_DEMAND_PCT, abs=0.3)
    assert got["light"].ready < SMALL_READY
    rest = 100 - got["light"].run
    for i, s in enumerate(shares):
        assert got[f"h{i}"].run == pytest.approx(rest * s / sum(shares), abs=1.5)
