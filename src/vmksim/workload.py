"""Guest workloads: seeded demand generators that tell the kernel when each vCPU has CPU work.

ESXi counterpart: none — this is the guest. What ESXi sees of it is a vCPU that
halts (HLT/MWAIT, esxi-scheduler.md §1.11) and wakes with work to do; the
kernel turns that into RUN/READY/COSTOP/WAIT. Every kind is a *closed loop* per
vCPU, the finite-source (machine-repairman) model of sim-engines-and-theory.md
§4.5: a burst of CPU work (µs of CPU at nominal speed, however long it waits for
a PCPU) is followed by halted (idle) time that starts when the burst completes.

Kinds (vmksim.scenario.WorkloadKind):

* ``constant`` (the default when a VM has no ``[vm.workload]``: 50 % of one core per
  vCPU in 10 ms slices) — demand_pct of one core per vCPU, as bursts of
  ``demand_pct × slice_ms`` separated by ``(100 − demand_pct) × slice_ms`` idle. It draws
  no random numbers: the same scenario gives the same output for every ``seed``
  (issue 11; seeds only matter to onoff, threads and periodic workloads).
* ``onoff`` — bursts of ``busy_ms`` and idle ``idle_ms``, each drawn from an
  exponential, deterministic or balanced two-phase hyper-exponential (squared CV
  ``cv2``) distribution.
* ``threads`` — a multi-threaded guest where only the first ``threads`` vCPUs
  run the onoff pattern; the rest stay halted.
* ``periodic`` — timer-driven work (a VNF polling loop): every ``period_ms`` a
  tick adds ``work_ms`` of work; work not done by the next tick accumulates.
* ``trace`` — replay of a per-VM demand column from a CSV whose first column is
  ``time_s`` (seconds from the start of the run). Demand is in % of one core for the
  whole VM, as esxtop's group %USED (200 = two vCPUs fully busy); the column is the
  ``column`` key, else the VM's name. Piecewise constant (each row holds until the next),
  spread evenly over the vCPUs and run as ``constant``, so it draws no random numbers
  either. Example (``trace = "demand.csv"``)::

      time_s,web,db
      0,40,150
      60,80,180
* ``daily`` (modifier on any kind) — demand follows a cosine between
  ``trough_pct`` and 100 % with its peak at ``peak_hour``.
* memory touch — ``active_memory_pct`` of the configured memory is touched at
  power-on (vmksim.numa.runtime places and migrates it; untouched memory counts
  as local, esxi-scheduler.md §2.6).

Randomness (DESIGN.md "Determinism"): each vCPU has its own numpy Generator
seeded from (seed, VM name, vCPU index) through a SeedSequence spawn key, so
adding a VM or a vCPU never changes the draws of another. Draws are made in
blocks (:data:`BLOCK`) and consumed in order; the block size never changes
results.

What the kernel consumes is :class:`VcpuProgram` (draw streams) plus a per-VM
:class:`DemandTable` of time-varying scale factors; time-dependence (daily,
trace) multiplies the drawn lengths at the moment they are used.
"""

from __future__ import annotations

import csv
import hashlib
import math
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

import numpy as np
import numpy.typing as npt

from vmksim.errors import ScenarioError
from vmksim.scenario import DailySpec, Distribution, WorkloadKind, WorkloadSpec

__all__ = [
    "BLOCK",
    "MAX_DRAW_US",
    "DemandTable",
    "Mode",
    "VcpuProgram",
    "daily_factor",
    "demand_table",
    "stream_rng",
    "vcpu_programs",
]

FloatArray = npt.NDArray[np.float64]

#: Draws generated per refill of a vCPU's stream. Only speed depends on it.
BLOCK = 512
#: Longest table of demand scale factors per VM; longer runs use coarser steps.
MAX_TABLE_STEPS = 4096
#: Finest step of a demand scale table (µs): 1 s, the resolution of a trace or daily pattern.
MIN_TABLE_STEP_US = 1_000_000


#: Longest burst or idle spell drawn (µs): 2^40 µs, 12.7 days. The compiled kernel orders events
#: by ``time << 22`` in an int64, so event times must stay below 2^41 µs (sched.core.MAX_TIME_US);
#: capping each draw at half of that keeps ``now + draw`` in range in runs up to 12.7 days (a
#: fuzzed ``idle_ms = 2147483648`` made the compiled kernel run for minutes). Only a draw this long
#: is changed: an exponential with a 5 ms mean reaches it with probability e^-(2.2e8), so no
#: realistic run differs.
MAX_DRAW_US = float(1 << 40)
#: Largest double below 1.0: the most probable a balanced H2's first phase can be in float arithmetic.
_P_MAX = math.nextafter(1.0, 0.0)


