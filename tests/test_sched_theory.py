"""The scheduler against results nobody here wrote: the machine-repairman queue and weighted max-min.

sim-engines-and-theory.md §4.4–4.5.
"""

from __future__ import annotations

import math

import pytest

from isolated import ISOLATED
from vmksim.kernel import simulate
from vmksim.scenario import scenario_from_mapping
from vmksim.sched.entitlement import EntitlementNode, entitle, water_fill

BUSY = {"kind": "constant", "demand_pct": 100}


def repairman_ready_pct(n: int, c: int, r: float) -> float:
    """Mean %RDY per VM in the finite-source M/M/c//N queue: 100 · Lq / N.

    P_k ∝ C(N,k) r^k for k ≤ c, N!/((N−k)! c! c^(k−c)) r^k for k > c; r = burst / think.
    """
    p = [
        math.comb(n, k) * r**k
        if k <= c
        else math.factorial(n) / (math.factorial(n - k) * math.factorial(c) * c ** (k - c)) * r**k
        for k in range(n + 1)
    ]
    lq = sum((k - c) * pk for k, pk in enumerate(p) if k > c) / sum(p)
    return 100.0 * lq / n


def test_repairman_formula_anchor() -> None:
    # hand-computed: N=4, c=2, r=1/3 -> Lq = 0.2963/3.2593 = 0.0909 -> 2.27 % per VM
    assert repairman_ready_pct(4, 2, 1 / 3) == pytest.approx(2.273, abs=0.001)


@pytest.mark.parametrize(("n", "c", "busy_ms", "idle_ms"), [(6, 2, 10, 20), (4, 1, 5, 15)])
def test_ready_time_matches_the_machine_repairman_queue(
    n: int, c: int, busy_ms: float, idle_ms: float
) -> None:
    """One NUMA node, no HT, N 1-vCPU VMs with exponential bursts (CPU work) and think (idle) times.

    Discipline realised: work-conserving (a free PCPU never idles while a vCPU is READY), READY
    vCPUs served lowest-virtual-time first with a 50 ms preemptive quantum. Scheduling never looks
    at remaining work, and exponential work is memoryless, so the number of runnable vCPUs follows
    the same birth-death chain as FCFS M/M/c//N and the mean ready fraction is Lq/N.
    Seeds 1 and 2, 240 simulated seconds each; tolerance 5 % relative.
    """
    expected = repairman_ready_pct(n, c, busy_ms / idle_ms)
    got = []
    for seed in (1, 2):
        sc = scenario_from_mapping(
            {
                "host": {"sockets": 1, "cores_per_socket": c, **ISOLATED},
                "run": {"duration_s": 240, "interval_s": 240, "seed": seed},
                "vm": [
                    {
                        "name": "vm",
                        "count": n,
                        "vcpus": 1,
                        "workload": {"kind": "onoff", "busy_ms": busy_ms, "idle_ms": idle_ms},
                    }
                ],
            }
        )
        rows = simulate(sc, jit=False).summaries
        got.append(sum(r.ready for r in rows) / n)
    assert sum(got) / len(got) == pytest.approx(expected, rel=0.05)


def test_water_fill_floors_caps_and_shares() -> None:
    # a = clamp(θ·s, floor, cap), Σa = 4000: θ = 1 gives 1000 + 1800 + 1200.
    assert water_fill(4000, [1000, 1000, 2000], [0, 1800, 0], [2000, 2000, 1200]) == pytest.approx(
        [1000, 1800, 1200]
    )
    assert water_fill(10_000, [1, 1], [0, 0], [3000, 2000]) == [3000, 2000]  # no contention: everyone capped


def test_priority_pie_through_pools() -> None:
    # Two pools High (8000) : Normal (4000) on 4000 MHz; three VMs in High, one in Normal (§1.3).
    high = EntitlementNode(
        "high", 8000, children=tuple(EntitlementNode(f"h{i}", 2000, cap_mhz=2000) for i in range(3))
    )
    normal = EntitlementNode("normal", 4000, children=(EntitlementNode("n0", 2000, cap_mhz=2000),))
    got = entitle(4000, [high, normal])
    assert got == pytest.approx({"h0": 8000 / 9, "h1": 8000 / 9, "h2": 8000 / 9, "n0": 4000 / 3})


def _saturated(vms: list[dict], pools: list[dict] | None = None) -> dict[str, float]:
    sc = scenario_from_mapping(
        {
            "host": {"sockets": 1, "cores_per_socket": 4, "mhz": 1000, **ISOLATED},
            "run": {"duration_s": 20, "interval_s": 20, "seed": 1},
            "pool": pools or [],
            "vm": vms,
        }
    )
    return {r.name: r.used * 10 for r in simulate(sc, jit=False).summaries}  # % of one core -> MHz


def test_saturating_vms_get_their_weighted_max_min_share() -> None:
    got = _saturated(
        [
            {"name": "a", "vcpus": 2, "settings": {"sched.cpu.shares": 1000}, "workload": BUSY},
            {
                "name": "b",
                "vcpus": 2,
                "settings": {"sched.cpu.shares": 1000, "sched.cpu.min": 1800},
                "workload": BUSY,
            },
            {
                "name": "c",
                "vcpus": 2,
                "settings": {"sched.cpu.shares": 2000, "sched.cpu.max": 1200},
                "workload": BUSY,
            },
        ]
    )
    # 3 %: a limited VM released at a limit-period boundary waits for a quantum end to get a PCPU back
    assert got == pytest.approx({"a": 1000, "b": 1800, "c": 1200}, rel=0.03)


def test_pools_divide_by_pool_shares_not_vm_count() -> None:
    got = _saturated(
        [
            {"name": "h", "count": 3, "vcpus": 2, "pool": "high", "workload": BUSY},
            {"name": "n", "vcpus": 2, "pool": "normal", "workload": BUSY},
        ],
        pools=[{"name": "high", "shares": "high"}, {"name": "normal", "shares": "normal"}],
    )
    assert got == pytest.approx({"h-1": 8000 / 9, "h-2": 8000 / 9, "h-3": 8000 / 9, "n": 4000 / 3}, rel=0.03)
