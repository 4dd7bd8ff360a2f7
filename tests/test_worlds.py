"""Non-VM worlds, the esxtop view of a simulated host, power management and the scenario keys they read."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest

from conftest import sample_run
from vmksim.errors import ScenarioError
from vmksim.kernel import EsxHost, boot
from vmksim.kernel.power import PSTATE_COUNT, pstate_table
from vmksim.scenario import DEFAULT_START, DEFAULT_SYSTEM_CPU_PCT, PowerPolicy, scenario_from_mapping
from vmksim.stats.sample import ColumnIndex
from vmksim.stats.sampler import Sampler

HOST = {"sockets": 1, "cores_per_socket": 2, "threads_per_core": 1, "memory_gb": 8}


def mapping(**extra: object) -> dict[str, object]:
    base: dict[str, object] = {"host": dict(HOST), "vm": [{"name": "a", "vcpus": 1, "memory_gb": 1}]}
    base.update(extra)
    return base


# --- scenario keys -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (datetime(2018, 3, 4, 5, 6, 7, tzinfo=UTC), datetime(2018, 3, 4, 5, 6, 7, tzinfo=UTC)),
        ("2018-03-04T05:06:07", datetime(2018, 3, 4, 5, 6, 7, tzinfo=UTC)),  # no offset: UTC
        ("2018-03-04T07:06:07+02:00", datetime(2018, 3, 4, 5, 6, 7, tzinfo=UTC)),
    ],
)
def test_run_start_is_a_utc_date_time(raw: object, expected: datetime) -> None:
    sc = scenario_from_mapping(mapping(run={"start": raw}))
    assert sc.run.start == expected
    assert scenario_from_mapping(mapping()).run.start == DEFAULT_START  # fixed default: deterministic


def test_host_system_and_power_policy_keys() -> None:
    sc = scenario_from_mapping(mapping())
    assert sc.system.cpu_pct == DEFAULT_SYSTEM_CPU_PCT and sc.power_policy is PowerPolicy.BALANCED
    host = {**HOST, "system": {"cpu_pct": 0}, "power_policy": "low-power"}
    sc = scenario_from_mapping(mapping(host=host))
    assert sc.system.cpu_pct == 0 and sc.power_policy is PowerPolicy.LOW_POWER


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"run": {"start": "yesterday"}}, "run.start: must be a date-time"),
        ({"host": {**HOST, "system": {"cpu_pct": -1}}}, "host.system.cpu_pct: must be >= 0"),
        ({"host": {**HOST, "system": {"cpu": 1}}}, "unknown key 'cpu'"),
        ({"host": {**HOST, "power_policy": "turbo"}}, "host.power_policy: must be one of balanced"),
    ],
)
def test_bad_keys_name_the_key(extra: dict[str, object], message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        scenario_from_mapping(mapping(**extra), source="s.toml")


# --- the esxtop view of a booted host -------------------------------------------------------
BUSY = {"kind": "constant", "demand_pct": 100}
LIGHT = {"kind": "onoff", "busy_ms": 1, "idle_ms": 19}


def booted(
    host: dict[str, object], vms: list[dict[str, object]], duration: float = 4, **top: object
) -> EsxHost:
    run = {"duration_s": duration, "interval_s": 1, "seed": 3}
    return boot(scenario_from_mapping({"host": host, "run": run, "vm": vms, **top}), jit=False)


def sample(h: EsxHost, seconds: int = 2, all_counters: bool = True) -> tuple[ColumnIndex, np.ndarray]:
    """Run *seconds* one by one and return the last 1-second sample."""
    sampler = Sampler(h, all_counters=all_counters)
    rows = list(sample_run(sampler, h, 1_000_000, seconds))
    return ColumnIndex(sampler.columns), rows[-1].values


def test_a_real_hosts_groups_and_vm_members() -> None:
    # esxtop.md §1.4b: system, helper, drivers, ft, vmotion, user worlds GID:name.PID, one group per VM
    # whose members are vmx, NetWorld, vmast, vthread, mks, svga, the vCPUs and the storage world.
    vms = [{"name": f"vm{n}", "vcpus": n, "memory_gb": 1, "workload": LIGHT} for n in (1, 2, 3, 4)]
    h = booted({**HOST, "cores_per_socket": 4}, vms, esxi="6.5")
    names = [g.name for g in h.groups]
    assert names[:5] == ["system", "helper", "drivers", "ft", "vmotion"]
    assert [g.group_id for g in h.groups[:5]] == [1, 8, 9, 10, 11]
    assert {n.partition(".")[0] for n in names if "." in n} >= {"hostd", "vpxa", "sshd", "esxtop", "init"}
    members = {g.name: sum(1 for w in h.worlds if h.groups[w.group] is g) for g in h.groups}
    assert [members[f"vm{n}"] for n in (1, 2, 3, 4)] == [8, 9, 10, 11]
    assert members["system"] == 4 + 2  # idle0..idle3 (one per PCPU) and the kernel's own worlds
    vm2 = [w.name for w in h.worlds if h.groups[w.group].name == "vm2"]
    vmx = next(w.world_id for w in h.worlds if w.name == "vmx" and h.groups[w.group].name == "vm2")
    assert vm2 == ["vmx", f"NetWorld-VM-{vmx}", f"vmast.{vmx}", f"vmx-vthread-{vmx}", "vmx-mks:vm2",
                   "vmx-svga:vm2", "vmx-vcpu-0:vm2", "vmx-vcpu-1:vm2", f"PVSCSI-{vmx}:0"]  # fmt: skip
    wids = [w.world_id for w in h.worlds if h.groups[w.group].name == "vm2"]
    assert wids == [
        vmx + k for k in range(len(wids))
    ]  # creation order: vmx-vcpu-0 is vmx + 6 (esxtop.md §1.3)
    old = booted(dict(HOST), vms[:1], esxi="6.0")
    assert [(g.group_id, g.name) for g in old.groups[:2]] == [(1, "idle"), (2, "system")]  # the 6.0 header


ONE_PCPU = {"sockets": 1, "cores_per_socket": 1, "memory_gb": 4, "power_policy": "high-performance"}


def _hog_and_non_vm_run(pct: float) -> tuple[float, float]:
    h = booted(
        {**ONE_PCPU, "system": {"cpu_pct": pct, "vm_worlds_pct": 0}},
        [{"name": "hog", "vcpus": 1, "workload": BUSY}],
    )
    idx, v = sample(h, 3)
    non_vm = sum(idx.value(v, "Group Cpu", g, "% Run") for g in idx.instances("Group Cpu")
                 if g is not None and g != "10000:hog" and g != "1:system")  # fmt: skip
    non_vm += sum(idx.value(v, "Vcpu", w, "% Run") for w in idx.instances("Vcpu")
                  if w is not None and w.startswith("1:system:") and ":idle" not in w)  # fmt: skip
    return idx.value(v, "Group Cpu", "10000:hog", "% Run"), non_vm


def test_non_vm_load_takes_real_cpu_from_a_hog() -> None:
    hog, non_vm = _hog_and_non_vm_run(30.0)
    assert non_vm > 5.0  # the non-VM worlds really run ...
    assert hog + non_vm == pytest.approx(100.0, abs=0.5)  # ... on the one PCPU the hog wants whole
    hog, non_vm = _hog_and_non_vm_run(0.0)  # no load: the groups still appear, the hog has the PCPU
    assert non_vm == 0.0 and hog == pytest.approx(100.0, abs=0.1)


def test_non_vm_worlds_get_their_demand_beside_a_hog() -> None:
    # Max-min fair share on one PCPU: the light non-VM worlds demand cpu_pct in total, below their
    # fair share, so they get it and the hog gets the rest (esxi-scheduler.md §1.3).
    hog, non_vm = _hog_and_non_vm_run(30.0)
    assert non_vm == pytest.approx(30.0, abs=3) and hog == pytest.approx(70.0, abs=3)


def test_non_vm_used_is_cpu_pct_and_identities_hold() -> None:
    host = {**HOST, "power_policy": "high-performance", "system": {"cpu_pct": 20}}
    h = booted(host, [{"name": f"vm{i}", "vcpus": 1 + i % 2, "memory_gb": 1, "workload": LIGHT} for i in range(6)],
               duration=10)  # fmt: skip
    snap0 = h.snapshot()
    h.run_until(10_000_000)
    snap = h.snapshot()
    dt = snap.time_us - snap0.time_us
    pct = {k: (getattr(snap, k) - getattr(snap0, k)) * 100.0 / dt
           for k in ("run", "ready", "costop", "wait", "idle", "vmwait", "swpwait", "used")}  # fmt: skip
    sys_, ovl = (snap.system - snap0.system) * 100 / dt, (snap.overlap - snap0.overlap) * 100 / dt  # type: ignore[operator]
    vm_group = np.array([h.groups[w.group].is_vm for w in h.worlds])
    # total %USED of the non-VM groups is cpu_pct at nominal clock ([host.system] cpu_pct)
    assert pct["used"][~vm_group].sum() == pytest.approx(20.0, rel=0.1)
    # esxi-scheduler.md §3.3 item 1 per world; WAIT = IDLE + VMWAIT + SWPWT for vCPU worlds
    assert np.allclose(pct["run"] + pct["ready"] + pct["costop"] + pct["wait"], 100.0)
    vcpu = np.array([w.kind.value == "vcpu" for w in h.worlds])
    assert np.allclose((pct["idle"] + pct["vmwait"] + pct["swpwait"])[vcpu], pct["wait"][vcpu])
    assert (pct["vmwait"][vcpu] > 0).all() and (pct["idle"][~vcpu] == 0).all()
    # %SYS done for VMs is taken as %OVRLP from the worlds it interrupted: total %USED is conserved
    assert sys_.sum() > 0 and sys_.sum() == pytest.approx(ovl.sum())
    assert pct["used"].sum() == pytest.approx((snap.pcpu_used - snap0.pcpu_used).sum() * 100 / dt, rel=1e-6)
    # the idle worlds run exactly when their PCPU is idle
    idle_run = sum(pct["run"][i] for i, w in enumerate(h.worlds) if w.name.startswith("idle"))
    util = (snap.pcpu_busy - snap0.pcpu_busy) * 100.0 / dt
    assert idle_run == pytest.approx((100.0 - util).sum())


def test_counters_do_not_depend_on_how_often_they_are_read() -> None:
    vms = [{"name": "a", "vcpus": 2, "memory_gb": 1, "workload": LIGHT}]
    often, rarely = booted(dict(HOST), vms), booted(dict(HOST), vms)
    for t in range(1, 31):
        often.run_until(t * 100_000)
        often.snapshot()
    rarely.run_until(3_000_000)
    a, b = often.snapshot(), rarely.snapshot()
    for name in ("used", "run", "system", "overlap", "vmwait", "pcpu_used", "cstate_time", "pstate_time"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


# --- power management ---------------------------------------------------------------------------
def _power_sample(policy: str, workload: dict[str, object]) -> tuple[ColumnIndex, np.ndarray, EsxHost]:
    host = {**HOST, "power_policy": policy, "system": {"cpu_pct": 0, "vm_worlds_pct": 0}}
    h = booted(host, [{"name": "a", "vcpus": 2, "memory_gb": 1, "workload": workload}])
    idx, v = sample(h, 3)  # the last second: the governor has had its first periods
    return idx, v, h


def test_power_states_and_frequencies_are_listed_as_esxtop_does() -> None:
    idx, v, h = _power_sample("balanced", LIGHT)
    table = pstate_table(h.host.mhz)
    assert (
        table[0] == h.host.mhz and list(table) == sorted(table, reverse=True) and len(table) == PSTATE_COUNT
    )
    assert [idx.value(v, "Power", str(n), "P-State MHZ") for n in range(len(table))] == list(table)
    for p in range(h.host.pcpus):
        c = [idx.value(v, "PCPU Power State", f"PCPU {p}", f"%C-State C{n}") for n in range(3)]
        assert sum(c) == pytest.approx(100.0)
        assert c[0] == pytest.approx(idx.value(v, "Physical Cpu", str(p), "% Util Time"))  # C0 = unhalted
        ps = [idx.value(v, "PCPU Power State", f"PCPU {p}", f"%P-State P{n}") for n in range(len(table))]
        assert sum(ps) == pytest.approx(100.0)
    assert idx.value(v, "Power", None, "Power Usage Now Watts") > 0


def test_balanced_lowers_the_clock_of_a_lightly_loaded_host() -> None:
    # esxi-scheduler.md §1.12 / §3.3 item 7: %USED is charged at actual / nominal frequency, %RUN is time.
    idx, v, h = _power_sample("balanced", LIGHT)
    table = pstate_table(h.host.mhz)
    lowest = table[-1] / table[0]  # ~10 % busy PCPUs stay far below the 80 % target at the lowest P-state
    for p in range(h.host.pcpus):
        util = idx.value(v, "Physical Cpu", str(p), "% Util Time")
        assert idx.value(v, "Physical Cpu", str(p), "% Processor Time") == pytest.approx(
            util * lowest, rel=1e-6
        )
        assert idx.value(v, "PCPU Power State", f"PCPU {p}", f"%P-State P{len(table) - 1}") == pytest.approx(
            100.0
        )
        assert idx.value(v, "PCPU Power State", f"PCPU {p}", "%C-State C2") > 0  # deep sleep when idle
    run, used = (idx.value(v, "Group Cpu", "10000:a", c) for c in ("% Run", "% Used"))
    assert used == pytest.approx(run * lowest, rel=1e-6)
    assert idx.value(v, "Group Cpu", "10000:a", "% CPU Latency") >= run * (1 - lowest) - 1e-6


@pytest.mark.parametrize("policy", ["high-performance", "balanced"])
def test_nominal_clock_under_high_performance_or_full_load(policy: str) -> None:
    # High Performance never leaves P0; Balanced keeps P0 when a PCPU is busier than its target.
    idx, v, h = _power_sample(policy, BUSY if policy == "balanced" else LIGHT)
    for p in range(h.host.pcpus):
        util = idx.value(v, "Physical Cpu", str(p), "% Util Time")
        assert idx.value(v, "Physical Cpu", str(p), "% Processor Time") == pytest.approx(util)
        assert idx.value(v, "PCPU Power State", f"PCPU {p}", "%P-State P0") == pytest.approx(100.0)
        if policy == "high-performance":
            assert idx.value(v, "PCPU Power State", f"PCPU {p}", "%C-State C2") == 0.0  # C1 only
    assert idx.value(v, "Group Cpu", "10000:a", "% Used") == pytest.approx(
        idx.value(v, "Group Cpu", "10000:a", "% Run")
    )


def test_load_average_counts_busy_pcpus_not_the_idle_worlds() -> None:
    # sampler: load = (busy PCPU time + READY + COSTOP) / (PCPUs x interval); the idle worlds' RUN
    # (their PCPU's idle time) is not load. One 5 s interval damps it once with the 60 s window.
    h = booted(dict(HOST), [{"name": "a", "vcpus": 2, "memory_gb": 1, "workload": LIGHT}], duration=5)
    first = h.snapshot()
    sampler = Sampler(h)
    h.run_until(5_000_000)
    snap = h.snapshot()
    values = sampler.step(snap).values
    real = np.array([not w.name.startswith("idle") for w in h.worlds])
    work = sum(float((getattr(snap, k) - getattr(first, k))[real].sum()) for k in ("run", "ready", "costop"))
    load = work / (h.host.pcpus * 5_000_000) * (1 - math.exp(-5 / 60))
    got = ColumnIndex(sampler.columns).value(values, "Physical Cpu Load", None, "Cpu Load (1 Minute Avg)")
    assert got == pytest.approx(load, rel=1e-9) and got < 0.05
