"""Non-VM worlds in the pool tree: the ``host`` / ``user`` split and VM helper worlds in their VM's group.

The non-VM worlds (vmksim.kernel.worlds) must not change how the scenario's VMs share the host
among themselves: they take the CPU they really use, from a ``host`` branch beside the ``user``
branch that holds the scenario's pools and VMs, and a VM's helper worlds draw on their VM's
entitlement (vmksim.kernel.vmkernel._entitlements). Expected values below are derived from
weighted max-min fairness with reservations (esxi-scheduler.md §1.3) over the capacity the VMs
are left with, not read from a run.
"""

from __future__ import annotations

import numpy as np
import pytest

from vmksim.counters import WorldKind
from vmksim.kernel import EsxHost, boot
from vmksim.kernel.worlds import VM_WORLD_LOAD_WEIGHTS
from vmksim.scenario import scenario_from_mapping

MHZ = 1000
BUSY = {"kind": "constant", "demand_pct": 100}
#: Time a run measures after a warm-up of WARM_S (s), and the tolerance of a measured %RUN against
#: the fair share (percent of one PCPU): the scheduler divides time in quanta, so a hog's share over
#: a few seconds is met within a few percent (tests/test_sched_fairness.py uses the same order).
WARM_S, MEASURE_S, TOL_PCT = 1, 5, 3.0


def host(pcpus: int, cpu_pct: float, vm_worlds_pct: float) -> dict[str, object]:
    return {
        "sockets": 1, "cores_per_socket": pcpus, "threads_per_core": 1, "mhz": MHZ, "memory_gb": 16,
        "power_policy": "high-performance", "system": {"cpu_pct": cpu_pct, "vm_worlds_pct": vm_worlds_pct},
    }  # fmt: skip


def boot_hogs(h: dict[str, object], vms: list[dict[str, object]], **top: object) -> EsxHost:
    run = {"duration_s": WARM_S + MEASURE_S, "interval_s": 1, "seed": 5}
    vms = [{"vcpus": 2, "memory_gb": 1, "workload": BUSY, **vm} for vm in vms]
    return boot(scenario_from_mapping({"host": h, "run": run, "vm": vms, **top}), jit=False)


def run_pct(h: EsxHost) -> tuple[dict[str, float], dict[str, float], float]:
    """%RUN over the measured window: per VM of its vCPUs, per VM of its helper worlds, all non-VM worlds."""
    h.run_until(WARM_S * 1_000_000)
    s0 = h.snapshot()
    h.run_until((WARM_S + MEASURE_S) * 1_000_000)
    s1 = h.snapshot()
    pct = (s1.run - s0.run) * 100.0 / (s1.time_us - s0.time_us)
    vcpus: dict[str, float] = {}
    helpers: dict[str, float] = {}
    non_vm = 0.0
    for i, w in enumerate(h.worlds):
        g = h.groups[w.group]
        if w.name.startswith("idle"):
            continue  # the idle worlds run while a PCPU is idle: not load
        if not g.is_vm:
            non_vm += pct[i]
        elif w.kind is WorldKind.VCPU:
            vcpus[g.name] = vcpus.get(g.name, 0.0) + pct[i]
        else:
            helpers[g.name] = helpers.get(g.name, 0.0) + pct[i]
    return vcpus, helpers, non_vm


# --- the entitlements themselves (exact) -------------------------------------------------------
def test_host_branch_takes_its_demand_and_helpers_draw_on_their_vm() -> None:
    # examples/limits.toml on its default non-VM load: capacity 4 x 1000 MHz.
    cpu_pct, vm_pct = 10.0, 0.25
    vms = [
        {"name": "normal"},
        {"name": "reserved", "settings": {"sched.cpu.min": 1800}},
        {"name": "capped", "settings": {"sched.cpu.shares": 4000, "sched.cpu.max": 1200}},
    ]
    h = boot_hogs(host(4, cpu_pct, vm_pct), vms)
    ent = {lay.name: lay.entitlement_mhz for lay in h.layouts}
    non_vm = cpu_pct / 100 * MHZ  # the host branch: what the non-VM worlds use
    helper = vm_pct / 100 * MHZ  # each VM's helper worlds, inside the VM's own allocation
    user = 4 * MHZ - non_vm
    # capped is held at its limit, reserved at its reservation (θ·1000 is below it), normal gets the rest
    assert ent["capped"] == pytest.approx(1200 - helper)
    assert ent["reserved"] == pytest.approx(1800 - helper)
    assert ent["normal"] == pytest.approx(user - 1200 - 1800 - helper)
    assert sum(VM_WORLD_LOAD_WEIGHTS.values()) > 0  # the helper load really is carried by some worlds


