"""Per-VM and per-host figures of a capture (means and peaks), and the whole analysis result.

ESXi counterpart: the numbers a person reads off esxtop's CPU and memory panels
for each VM — %USED, %RUN, %RDY, %CSTP, %MLMTD, %SWPWT per vCPU
(esxi-scheduler.md §3.2), N%L, NMIG, MCTLSZ, SWCUR (esxtop.md §2.3) — and the
host's PCPU UTIL (§3.1), reduced over the capture. Per-vCPU figures are the
mean over the VM's vCPU worlds (group values ÷ vCPUs, esxi-scheduler.md §3.3
item 5). These summaries feed the terminal view, the HTML report, `compare`
and the what-if calibration.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from vmksim.analyze.counters import (
    BALLOON,
    COSTOP,
    LATENCY,
    MLMTD,
    NUMA_HOME,
    NUMA_LOCAL_PCT,
    NUMA_MIGRATIONS,
    PCPU_CORE_UTIL,
    PCPU_USED,
    READY,
    RUN,
    SWAPPED,
    SWPWT,
    USED,
    WAIT,
)
from vmksim.analyze.facts import CaptureData, VmFacts, capture_data, load_capture, needed_columns
from vmksim.analyze.findings import Finding, find
from vmksim.analyze.thresholds import Thresholds
from vmksim.kernel.totals import VcpuTotals
from vmksim.metrics import EsxObject
from vmksim.stats.sample import Column, FloatArray, Sample

__all__ = [
    "Analysis",
    "HostSummary",
    "StreamCollector",
    "VcpuSummary",
    "VmSummary",
    "analyze",
    "analyze_file",
    "summarize_vcpus",
    "summarize_vm",
    "vcpu_json",
]


def _mean(a: Any) -> float:
    if a is None:
        return math.nan
    a = np.asarray(a, dtype=np.float64)
    a = a[~np.isnan(a)]
    return float(a.mean()) if a.size else math.nan


def _peak(a: Any) -> float:
    if a is None:
        return math.nan
    a = np.asarray(a, dtype=np.float64)
    a = a[~np.isnan(a)]
    return float(a.max()) if a.size else math.nan


def _clean(v: float) -> float | None:
    return round(v, 2) if math.isfinite(v) else None


@dataclass(frozen=True, slots=True)
class VmSummary:
    """Capture-wide figures of one VM; per-vCPU percentages unless named otherwise."""

    name: str
    vcpus: int
    memory_mb: float | None
    used: float
    run: float
    ready: float
    ready_peak: float
    costop: float
    costop_peak: float
    max_limited: float
    swap_wait: float
    numa_local_pct: float
    numa_migrations: float
    balloon_mb: float
    swapped_mb: float
    wait: float = math.nan  # %WAIT
    latency: float = math.nan  # %LAT_C ("% CPU Latency", esxtop -a)
    numa_home: float = math.nan  # NHN at the last sample ("Numa Home Nodes": the first home node)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "vcpus": self.vcpus, "memory_mb": self.memory_mb}
        for key in (
            "used", "run", "ready", "ready_peak", "costop", "costop_peak", "max_limited", "swap_wait",
            "numa_local_pct", "numa_migrations", "balloon_mb", "swapped_mb", "wait", "latency", "numa_home",
        ):  # fmt: skip
            out[key] = _clean(getattr(self, key))
        return out


def summarize_vm(data: CaptureData, vm: VmFacts) -> VmSummary:
    mig = data.vm_memory(vm, NUMA_MIGRATIONS.counter)
    return VmSummary(
        name=vm.name,
        vcpus=vm.vcpus,
        memory_mb=vm.memory_mb,
        used=_mean(data.vm_per_vcpu(vm, USED.counter)),
        run=_mean(data.vm_per_vcpu(vm, RUN.counter)),
        ready=_mean(data.vm_per_vcpu(vm, READY.counter)),
        ready_peak=_peak(data.vm_per_vcpu(vm, READY.counter)),
        costop=_mean(data.vm_per_vcpu(vm, COSTOP.counter)),
        costop_peak=_peak(data.vm_per_vcpu(vm, COSTOP.counter)),
        max_limited=_mean(data.vm_per_vcpu(vm, MLMTD.counter)),
        swap_wait=_mean(data.vm_per_vcpu(vm, SWPWT.counter)),
        numa_local_pct=_mean(data.vm_memory(vm, NUMA_LOCAL_PCT.counter)),
        numa_migrations=float(np.nansum(mig)) if mig is not None else math.nan,
        balloon_mb=_mean(data.vm_memory(vm, BALLOON.counter)),
        swapped_mb=_mean(data.vm_memory(vm, SWAPPED.counter)),
        wait=_mean(data.vm_per_vcpu(vm, WAIT.counter)),
        latency=_mean(data.vm_per_vcpu(vm, LATENCY.counter)),
        numa_home=_last(data.vm_memory(vm, NUMA_HOME.counter)),
    )


#: One vCPU over a capture: the kernel's per-vCPU record (vm, vcpu, then % of the interval for
#: used, run, ready, costop, max_limited, wait, latency), here holding means over the samples.
VcpuSummary = VcpuTotals


def vcpu_json(row: VcpuSummary) -> dict[str, Any]:
    return {k: (v if isinstance(v, str | int) else _clean(v)) for k, v in row._asdict().items()}


#: The Vcpu counters of a :data:`VcpuSummary` row, in its field order.
_VCPU_COUNTERS = tuple(m.counter for m in (USED, RUN, READY, COSTOP, MLMTD, WAIT, LATENCY))


def summarize_vcpus(data: CaptureData, vm: VmFacts) -> list[VcpuSummary]:
    """Each vCPU of *vm* (Vcpu rows of an esxtop -a capture; else the group's value split evenly)."""
    means = []
    for counter in _VCPU_COUNTERS:
        m = data.vm_vcpu_matrix(vm, counter)
        means.append([math.nan] * vm.vcpus if m is None else [_mean(m[:, k]) for k in range(m.shape[1])])
    return [VcpuSummary(vm.name, k, *(col[k] for col in means)) for k in range(len(means[0]))]


def _last(a: Any) -> float:
    if a is None:
        return math.nan
    a = np.asarray(a, dtype=np.float64)
    a = a[~np.isnan(a)]
    return float(a[-1]) if a.size else math.nan


class StreamCollector:
    """A sample sink that keeps, of a live stream, the columns the analyzer reads; then its data.

    The simulation driver's sampler feeds it sample by sample (vmksim.stats.observer), so a run's
    summaries come from the same sample stream as its CSV, kept at the analyzer's columns only.
    """

    def __init__(self, host: str, columns: tuple[Column, ...], source: str) -> None:
        self._host, self._all, self._source = host, columns, source
        self._keep = np.array(needed_columns(columns), dtype=np.int64)
        self._times: list[datetime] = []
        self._values: list[FloatArray] = []

    def __call__(self, sample: Sample) -> None:
        self._times.append(sample.time)
        self._values.append(sample.values[self._keep])

    def data(self) -> CaptureData:
        columns = tuple(self._all[i] for i in self._keep)
        return capture_data(
            self._host, columns, self._times, self._values, source=self._source, all_columns=self._all
        )


@dataclass(frozen=True, slots=True)
class HostSummary:
    util: float
    util_peak: float
    used: float
    core_util: float
    vcpus_per_pcpu: float

    def to_json(self) -> dict[str, Any]:
        return {
            k: _clean(getattr(self, k)) for k in ("util", "util_peak", "used", "core_util", "vcpus_per_pcpu")
        }


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything `vmksim analyze` says about one capture."""

    data: CaptureData
    thresholds: Thresholds
    findings: tuple[Finding, ...]
    vms: tuple[VmSummary, ...]
    host: HostSummary

    def to_json(self) -> dict[str, Any]:
        d = self.data
        return {
            "source": d.source,
            "host": {**d.host.to_json(), **self.host.to_json()},
            "vms": [v.to_json() for v in self.vms],
            "samples": d.samples,
            "interval_s": round(d.interval_s, 3),
            "duration_s": round(d.duration_s, 3),
            "start": d.times[0].isoformat() if d.times else None,
            "end": d.times[-1].isoformat() if d.times else None,
            "field_set": "all (-a)" if d.all_counters else "default",
            "columns": d.total_columns,
            "thresholds": self.thresholds.to_json(),
            "findings": [f.to_json() for f in self.findings],
            "warnings": list(d.warnings),
        }


def analyze(data: CaptureData, thresholds: Thresholds | None = None) -> Analysis:
    th = thresholds or Thresholds()
    util = data.host_util()
    core = data.series(EsxObject.PCPU, "_Total", PCPU_CORE_UTIL.counter)
    used = data.series(EsxObject.PCPU, "_Total", PCPU_USED.counter)
    host = HostSummary(
        util=_mean(util),
        util_peak=_peak(util),
        used=_mean(used),
        core_util=_mean(core),
        vcpus_per_pcpu=sum(vm.vcpus for vm in data.vms) / max(data.host.pcpus, 1),
    )
    return Analysis(
        data=data,
        thresholds=th,
        findings=tuple(find(data, th)),
        vms=tuple(summarize_vm(data, vm) for vm in data.vms),
        host=host,
    )


def analyze_file(path: str | os.PathLike[str], thresholds: Thresholds | None = None) -> Analysis:
    """Read an esxtop batch CSV and analyze it."""
    return analyze(load_capture(path), thresholds)
