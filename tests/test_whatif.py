"""`vmksim whatif`: scenario inference from a capture, calibration against it, changes that move the prediction.

The capture is made by the simulated kernel (vmksim.kernel) from a known
scenario with seed 7; what-if re-simulates the inferred scenario with seed 1,
so the calibration error includes sampling noise as well as inference error.
The kernel's interpreted core is used (jit=False): these runs are short, and
numba's first compile would dominate the test time.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

import esxtop_real_like as real
from isolated import ISOLATED
from vmksim.analyze import load_capture
from vmksim.analyze.synth import write_simulated_capture
from vmksim.cli.whatif import parse_add_vm, parse_set
from vmksim.scenario import scenario_from_mapping
from vmksim.whatif import (
    DEFAULT_BURST_MS,
    SetChange,
    apply_changes,
    infer_scenario,
    run_whatif,
    scenario_toml,
)

#: The truth the capture is made from: 16 PCPUs, five 4-vCPU VMs at 50 % (4 ms on / 4 ms off), and a
#: 2-vCPU VM wanting 75 % but limited to 1500 MHz. No non-VM load and nominal clock (tests/isolated.py),
#: so that %USED is the limit in MHz and the expected figures follow from these numbers alone.
TRUTH: dict[str, Any] = {
    "name": "truth",
    "host": {
        "sockets": 2,
        "cores_per_socket": 4,
        "threads_per_core": 2,
        "numa_nodes": 2,
        "memory_gb": 64,
        "mhz": 2000,
        **ISOLATED,
    },
    "run": {"duration_s": 16, "interval_s": 4, "seed": 7},
    "vm": [
        {"name": "web", "count": 5, "vcpus": 4, "workload": {"kind": "onoff", "busy_ms": 4, "idle_ms": 4}},
        {
            "name": "capped",
            "vcpus": 2,
            "settings": {"sched.cpu.max": 1500},
            "workload": {"kind": "onoff", "busy_ms": 6, "idle_ms": 2},
        },
    ],
}
#: Mean |simulated − captured| %RDY per vCPU that calibration must stay under (points); measured ~0.2-0.6.
CALIBRATION_TOLERANCE = 1.5


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("whatif") / "truth.csv"
    write_simulated_capture(path, TRUTH, jit=False)
    return path


@pytest.fixture(scope="module")
def no_limit(capture: Path) -> Any:
    return run_whatif(capture, sets=[parse_set("capped:sched.cpu.max=unlimited")], duration_s=16, jit=False)


def test_infers_topology_sizes_and_allocations(capture: Path) -> None:
    mapping, _ = infer_scenario(load_capture(capture), duration_s=30)
    assert mapping["host"] == {
        "name": "host", "sockets": 2, "cores_per_socket": 4, "threads_per_core": 2, "numa_nodes": 2,
        "mhz": 2000, "memory_gb": 64.0, "system": {"cpu_pct": 0.0},  # ISOLATED: no non-VM load
    }  # fmt: skip
    assert [(v["name"], v["vcpus"], v["memory_gb"]) for v in mapping["vm"]] == [
        *((f"web-{i}", 4, 4.0) for i in range(1, 6)),
        ("capped", 2, 4.0),
    ]
    assert mapping["vm"][-1]["settings"] == {"sched.cpu.max": 1500}
    assert "settings" not in mapping["vm"][0]
    # The capture's 4 s interval is kept; 30 s rounds up to 8 whole intervals.
    assert mapping["run"] == {"duration_s": 32.0, "interval_s": 4.0, "seed": 1}


def test_infers_demand_from_used_wait_and_wakeups(capture: Path) -> None:
    _, demands = infer_scenario(load_capture(capture))
    web = [d for d in demands if d.name.startswith("web")]
    assert all(d.busy_ms == pytest.approx(4, rel=0.1) and d.idle_ms == pytest.approx(4, rel=0.1) for d in web)
    capped = demands[-1]
    # Ready and co-stop (here mostly the limit) are removed from the cycle: 6 ms on / 2 ms off again.
    assert capped.busy_ms == pytest.approx(6, rel=0.1) and capped.idle_ms == pytest.approx(2, rel=0.15)
    assert capped.utilisation_pct == pytest.approx(75, abs=4) and "wake-ups/s" in capped.method


def test_default_field_capture_uses_the_default_burst(tmp_path: Path) -> None:
    path = tmp_path / "default.csv"
    short = {**TRUTH, "run": {"duration_s": 8, "interval_s": 2, "seed": 7}}
    write_simulated_capture(path, short, all_counters=False, jit=False)
    mapping, demands = infer_scenario(load_capture(path))
    assert all(d.busy_ms == DEFAULT_BURST_MS for d in demands)
    assert demands[0].utilisation_pct == pytest.approx(50, abs=3)
    assert mapping["run"]["interval_s"] == 2.0
    # Alloc Max is an -a counter, but %MLMTD is a default one: the capped VM is held back, so it gets
    # a limit equal to what it consumed (a limit caps consumption in MHz, esxi-scheduler.md §1.10).
    assert mapping["vm"][-1]["settings"]["sched.cpu.max"] == pytest.approx(1500, rel=0.05)
    assert all("settings" not in v for v in mapping["vm"][:-1])  # %MLMTD 0: no binding limit


@pytest.fixture(scope="module")
def default_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("whatif-default") / "default.csv"
    write_simulated_capture(path, {**TRUTH, "run": {"duration_s": 4, "interval_s": 2, "seed": 7}},
                            all_counters=False, jit=False)  # fmt: skip
    return path


def test_default_field_capture_cannot_predict_shares_or_reservations(default_capture: Path, run_cli) -> None:
    code, out, _ = run_cli(
        "whatif", str(default_capture), "--set", "web-1:sched.cpu.shares=high", "--duration", "2",
        "--engine", "python",
    )  # fmt: skip
    assert code == 0
    assert "not simulated:" in out and "cannot predict sched.cpu.shares" in out and "esxtop -b -a" in out
    assert "Nothing left to simulate" in out and "VMs: every counter that changed" not in out
    code, out, _ = run_cli(
        "whatif", str(default_capture), "--set", "web-1:sched.cpu.min=1000", "--duration", "2", "--json",
        "--engine", "python",
    )  # fmt: skip
    data = json.loads(out)
    assert data["before_after"] is None and data["changes"] == []
    assert "cannot predict sched.cpu.min" in data["not_applied"][0]


def test_default_field_capture_predicts_a_limit_that_mlmtd_shows(default_capture: Path) -> None:
    w = run_whatif(
        default_capture, sets=[parse_set("capped:sched.cpu.max=unlimited")], duration_s=4, jit=False
    )
    assert w.changes == ("capped: sched.cpu.max = unlimited",) and w.comparison is not None
    row = next(p for p in w.comparison.vm_rows() if p.name == "capped")
    assert row.a is not None and row.b is not None
    assert row.a.max_limited > 10 and row.b.max_limited == pytest.approx(0, abs=0.1)
    # Removing a limit from a VM with %MLMTD 0 changes nothing: said plainly, not simulated.
    w = run_whatif(
        default_capture, sets=[parse_set("web-1:sched.cpu.max=unlimited")], duration_s=2, jit=False
    )
    assert w.comparison is None and "no limit binds" in w.not_applied[0]


def test_calibration_covers_mlmtd(no_limit: Any) -> None:
    capped = next(r for r in no_limit.calibration.rows if r.name == "capped")
    # %MLMTD is the share of %RDY a limit explains; calibration fits %RUN and %RDY (both within a
    # point here), and the split of ready time between limit and contention follows from the
    # scheduler's order of service (wake-up preemption moves it by a few points): within 12 %.
    assert capped.mlmtd_capture > 20
    assert capped.mlmtd_simulated == pytest.approx(capped.mlmtd_capture, rel=0.12)
    web = [r for r in no_limit.calibration.rows if r.name != "capped"]
    assert all(r.mlmtd_capture == pytest.approx(0, abs=0.05) for r in web)
    assert no_limit.calibration.to_json()["mlmtd_mae"] is not None


def test_calibration_error_on_a_simulated_capture(no_limit: Any) -> None:
    cal = no_limit.calibration
    assert len(cal.rows) == 6
    assert cal.ready_mae < CALIBRATION_TOLERANCE, cal.to_json()
    assert cal.run_mae < 3.0, cal.to_json()
    capped = next(r for r in cal.rows if r.name == "capped")
    assert capped.ready_capture > 25 and abs(capped.ready_simulated - capped.ready_capture) < 3
    assert all(abs(r.run_rel) < 0.1 for r in cal.rows), cal.to_json()  # the goal: within 10 %


def test_removing_a_limit_moves_the_prediction_the_right_way(no_limit: Any) -> None:
    changed = {
        c.metric.column for p in no_limit.comparison.vm_rows() if p.name == "capped" for c in p.changes
    }
    assert {"%RUN", "%RDY", "%MLMTD"} <= changed
    rows = {p.name: p for p in no_limit.comparison.vm_rows()}
    before, after = rows["capped"].a, rows["capped"].b
    assert before is not None and after is not None
    assert before.max_limited > 25 and after.max_limited == pytest.approx(0, abs=0.1)
    assert after.ready < before.ready - 20 and after.run > before.run + 15
    # The others move far less than the capped VM itself. It now competes for the PCPUs it was
    # denied, but it also consumes more, so by the priority rule (esxi-scheduler.md §1.3,
    # wake-up preemption in vmksim.sched.core) it preempts them less often on waking: the sign
    # of their change depends on which effect wins (60 s runs, seeds 7 and 8: -0.3 of ~39 for
    # the webs' summed %RDY), its size stays small next to the capped VM's own drop in %RDY.
    others_before = sum(rows[f"web-{i}"].a.ready for i in range(1, 6))
    others_after = sum(rows[f"web-{i}"].b.ready for i in range(1, 6))
    assert abs(others_after - others_before) < 0.25 * (before.ready - after.ready)
    assert [(f.vm, f.metric) for f in no_limit.comparison.fixed] == [("capped", "%MLMTD")]
    assert no_limit.changes == ("capped: sched.cpu.max = unlimited",)


def test_adding_a_busy_vm_raises_ready_time(capture: Path) -> None:
    w = run_whatif(capture, add_vms=[parse_add_vm("batch:8:90")], duration_s=5, jit=False)
    assert w.comparison is not None
    rows = {p.name: p for p in w.comparison.vm_rows()}
    assert rows["batch"].a is None and rows["batch"].b is not None and rows["batch"].b.vcpus == 8
    web_before = sum(rows[f"web-{i}"].a.ready for i in range(1, 6))
    web_after = sum(rows[f"web-{i}"].b.ready for i in range(1, 6))
    assert web_after > web_before + 5


def test_changes_are_validated() -> None:
    mapping = {"vm": [{"name": "a:b", "vcpus": 2}, {"name": "c", "vcpus": 1}]}
    sets = [parse_set("a:b:numa.vcpu.preferHT=TRUE"), parse_set("*:sched.cpu.shares=high")]
    assert sets[0] == SetChange("a:b", "numa.vcpu.preferHT", "TRUE")
    assert parse_set("x:sched.cpu.max=-1") == SetChange("x", "sched.cpu.max", None)
    changed = apply_changes(mapping, sets=sets)
    assert changed.mapping["vm"][0]["settings"] == {"numa.vcpu.preferHT": "TRUE", "sched.cpu.shares": "high"}
    assert changed.mapping["vm"][1]["settings"] == {"sched.cpu.shares": "high"}
    assert "settings" not in mapping["vm"][1]
    assert changed.applied == ["a:b: numa.vcpu.preferHT = TRUE", "every VM: sched.cpu.shares = high"]
    from vmksim.errors import InputError

    for parse, item, message in (
        (parse_set, "preferHT", "expected VM:KEY=VALUE"),
        (parse_add_vm, "x:two", "must be numbers"),
        (parse_add_vm, "x:0", "VCPUS >= 1"),
    ):
        with pytest.raises(InputError, match=message):
            parse(item)
    for kw, message in (
        ({"sets": [SetChange("nope", "x", "1")]}, "no VM 'nope'"),
        ({"add_vms": [parse_add_vm("c:2")]}, "already exists"),
        ({"remove_vms": ["zz"]}, "no VM 'zz'"),
    ):
        with pytest.raises(InputError, match=message):
            apply_changes(mapping, **kw)  # type: ignore[arg-type]


def test_scenario_toml_round_trips(capture: Path, tmp_path: Path) -> None:
    mapping, _ = infer_scenario(load_capture(capture))
    text = scenario_toml(mapping)
    assert tomllib.loads(text) == mapping
    scenario = scenario_from_mapping(tomllib.loads(text))
    assert [vm.config.cpu_max_mhz for vm in scenario.vms] == [None] * 5 + [1500]


def test_whatif_cli(capture: Path, tmp_path: Path, run_cli) -> None:
    report, toml = tmp_path / "w.html", tmp_path / "s.toml"
    code, out, _ = run_cli(
        "whatif", str(capture), "--set", "capped:sched.cpu.max=-1", "--duration", "4", "--json", "--engine", "python",
        "--report", str(report), "--write-scenario", str(toml),
    )  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert {
        "capture",
        "scenario",
        "changed_scenario",
        "demand",
        "changes",
        "calibration",
        "before_after",
    } <= set(data)
    assert data["calibration"]["ready_mae"] is not None and len(data["calibration"]["vms"]) == 6
    assert "sched.cpu.max" not in data["changed_scenario"]["vm"][-1].get("settings", {})
    head, _, body = report.read_text().partition("</head>")
    assert "<script src" not in head and "Calibration" in body and body.count("Plotly.newPlot") == 6
    assert tomllib.loads(toml.read_text())["vm"][-1]["settings"] == {"sched.cpu.max": 1500}
    code, out, _ = run_cli("whatif", str(capture), "--duration", "3", "--engine", "python")
    assert code == 0 and "mean absolute error" in out and "only the calibration" in out
    assert "%MLMTD cap" in out  # calibration covers %MLMTD where the capture has it


def test_whatif_errors_are_one_line(capture: Path, tmp_path: Path, run_cli) -> None:
    code, out, err = run_cli(
        "whatif", str(capture), "--set", "ghost:sched.cpu.max=1", "--duration", "5", "--engine", "python"
    )
    assert code == 1 and out == "" and err.count("\n") == 1 and "no VM 'ghost'" in err
    code, _, err = run_cli(
        "whatif", str(capture), "--host", "no-such-host", "--duration", "5", "--engine", "python"
    )
    assert code == 1 and err.count("\n") == 1


# --- what-if on a real-like capture (issue 10 item 4) -------------------------------------------------


@pytest.fixture(scope="module")
def real_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return real.write_capture(tmp_path_factory.mktemp("real") / "esx65-2pcpu.csv")


@pytest.fixture(scope="module")
def real_whatif(real_capture: Path) -> Any:
    return run_whatif(real_capture, duration_s=60, jit=False)


def test_real_capture_light_vms_are_short_frequent_bursts(real_capture: Path) -> None:
    mapping, demands = infer_scenario(load_capture(real_capture))
    assert [d.busy_vcpus for d in demands] == [v[1] for v in real.VMS]  # none of the six is idle
    for d, (_, _, run, _, wake) in zip(demands, real.VMS, strict=True):
        # One burst per wake-up (esxi-scheduler.md §1.11: a halted vCPU wakes to run): RUN / wake-ups.
        assert d.busy_ms == pytest.approx(10 * run / wake, rel=1e-3)
    styx = demands[-1]
    assert styx.busy_ms == pytest.approx(0.0298, abs=5e-4) and "872 wake-ups/s" in styx.method
    assert mapping["run"]["interval_s"] == real.INTERVAL_S  # the capture's interval, not 2.5


def test_real_capture_system_load_is_the_non_vm_groups(real_capture: Path) -> None:
    mapping, _ = infer_scenario(load_capture(real_capture))
    # The non-VM groups' %RUN (no HT), idle1/idle2 of 1:system left out (they are idle time).
    assert mapping["host"]["system"]["cpu_pct"] == pytest.approx(real.NON_VM_RUN, abs=0.02)
    text = scenario_toml(mapping)
    assert "[host.system]" in text
    scenario = scenario_from_mapping(tomllib.loads(text), source="inferred.toml")
    assert scenario.system.cpu_pct == pytest.approx(real.NON_VM_RUN, abs=0.02)
    assert scenario.run.interval_s == real.INTERVAL_S


def test_real_capture_calibration_of_run_is_within_ten_percent(real_whatif: Any) -> None:
    cal = real_whatif.calibration
    assert len(cal.rows) == len(real.VMS)
    for row in cal.rows:
        assert abs(row.run_rel) < 0.10, row.to_json()
    data = cal.to_json()
    assert all(v["run_rel_error"] is not None for v in data["vms"])
    assert data["host_util_capture"] == pytest.approx(real.host_util(), abs=0.01)


def _kernel_runs_system_worlds() -> bool:
    """Does the simulated host honour [host.system] cpu_pct (the non-VM worlds of issue 10 item 3)?"""
    from vmksim.analyze import analyze
    from vmksim.whatif import simulate_mapping

    probe = {
        "host": {"sockets": 1, "cores_per_socket": 1, "system": {"cpu_pct": 50.0}},
        "run": {"duration_s": 2, "interval_s": 1},
        "vm": [{"name": "v", "vcpus": 1, "workload": {"kind": "onoff", "busy_ms": 1, "idle_ms": 99}}],
    }
    return analyze(simulate_mapping(probe, "probe", jit=False)).host.util > 25


@pytest.mark.xfail(
    condition=not _kernel_runs_system_worlds(), strict=True,
    reason="the simulated host does not run [host.system] cpu_pct yet (non-VM worlds: the fidelity branch)",
)  # fmt: skip
def test_real_capture_host_utilisation_is_within_ten_percent(real_whatif: Any) -> None:
    assert abs(real_whatif.calibration.host_util_rel) < 0.10, real_whatif.calibration.to_json()


def test_host_system_key_is_validated() -> None:
    from vmksim.errors import ScenarioError
    from vmksim.scenario import DEFAULT_SYSTEM_CPU_PCT

    base = {"host": {"sockets": 1, "cores_per_socket": 2}, "vm": [{"name": "a", "vcpus": 1}]}
    ok = scenario_from_mapping({**base, "host": {**base["host"], "system": {"cpu_pct": 12.5}}}, source="s")
    assert ok.system.cpu_pct == 12.5
    assert scenario_from_mapping(base, source="s").system.cpu_pct == DEFAULT_SYSTEM_CPU_PCT
    for bad, message in (({"cpu_pct": -1}, "host.system.cpu_pct: must be >= 0"),
                         ({"cpu": 1}, "host.system: unknown key 'cpu'")):  # fmt: skip
        with pytest.raises(ScenarioError, match=message):
            scenario_from_mapping({**base, "host": {**base["host"], "system": bad}}, source="s")


def test_share_levels_written_as_codes_are_inferred_back(tmp_path: Path) -> None:
    """esxtop -a writes Alloc Shares of a VM at a level as a negative code (-4 high, -2 low): the
    inferred scenario keeps the level, so a what-if on the capture keeps the VMs' share ratio."""
    truth = {
        "host": {"sockets": 1, "cores_per_socket": 2, **ISOLATED},
        "run": {"duration_s": 2, "interval_s": 1, "seed": 3},
        "vm": [
            {"name": f"vm-{level}", "vcpus": 1, "settings": {"sched.cpu.shares": level}}
            for level in ("high", "normal", "low")
        ]
        + [{"name": "custom", "vcpus": 1, "settings": {"sched.cpu.shares": 1234}}],
    }
    path = tmp_path / "levels.csv"
    write_simulated_capture(path, truth, jit=False)
    mapping, _ = infer_scenario(load_capture(path))
    shares = {v["name"]: v.get("settings", {}).get("sched.cpu.shares") for v in mapping["vm"]}
    assert shares == {"vm-high": "high", "vm-normal": None, "vm-low": "low", "custom": 1234}
