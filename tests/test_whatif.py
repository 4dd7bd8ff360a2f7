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

from vmksim.analyze import load_capture
from vmksim.analyze.synth import write_simulated_capture
from vmksim.scenario import scenario_from_mapping
from vmksim.whatif import (
    DEFAULT_BURST_MS,
    apply_changes,
    infer_scenario,
    run_whatif,
    scenario_toml,
)

#: The truth the capture is made from: 16 PCPUs, five 4-vCPU VMs at 50 % (4 ms on / 4 ms off), and a
#: 2-vCPU VM wanting 75 % but limited to 1500 MHz.
TRUTH: dict[str, Any] = {
    "name": "truth",
    "host": {
        "sockets": 2,
        "cores_per_socket": 4,
        "threads_per_core": 2,
        "numa_nodes": 2,
        "memory_gb": 64,
        "mhz": 2000,
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
    return run_whatif(capture, sets=["capped:sched.cpu.max=unlimited"], duration_s=16, jit=False)


def test_infers_topology_sizes_and_allocations(capture: Path) -> None:
    mapping, _ = infer_scenario(load_capture(capture), duration_s=30)
    assert mapping["host"] == {
        "name": "host", "sockets": 2, "cores_per_socket": 4, "threads_per_core": 2, "numa_nodes": 2,
        "mhz": 2000, "memory_gb": 64.0,
    }  # fmt: skip
    assert [(v["name"], v["vcpus"], v["memory_gb"]) for v in mapping["vm"]] == [
        *((f"web-{i}", 4, 4.0) for i in range(1, 6)),
        ("capped", 2, 4.0),
    ]
    assert mapping["vm"][-1]["settings"] == {"sched.cpu.max": 1500}
    assert "settings" not in mapping["vm"][0]
    assert mapping["run"] == {"duration_s": 16.002, "interval_s": 2.667, "seed": 1}  # 6 whole intervals


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
    assert "settings" not in mapping["vm"][-1]  # Alloc Max is an -a counter: the limit is not visible


def test_default_field_capture_warns_that_allocations_are_unknown(tmp_path: Path, run_cli) -> None:
    path = tmp_path / "default.csv"
    short = {**TRUTH, "run": {"duration_s": 4, "interval_s": 2, "seed": 7}}
    write_simulated_capture(path, short, all_counters=False, jit=False)
    code, out, _ = run_cli("whatif", str(path), "--duration", "2", "--engine", "python")
    assert code == 0 and "CPU limits, reservations and shares" in out and "esxtop -a" in out


def test_calibration_error_on_a_simulated_capture(no_limit: Any) -> None:
    cal = no_limit.calibration
    assert len(cal.rows) == 6
    assert cal.ready_mae < CALIBRATION_TOLERANCE, cal.to_json()
    assert cal.run_mae < 3.0, cal.to_json()
    capped = next(r for r in cal.rows if r[0] == "capped")
    assert capped[1] > 25 and abs(capped[2] - capped[1]) < 3  # the limit's ready time is reproduced


def test_removing_a_limit_moves_the_prediction_the_right_way(no_limit: Any) -> None:
    rows = {p.name: p for p in no_limit.comparison.vm_rows()}
    before, after = rows["capped"].a, rows["capped"].b
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
    w = run_whatif(capture, add_vms=["batch:8:90"], duration_s=5, jit=False)
    rows = {p.name: p for p in w.comparison.vm_rows()}
    assert rows["batch"].a is None and rows["batch"].b is not None and rows["batch"].b.vcpus == 8
    web_before = sum(rows[f"web-{i}"].a.ready for i in range(1, 6))
    web_after = sum(rows[f"web-{i}"].b.ready for i in range(1, 6))
    assert web_after > web_before + 5


def test_changes_are_validated() -> None:
    mapping = {"vm": [{"name": "a:b", "vcpus": 2}, {"name": "c", "vcpus": 1}]}
    changed, notes = apply_changes(mapping, sets=["a:b:numa.vcpu.preferHT=TRUE", "*:sched.cpu.shares=high"])
    assert changed["vm"][0]["settings"] == {"numa.vcpu.preferHT": "TRUE", "sched.cpu.shares": "high"}
    assert changed["vm"][1]["settings"] == {"sched.cpu.shares": "high"} and "settings" not in mapping["vm"][1]
    assert notes == ["a:b: numa.vcpu.preferHT = TRUE", "every VM: sched.cpu.shares = high"]
    from vmksim.errors import InputError

    for kw, message in (
        ({"sets": ["nope:x=1"]}, "no VM 'nope'"),
        ({"sets": ["preferHT"]}, "expected VM:KEY=VALUE"),
        ({"add_vms": ["c:2"]}, "already exists"),
        ({"add_vms": ["x:two"]}, "must be numbers"),
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


def test_whatif_errors_are_one_line(capture: Path, tmp_path: Path, run_cli) -> None:
    code, out, err = run_cli(
        "whatif", str(capture), "--set", "ghost:sched.cpu.max=1", "--duration", "5", "--engine", "python"
    )
    assert code == 1 and out == "" and err.count("\n") == 1 and "no VM 'ghost'" in err
    code, _, err = run_cli(
        "whatif", str(capture), "--host", "no-such-host", "--duration", "5", "--engine", "python"
    )
    assert code == 1 and err.count("\n") == 1