class Mode(IntEnum):
    """How the kernel drives a vCPU (values are used inside the compiled core)."""

    NEVER = 0  # always halted
    LOOP = 1  # closed loop: burst, then idle, from the draw streams
    PERIODIC = 2  # timer ticks add work


def stream_rng(seed: int, vm_name: str, index: int) -> np.random.Generator:
    """The Generator for vCPU *index* of *vm_name*: independent of every other VM and vCPU."""
    digest = hashlib.sha256(vm_name.encode("utf-8")).digest()
    words = (int.from_bytes(digest[:4], "little"), int.from_bytes(digest[4:8], "little"))
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(*words, index)))


def _draw(rng: np.random.Generator, dist: Distribution, mean: float, cv2: float, n: int) -> FloatArray:
    """*n* lengths (µs) with the given mean, each at most :data:`MAX_DRAW_US`."""
    if mean <= 0:
        return np.zeros(n)
    if dist is Distribution.DETERMINISTIC:
        return np.full(n, min(mean, MAX_DRAW_US))
    if dist is Distribution.EXPONENTIAL:
        return np.minimum(rng.exponential(mean, n), MAX_DRAW_US)
    # Balanced-means H2 (Whitt 1982): p·(1/μ1) = (1−p)·(1/μ2), mean m, squared CV cv2.
    # Scenarios bound cv2 (scenario.MAX_CV2); the clamp keeps 1 − p > 0 for any caller: it is the
    # largest double below 1, so it changes nothing wherever p < 1 already (no draw differs).
    p = min(0.5 * (1.0 + math.sqrt((cv2 - 1.0) / (cv2 + 1.0))), _P_MAX)
    phase1 = rng.random(n) < p
    draws = np.where(phase1, rng.exponential(mean / (2 * p), n), rng.exponential(mean / (2 * (1 - p)), n))
    return np.minimum(draws, MAX_DRAW_US)


class VcpuProgram:
    """One vCPU's workload: its mode and (for LOOP) its streams of burst and idle lengths in µs."""

    __slots__ = (
        "_rng",
        "busy_mean_us",
        "cv2",
        "distribution",
        "idle_mean_us",
        "mode",
        "period_us",
        "phase_us",
        "work_us",
    )

    def __init__(
        self,
        mode: Mode,
        rng: np.random.Generator,
        *,
        busy_mean_us: float = 0.0,
        idle_mean_us: float = 0.0,
        distribution: Distribution = Distribution.DETERMINISTIC,
        cv2: float = 4.0,
        period_us: int = 0,
        work_us: float = 0.0,
    ) -> None:
        self.mode = mode
        self._rng = rng
        self.busy_mean_us = busy_mean_us
        self.idle_mean_us = idle_mean_us
        self.distribution = distribution
        self.cv2 = cv2
        self.period_us = period_us
        self.work_us = work_us
        # A periodic vCPU's first tick is uniformly placed in its first period (timers are not aligned).
        self.phase_us = int(rng.integers(0, period_us)) if mode is Mode.PERIODIC and period_us > 0 else 0

    def draw(self, n: int = BLOCK) -> tuple[FloatArray, FloatArray]:
        """The next *n* (burst, idle) lengths in µs, before time-of-day scaling."""
        busy = _draw(self._rng, self.distribution, self.busy_mean_us, self.cv2, n)
        idle = _draw(self._rng, self.distribution, self.idle_mean_us, self.cv2, n)
        return busy, idle