def test_no_non_vm_load_leaves_the_scenarios_own_tree() -> None:
    h = boot_hogs(
        host(2, 0.0, 0.0),
        [
            {"name": "a", "settings": {"sched.cpu.shares": 2000}},
            {"name": "b", "settings": {"sched.cpu.shares": 1000}},
        ],
    )
    ent = {lay.name: lay.entitlement_mhz for lay in h.layouts}
    assert ent == pytest.approx({"a": 2 * MHZ * 2 / 3, "b": 2 * MHZ / 3})


# --- what the scheduler makes of them (measured against the rule) ------------------------------
def test_reservation_and_limit_hold_beside_the_default_non_vm_load() -> None:
    # The QA case (examples/limits.toml): with the old sibling groups the reserved VM took 200 %.
    vms = [
        {"name": "normal"},
        {"name": "reserved", "settings": {"sched.cpu.min": 1800}},
        {"name": "capped", "settings": {"sched.cpu.shares": 4000, "sched.cpu.max": 1200}},
    ]
    vcpus, helpers, non_vm = run_pct(boot_hogs(host(4, 10.0, 0.25), vms))
    reserved = 1800 / MHZ * 100 - helpers["reserved"]  # the reservation covers its helper worlds too
    capped = 1200 / MHZ * 100  # the limit budget holds the vCPUs (vmkernel._vm_limit)
    assert vcpus["reserved"] == pytest.approx(reserved, abs=TOL_PCT)
    assert vcpus["capped"] == pytest.approx(capped, abs=TOL_PCT)
    # normal: what is left of 4 PCPUs after the others and all the non-VM CPU that really ran
    left = 400.0 - vcpus["reserved"] - vcpus["capped"] - non_vm - sum(helpers.values())
    assert vcpus["normal"] == pytest.approx(left, abs=TOL_PCT)
    assert vcpus["normal"] == pytest.approx(400 - reserved - capped - 10.0 - 3 * 0.25, abs=TOL_PCT)


def test_pool_reservation_beside_a_vm_with_heavy_non_vm_load() -> None:
    # Pool "cp" (reservation 2500 MHz, default shares 4000) holds a 4-vCPU hog; a 4-vCPU hog with
    # 4000 shares sits beside it. Fair share of the 4000 - 300 MHz left for VMs: θ·4000 = 1850 for
    # each, below cp's reservation, so cp gets 2500 and the other VM the rest (1200).
    cpu_pct = 30.0
    vms = [{"name": "p", "vcpus": 4, "pool": "cp"}, {"name": "q", "vcpus": 4}]
    h = boot_hogs(host(4, cpu_pct, 0.0), vms, pool=[{"name": "cp", "reservation_mhz": 2500}])
    vcpus, _, non_vm = run_pct(h)
    assert non_vm == pytest.approx(cpu_pct, abs=TOL_PCT)  # the non-VM worlds get what they demand
    assert vcpus["p"] == pytest.approx(250.0, abs=TOL_PCT)
    assert vcpus["q"] == pytest.approx(400.0 - 250.0 - non_vm, abs=TOL_PCT)


@pytest.mark.parametrize(("cpu_pct", "vm_pct"), [(10.0, 0.25), (40.0, 5.0)])
def test_shares_keep_their_ratio_on_a_helper_heavy_host(cpu_pct: float, vm_pct: float) -> None:
    # Two 2-vCPU hogs with 2000:1000 shares on 2 PCPUs: each VM's group (vCPUs + helper worlds)
    # gets 2/3 and 1/3 of what the non-VM worlds leave (shares compare siblings only, §1.3).
    vms = [
        {"name": "hi", "settings": {"sched.cpu.shares": 2000}},
        {"name": "lo", "settings": {"sched.cpu.shares": 1000}},
    ]
    vcpus, helpers, non_vm = run_pct(boot_hogs(host(2, cpu_pct, vm_pct), vms))
    left = 200.0 - non_vm
    assert vcpus["hi"] + helpers["hi"] == pytest.approx(left * 2 / 3, abs=TOL_PCT)
    assert vcpus["lo"] + helpers["lo"] == pytest.approx(left / 3, abs=TOL_PCT)
    assert np.isclose(non_vm, cpu_pct, atol=TOL_PCT)


def test_non_vm_demand_beyond_the_host_shrinks_reservations_in_proportion() -> None:
    # 150 % of one PCPU of non-VM load on a 1-PCPU host: the host branch's floor (1500 MHz) and the
    # user branch's (the VM's 500 MHz reservation) exceed the 1000 MHz there is, so both are scaled
    # down alike (entitlement.water_fill); the VM still gets its part, less its helper worlds.
    one = {**host(1, 150.0, 0.25), "cores_per_socket": 1}
    h = boot_hogs(one, [{"name": "r", "vcpus": 1, "settings": {"sched.cpu.min": 500}}])
    expected = 500 * MHZ / (1500 + 500) - 0.25 / 100 * MHZ
    assert h.layouts[0].entitlement_mhz == pytest.approx(expected)
