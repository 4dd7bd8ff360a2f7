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
from typing import Any

import numpy as np

from vmksim.analyze.facts import CaptureData, VmFacts, load_capture
from vmksim.analyze.findings import Finding, find
from vmksim.analyze.thresholds import Thresholds

__all__ = ["Analysis", "HostSummary", "VmSummary", "analyze", "analyze_file", "summarize_vm"]


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

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "vcpus": self.vcpus, "memory_mb": self.memory_mb}
        for key in (
            "used", "run", "ready", "ready_peak", "costop", "costop_peak", "max_limited", "swap_wait",
            "numa_local_pct", "numa_migrations", "balloon_mb", "swapped_mb",
        ):  # fmt: skip
            out[key] = _clean(getattr(self, key))
        return out


def summarize_vm(data: CaptureData, vm: VmFacts) -> VmSummary:
    mig = data.vm_memory(vm, "Numa Rebalance Count Delta")
    return VmSummary(
        name=vm.name,
        vcpus=vm.vcpus,
        memory_mb=vm.memory_mb,
        used=_mean(data.vm_per_vcpu(vm, "% Used")),
        run=_mean(data.vm_per_vcpu(vm, "% Run")),
        ready=_mean(data.vm_per_vcpu(vm, "% Ready")),
        ready_peak=_peak(data.vm_per_vcpu(vm, "% Ready")),
        costop=_mean(data.vm_per_vcpu(vm, "% CoStop")),
        costop_peak=_peak(data.vm_per_vcpu(vm, "% CoStop")),
        max_limited=_mean(data.vm_per_vcpu(vm, "% Max Limited")),
        swap_wait=_mean(data.vm_per_vcpu(vm, "% Swap Wait")),
        numa_local_pct=_mean(data.vm_memory(vm, "Numa % Local")),
        numa_migrations=float(np.nansum(mig)) if mig is not None else math.nan,
        balloon_mb=_mean(data.vm_memory(vm, "Memctl MBytes")),
        swapped_mb=_mean(data.vm_memory(vm, "Swapped MBytes")),
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
    core = data.series("Physical Cpu", "_Total", "% Core Util Time")
    used = data.series("Physical Cpu", "_Total", "% Processor Time")
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