@dataclass(frozen=True, slots=True)
class DemandTable:
    """Per-VM scale factors over time: burst × busy_scale[k], idle × idle_scale[k], k = t // step_us."""

    step_us: int
    busy_scale: FloatArray
    idle_scale: FloatArray

    def at(self, t_us: int) -> tuple[float, float]:
        k = min(t_us // self.step_us, len(self.busy_scale) - 1)
        return float(self.busy_scale[k]), float(self.idle_scale[k])


def daily_factor(daily: DailySpec, t_s: FloatArray) -> FloatArray:
    """Demand multiplier in [trough, 1]: a cosine with its maximum at peak_hour (simulated day starts at 0 h)."""
    hours = (t_s / daily.day_s * 24.0) % 24.0
    trough = daily.trough_pct / 100.0
    return trough + (1.0 - trough) * 0.5 * (1.0 + np.cos(2 * np.pi * (hours - daily.peak_hour) / 24.0))


def table_step_us(duration_us: int) -> int:
    return max(MIN_TABLE_STEP_US, math.ceil(duration_us / MAX_TABLE_STEPS))


def read_trace(path: Path, column: str) -> tuple[FloatArray, FloatArray]:
    """(time_s, demand %) of *column* from a trace CSV with a ``time_s`` first column."""
    src = str(path)
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except OSError as exc:
        raise ScenarioError(f"cannot read trace: {exc.strerror}", source=src) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"not UTF-8 text (byte offset {exc.start})", source=src) from None
    except csv.Error as exc:  # e.g. a field over the csv module's size limit, a NUL byte
        raise ScenarioError(f"not a readable CSV: {exc}", source=src) from None
    if not rows or not rows[0] or rows[0][0].strip() != "time_s":
        raise ScenarioError(
            "trace CSV must start with a header whose first column is time_s", source=src, where=1
        )
    header = [h.strip() for h in rows[0]]
    if column not in header[1:]:
        raise ScenarioError(
            f"no column {column!r} in trace (columns: {', '.join(header[1:])})", source=src, where=1
        )
    j = header.index(column)
    times: list[float] = []
    values: list[float] = []
    for lineno, row in enumerate(rows[1:], 2):
        if not row:
            continue
        try:
            t, v = float(row[0]), float(row[j])
        except (ValueError, IndexError):
            raise ScenarioError(
                f"expected numbers in time_s and {column!r}, got {row[:4]!r}", source=src, where=lineno
            ) from None
        if not (math.isfinite(t) and math.isfinite(v)) or v < 0 or (times and t <= times[-1]):
            raise ScenarioError(
                f"demand must be finite and >= 0, time_s finite and increasing, got {row[:4]!r}",
                source=src,
                where=lineno,
            )
        times.append(t)
        values.append(v)
    if not times:
        raise ScenarioError("trace has no rows", source=src)
    return np.array(times), np.array(values)


def demand_table(spec: WorkloadSpec, vm_name: str, vcpus: int, duration_us: int) -> DemandTable:
    """Time-varying scale factors for a VM's workload over a run of *duration_us*."""
    step = table_step_us(duration_us)
    steps = duration_us // step + 1
    t_s = (np.arange(steps, dtype=np.float64) * step + step / 2) / 1e6
    daily = daily_factor(spec.daily, t_s) if spec.daily is not None else np.ones(steps)
    if spec.kind is WorkloadKind.TRACE:
        assert spec.trace is not None
        times, values = read_trace(spec.trace, spec.column or vm_name)
        idx = np.clip(np.searchsorted(times, t_s, side="right") - 1, 0, len(times) - 1)
        p = np.clip(values[idx] / (100.0 * vcpus), 0.0, 1.0) * daily
        return DemandTable(step, p, 1.0 - p)
    if _is_constant(spec):
        p = np.clip(spec.demand_pct / 100.0 * daily, 0.0, 1.0)
        return DemandTable(step, p, 1.0 - p)
    return DemandTable(step, daily, np.ones(steps))


def _is_constant(spec: WorkloadSpec) -> bool:
    return spec.kind is WorkloadKind.CONSTANT


def vcpu_programs(spec: WorkloadSpec, vm_name: str, vcpus: int, seed: int) -> list[VcpuProgram]:
    """One program per vCPU of the VM, each with its own random stream."""
    out = []
    for v in range(vcpus):
        rng = stream_rng(seed, vm_name, v)
        out.append(_program(spec, v, rng))
    return out


def _program(spec: WorkloadSpec, vcpu: int, rng: np.random.Generator) -> VcpuProgram:
    kind = spec.kind
    if kind is WorkloadKind.THREADS and spec.threads is not None and vcpu >= spec.threads:
        return VcpuProgram(Mode.NEVER, rng)
    if kind is WorkloadKind.PERIODIC:
        return VcpuProgram(
            Mode.PERIODIC, rng, period_us=max(1, round(spec.period_ms * 1000)), work_us=spec.work_ms * 1000
        )
    if kind in (WorkloadKind.ONOFF, WorkloadKind.THREADS):
        return VcpuProgram(
            Mode.LOOP,
            rng,
            busy_mean_us=spec.busy_ms * 1000,
            idle_mean_us=spec.idle_ms * 1000,
            distribution=spec.distribution,
            cv2=spec.cv2,
        )
    # constant and trace: deterministic slices, split into busy/idle by the demand table.
    slice_us = spec.slice_ms * 1000
    return VcpuProgram(Mode.LOOP, rng, busy_mean_us=slice_us, idle_mean_us=slice_us)
