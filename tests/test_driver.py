"""The one simulation driver (issue 12 item 5): observers, step schedule, and summaries from the samples."""

from __future__ import annotations

import ast
import json
import tomllib
from pathlib import Path

import pytest

from vmksim.kernel import BaseObserver, build_kernel, drive, drive_iter, simulate, step_lengths
from vmksim.scenario import scenario_from_mapping

ROOT = Path(__file__).resolve().parents[1]

SCENARIO_TOML = """
name = "driver"
[host]
sockets = 1
cores_per_socket = 2
threads_per_core = 1
[run]
duration_s = 2.5
interval_s = 1.0
seed = 5
[[vm]]
name = "smp"
vcpus = 2
workload = { kind = "constant", demand_pct = 100 }
[[vm]]
name = "one"
vcpus = 1
workload = { kind = "onoff", busy_ms = 3, idle_ms = 2 }
"""
SCENARIO = tomllib.loads(SCENARIO_TOML)


class Log(BaseObserver):
    def __init__(self, events: list[str], name: str) -> None:
        self.events, self.name = events, name

    def started(self, source, total) -> None:  # type: ignore[no-untyped-def]
        self.events.append(f"{self.name}:start:{total}")

    def stepped(self, source, index) -> None:  # type: ignore[no-untyped-def]
        self.events.append(f"{self.name}:step:{index}:{source.now_us}")

    def finished(self, source) -> None:  # type: ignore[no-untyped-def]
        self.events.append(f"{self.name}:end")

    def closed(self) -> None:
        self.events.append(f"{self.name}:close")


class Clock:
    """The smallest Steppable: time only (the driver reads nothing else)."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.now_us = 0
        self.fail_at = fail_at

    def advance(self, delta_us: int) -> None:
        if self.fail_at is not None and self.now_us >= self.fail_at:
            raise RuntimeError("boom")
        self.now_us += delta_us


def test_step_lengths_cover_the_duration_with_a_short_last_step() -> None:
    run = scenario_from_mapping(SCENARIO, source="t").run
    assert step_lengths(run) == [1_000_000, 1_000_000, 500_000]
    assert sum(step_lengths(run)) == run.duration_us and len(step_lengths(run)) == run.iterations


def test_observers_see_every_step_in_order_then_end_and_close() -> None:
    events: list[str] = []
    assert drive(Clock(), [10, 20], [Log(events, "a"), Log(events, "b")]) == 2  # type: ignore[arg-type]
    assert events == [
        "a:start:2", "b:start:2", "a:step:0:10", "b:step:0:10", "a:step:1:30", "b:step:1:30",
        "a:end", "b:end", "a:close", "b:close",
    ]  # fmt: skip


def test_a_failed_run_closes_observers_without_finishing() -> None:
    events: list[str] = []
    with pytest.raises(RuntimeError):
        drive(Clock(fail_at=10), [10, 10, 10], [Log(events, "a")])  # type: ignore[arg-type]
    assert events == ["a:start:3", "a:step:0:10", "a:close"]


def test_a_consumer_that_stops_pulling_closes_observers() -> None:
    events: list[str] = []
    steps = drive_iter(Clock(), iter(lambda: 5, None), [Log(events, "a")])  # type: ignore[arg-type]
    assert [next(steps), next(steps)] == [0, 1]
    steps.close()
    assert events == ["a:start:None", "a:step:0:5", "a:step:1:10", "a:close"]


def test_simulate_goes_through_the_driver_and_keeps_a_snapshot_per_step() -> None:
    sc = scenario_from_mapping(SCENARIO, source="t")
    events: list[str] = []
    result = simulate(sc, jit=False, observers=[Log(events, "o")])
    assert [s.time_us for s in result.snapshots] == [0, 1_000_000, 2_000_000, 2_500_000]
    assert events[0] == "o:start:3" and events[-2:] == ["o:end", "o:close"]
    last_only = simulate(sc, jit=False, keep_snapshots=False)
    assert [s.time_us for s in last_only.snapshots] == [0, 2_500_000]


def test_the_kernel_layer_imports_no_presentation_code() -> None:
    """The progress bar is an observer from the CLI: the kernel package imports no console, rich or stats."""
    banned = (
        "vmksim.console",
        "rich",
        "vmksim.stats.sampler",
        "vmksim.analyze",
        "vmksim.cli",
        "vmksim.esxtop",
    )
    for path in (ROOT / "src" / "vmksim" / "kernel").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                assert not name.startswith(banned), f"{path.name} imports {name}"


def test_run_summary_is_analyze_of_its_own_capture(run_cli, tmp_path: Path) -> None:
    """One VmSummary: `vmksim run` and `vmksim analyze` of the CSV it wrote give the same figures."""
    scenario = tmp_path / "s.toml"
    scenario.write_text((ROOT / "examples" / "limits.toml").read_text())
    csv = tmp_path / "run.csv"
    code, out, err = run_cli(
        "run", str(scenario), "--engine", "python", "-d", "2", "-n", "4", "-a", "--json", "--batch", str(csv)
    )
    assert code == 0, err
    ran = {r["name"]: r for r in json.loads(out)["vms"]}
    code, out, err = run_cli("analyze", str(csv), "--json")
    assert code == 0, err
    analyzed = {r["name"]: r for r in json.loads(out)["vms"]}
    assert ran.keys() == analyzed.keys() and ran
    for name, row in ran.items():
        for key in ("used", "run", "ready", "costop", "max_limited", "wait", "numa_local_pct"):
            # the CSV rounds each cell to 2 decimals; the run's summary saw the unrounded samples
            assert row[key] == pytest.approx(analyzed[name][key], abs=0.011), (name, key)


def test_run_figures_are_per_vcpu_kernel_totals(run_cli, tmp_path: Path) -> None:
    """With equal steps, the per-vCPU sample mean is the kernel's whole-run group total ÷ vCPUs."""
    text = SCENARIO_TOML.replace("duration_s = 2.5", "duration_s = 3.0")
    sc = scenario_from_mapping(tomllib.loads(text), source="t")
    totals = {r.name: r for r in simulate(sc, jit=False).summaries}
    path = tmp_path / "s.toml"
    path.write_text(text)
    code, out, err = run_cli("run", str(path), "--engine", "python", "--json")
    assert code == 0, err
    for row in json.loads(out)["vms"]:
        total = totals[row["name"]]
        for key in ("used", "run", "ready", "costop", "wait"):
            assert row[key] == pytest.approx(getattr(total, key) / total.vcpus, abs=0.011), (row["name"], key)


def _callers(callee: str) -> list[str]:
    """Files under src/vmksim that call *callee* (by name or attribute)."""
    callers = []
    for path in (ROOT / "src" / "vmksim").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if name == callee:
                    callers.append(path.relative_to(ROOT).as_posix())
    return callers


def test_build_kernel_is_the_one_construction_site() -> None:
    """Hosts for runs are built by build_kernel only, so a different host factory is one change.

    build_kernel boots the whole host (kernel.worlds.boot), and boot is where the Kernel is made.
    """
    assert _callers("Kernel") == ["src/vmksim/kernel/worlds.py"]
    assert _callers("boot") == ["src/vmksim/kernel/simulate.py"]
    sc = scenario_from_mapping(SCENARIO, source="t")
    assert build_kernel(sc, jit=False).now_us == 0
