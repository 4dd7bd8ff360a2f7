"""Workload generators: seeded, independent per VM and vCPU, with the right means."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vmksim.errors import ScenarioError
from vmksim.scenario import DailySpec, Distribution, WorkloadKind, WorkloadSpec
from vmksim.workload import Mode, daily_factor, demand_table, stream_rng, vcpu_programs


def test_streams_are_deterministic_and_independent() -> None:
    a = stream_rng(1, "vnf-1", 0).random(4)
    assert np.array_equal(a, stream_rng(1, "vnf-1", 0).random(4))
    for other in (stream_rng(2, "vnf-1", 0), stream_rng(1, "vnf-2", 0), stream_rng(1, "vnf-1", 1)):
        assert not np.array_equal(a, other.random(4))


def test_adding_a_vcpu_does_not_change_the_others() -> None:
    spec = WorkloadSpec(kind=WorkloadKind.ONOFF, busy_ms=2, idle_ms=3)
    two = vcpu_programs(spec, "web", 2, seed=5)
    three = vcpu_programs(spec, "web", 3, seed=5)
    for x, y in zip(two, three, strict=False):
        assert np.array_equal(x.draw(16)[0], y.draw(16)[0])


@pytest.mark.parametrize("dist", list(Distribution))
def test_draw_means_and_variability(dist: Distribution) -> None:
    spec = WorkloadSpec(kind=WorkloadKind.ONOFF, busy_ms=2, idle_ms=8, distribution=dist, cv2=4.0)
    (prog,) = vcpu_programs(spec, "vm", 1, seed=3)
    busy, idle = prog.draw(200_000)
    assert busy.mean() == pytest.approx(2000, rel=0.02)
    assert idle.mean() == pytest.approx(8000, rel=0.02)
    cv2 = busy.var() / busy.mean() ** 2
    expected = {
        Distribution.DETERMINISTIC: 0.0,
        Distribution.EXPONENTIAL: 1.0,
        Distribution.HYPEREXPONENTIAL: 4.0,
    }
    assert cv2 == pytest.approx(expected[dist], abs=0.15)


def test_threads_kind_keeps_the_other_vcpus_halted() -> None:
    spec = WorkloadSpec(kind=WorkloadKind.THREADS, threads=2)
    assert [p.mode for p in vcpu_programs(spec, "db", 4, seed=1)] == [
        Mode.LOOP,
        Mode.LOOP,
        Mode.NEVER,
        Mode.NEVER,
    ]


def test_periodic_programs_have_phases_inside_the_period() -> None:
    spec = WorkloadSpec(kind=WorkloadKind.PERIODIC, period_ms=1, work_ms=0.25)
    progs = vcpu_programs(spec, "vnf", 8, seed=1)
    assert all(p.mode is Mode.PERIODIC and 0 <= p.phase_us < 1000 and p.work_us == 250 for p in progs)


def test_constant_table_splits_slices_into_busy_and_idle() -> None:
    table = demand_table(WorkloadSpec(demand_pct=30), "vm", 2, 10_000_000)
    assert table.at(0) == pytest.approx((0.3, 0.7))
    assert table.at(10_000_000) == pytest.approx((0.3, 0.7))


def test_daily_pattern_peaks_at_peak_hour() -> None:
    daily = DailySpec(peak_hour=12, trough_pct=20, day_s=24)
    f = daily_factor(daily, np.array([0.0, 6.0, 12.0, 18.0]))
    assert f == pytest.approx([0.2, 0.6, 1.0, 0.6])


def test_trace_replay(tmp_path: Path) -> None:
    trace = tmp_path / "t.csv"
    trace.write_text("time_s,web,db\n0,50,10\n2,200,10\n")
    spec = WorkloadSpec(kind=WorkloadKind.TRACE, trace=trace)
    table = demand_table(spec, "web", 2, 4_000_000)
    # % of one core for the whole VM, spread over 2 vCPUs
    assert table.at(0)[0] == pytest.approx(0.25)
    assert table.at(3_000_000)[0] == pytest.approx(1.0)
    with pytest.raises(ScenarioError, match=r"t\.csv:1: no column 'app'"):
        demand_table(WorkloadSpec(kind=WorkloadKind.TRACE, trace=trace, column="app"), "web", 2, 4_000_000)
