"""Findings: what is wrong in a capture, the evidence, the likely cause and the fix.

ESXi counterpart: the reading a VMware performance engineer does of esxtop —
the CPU panel's %RDY, %CSTP, %MLMTD, %SWPWT (esxi-scheduler.md §3.2-§3.3,
esxtop.md §2.1), the memory panel's MCTLSZ, SWCUR, SWR/s, SWW/s and the NUMA
fields N%L and NMIG (esxtop.md §2.3, esxi-memory.md §6), the PCPU UTIL lines
(esxi-scheduler.md §3.1) — and the fixes VMware's guidance gives for each:

- ready time on a busy host: fewer or smaller VMs on the host, smaller VMs
  (OPS-VM; Denneman, "Impact of oversized virtual machines",
  https://frankdenneman.nl/2011/01/03/impact-of-oversized-virtual-machines-part-3/ );
- co-stop: the VM has more vCPUs than it can keep busy together (relaxed
  co-scheduling, esxi-scheduler.md §1.5): reduce vCPUs;
- max-limited: a CPU limit (``sched.cpu.max``) caps the VM even on an idle
  host (esxi-scheduler.md §1.10): remove or raise it;
- swap wait / swapping / ballooning: host memory pressure or a memory limit
  (esxi-memory.md §1.1, §3): remove the limit, reserve, add memory or move VMs;
- poor N%L on a VM wider than its NUMA node: right-size it to the node's
  cores (or threads with ``numa.vcpu.preferHT=TRUE``, esxi-scheduler.md §2.3,
  https://blogs.vmware.com/vsphere/2014/03/perferht-use-2.html ), or give it a
  vNUMA topology matching the host;
- NUMA imbalance: large NUMA clients the rebalancer cannot move
  (Numa.MigImbalanceThreshold, esxi-scheduler.md §2.5), or action affinity
  (``Numa.LocalityWeightActionAffinity = 0``, KB 2097369, §1.7).

Each rule is a function of (capture, thresholds) in :data:`RULES`; the
thresholds and how they are applied are in :mod:`vmksim.analyze.thresholds`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

from vmksim.analyze.counters import (
    ALLOC_MAX,
    BALLOON,
    COSTOP,
    MEM_ALLOC_MAX,
    MLMTD,
    NUMA_LOCAL_MB,
    NUMA_LOCAL_PCT,
    NUMA_MIGRATIONS,
    NUMA_REMOTE_MB,
    PCPU_UTIL,
    READY,
    RUN,
    SWAP_READ,
    SWAP_WRITTEN,
    SWAPPED,
    SWPWT,
)
from vmksim.analyze.facts import CaptureData, FloatArray, VmFacts
from vmksim.analyze.thresholds import Thresholds
from vmksim.metrics import Metric

#: The host finding's metric: esxtop's PCPU UTIL line (esxtop.md §2.1) without its "(%)".
PCPU_UTIL_LABEL = PCPU_UTIL.column.removesuffix("(%)")

__all__ = ["RULES", "Finding", "Severity", "find"]


class Severity(Enum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "critical": 2}[self.value]


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: where (``vm`` None = the host), which counter, how bad, why and what to do."""

    severity: Severity
    vm: str | None
    metric: str
    value: float
    threshold: float
    message: str
    cause: str
    fix: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "severity": self.severity.value,
            "vm": self.vm,
            "metric": self.metric,
            "value": round(self.value, 2) if math.isfinite(self.value) else None,
            "threshold": self.threshold,
            "message": self.message,
            "cause": self.cause,
            "fix": self.fix,
            "evidence": self.evidence,
        }


# --- evidence helpers ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Exceed:
    """How a per-sample series relates to a threshold (``above`` True: bad when greater)."""

    mean: float
    peak: float
    peak_at: str
    count: int
    fraction: float
    first_at: str | None


def _exceed(data: CaptureData, series: FloatArray, threshold: float, *, above: bool = True) -> _Exceed:
    s = np.where(np.isnan(series), 0.0 if above else 100.0, series)
    bad = s > threshold if above else s < threshold
    peak_i = int(np.argmax(s) if above else np.argmin(s))
    first = int(np.argmax(bad)) if bad.any() else None
    stamp = [t.strftime("%Y-%m-%d %H:%M:%S") for t in data.times]
    return _Exceed(
        mean=float(s.mean()) if s.size else 0.0,
        peak=float(s[peak_i]) if s.size else 0.0,
        peak_at=stamp[peak_i] if s.size else "",
        count=int(bad.sum()),
        fraction=float(bad.mean()) if s.size else 0.0,
        first_at=stamp[first] if first is not None else None,
    )


def _persists(e: _Exceed, th: Thresholds) -> bool:
    return e.count >= 1 and e.fraction >= th.persistence


def _severity(mean: float, threshold: float, th: Thresholds, *, above: bool = True) -> Severity:
    if above:
        limit = threshold * th.critical_factor if threshold > 0 else 1.0
        return Severity.CRITICAL if mean > limit else Severity.WARNING
    return Severity.CRITICAL if mean < threshold / th.critical_factor else Severity.WARNING


def _evidence(e: _Exceed, data: CaptureData, unit: str = "%") -> dict[str, Any]:
    return {
        "mean": round(e.mean, 2),
        "peak": round(e.peak, 2),
        "peak_at": e.peak_at,
        "first_at": e.first_at,
        "samples_over": e.count,
        "samples": data.samples,
        "unit": unit,
    }


def _worst_vcpus(data: CaptureData, vm: VmFacts, counter: str, threshold: float) -> list[dict[str, Any]]:
    m = data.vm_vcpu_matrix(vm, counter)
    if m is None:
        return []
    means = np.nan_to_num(m).mean(axis=0)
    order = np.argsort(-means)
    return [
        {"vcpu": int(i), "mean": round(float(means[i]), 2)}
        for i in order[: min(8, len(order))]
        if means[i] > threshold * 0.5 or i == order[0]
    ]


def _when(e: _Exceed, data: CaptureData) -> str:
    return f"in {e.count} of {data.samples} samples (peak {e.peak:.1f} at {e.peak_at})"


def _host_busy(data: CaptureData, th: Thresholds) -> bool:
    util = data.host_util()
    return util is not None and float(np.nanmean(util)) > th.host_util * 0.8


def _vcpu_commit(data: CaptureData) -> float:
    return sum(vm.vcpus for vm in data.vms) / max(data.host.pcpus, 1)


# --- per-vCPU rules -------------------------------------------------------------------------------


def _over(
    data: CaptureData,
    th: Thresholds,
    counter: str,
    threshold: float,
    *,
    min_vcpus: int = 1,
    adjust: Callable[[VmFacts, FloatArray], FloatArray] | None = None,
) -> Iterator[tuple[VmFacts, _Exceed]]:
    """VMs whose per-vCPU *counter* stays above *threshold* (persistence rule), with the evidence."""
    for vm in data.vms:
        if vm.vcpus < min_vcpus:
            continue
        series = data.vm_per_vcpu(vm, counter)
        if series is None:
            continue
        e = _exceed(data, adjust(vm, series) if adjust else series, threshold)
        if _persists(e, th):
            yield vm, e


def _vcpu_finding(
    data: CaptureData, vm: VmFacts, e: _Exceed, counter: str, metric: str, threshold: float, severity: Severity,
    message: str, cause: str, fix: str, **extra: Any,
) -> Finding:  # fmt: skip
    worst = _worst_vcpus(data, vm, counter, threshold)
    if vm.vcpus > 1 and worst:
        message += "; worst vCPUs: " + ", ".join(f"vcpu{w['vcpu']} {w['mean']:.1f}" for w in worst[:3])
    evidence = {**_evidence(e, data), **extra, "vcpus": worst}
    return Finding(severity, vm.name, metric, e.mean, threshold, message, cause, fix, evidence)


def _mean_of(data: CaptureData, vm: VmFacts, counter: str) -> float:
    s = data.vm_per_vcpu(vm, counter)
    return float(np.nanmean(s)) if s is not None else math.nan


def _rule_ready(data: CaptureData, th: Thresholds) -> list[Finding]:
    def contention(vm: VmFacts, rdy: FloatArray) -> FloatArray:
        # %MLMTD is part of %RDY (esxi-scheduler.md §3.3 item 2): judge the contention part.
        mlmtd = data.vm_per_vcpu(vm, MLMTD.counter)
        return rdy - (np.nan_to_num(mlmtd) if mlmtd is not None else 0.0)

    out = []
    busy, commit = _host_busy(data, th), _vcpu_commit(data)
    for vm, e in _over(data, th, READY.counter, th.rdy, adjust=contention):
        run_mean = _mean_of(data, vm, RUN.counter)
        if busy or commit > 1.0:
            causes = [
                f"CPU contention: {commit:.1f} vCPUs per PCPU on the host"
                + (", and the host's PCPUs are busy" if busy else "")
            ]
            fixes = ["move VMs to a less loaded host (vMotion/DRS) or add capacity"]
        else:
            causes = [
                "ready time although the host as a whole is not busy: contention inside a NUMA node or on "
                "the PCPUs the VM may use (affinity, a NUMA home node shared by big VMs)"
            ]
            fixes = ["check CPU affinity and NUMA home nodes (NHN); remove affinity unless required"]
        if vm.vcpus > 1 and run_mean < 30:
            fixes.append(f"reduce the VM's {vm.vcpus} vCPUs: they run only {run_mean:.0f} % each on average")
        if vm.vcpus > data.host.cores_per_node and data.host.numa_nodes > 1 and data.host.ht:
            fixes.append(
                "the VM is wider than a NUMA node's cores: with numa.vcpu.preferHT=TRUE it can stay on one "
                "node's hyper-threads (locality over raw cores)"
            )
        message = f"{vm.name}: %RDY {e.mean:.1f} per vCPU on average, above {th.rdy:g} {_when(e, data)}"
        limited = _mean_of(data, vm, MLMTD.counter)
        if limited > 0.05:
            message += (
                f" (not counting its %MLMTD {limited:.1f}: {_mean_of(data, vm, READY.counter):.1f} in all)"
            )
        out.append(
            _vcpu_finding(data, vm, e, READY.counter, READY.column, th.rdy, _severity(e.mean, th.rdy, th), message,
                          "; ".join(causes), "; ".join(fixes))
        )  # fmt: skip
    return out


def _rule_costop(data: CaptureData, th: Thresholds) -> list[Finding]:
    out = []
    # co-stop only exists for SMP VMs (esxi-scheduler.md §1.2)
    for vm, e in _over(data, th, COSTOP.counter, th.cstp, min_vcpus=2):
        limited = _mean_of(data, vm, MLMTD.counter) > th.mlmtd
        cause = (
            "relaxed co-scheduling stops leading vCPUs while siblings wait for a PCPU "
            f"(skew); the VM's {vm.vcpus} vCPUs cannot all be scheduled together"
        )
        fix = f"reduce the VM's vCPUs (now {vm.vcpus}, running {_mean_of(data, vm, RUN.counter):.0f} % each on average)"
        fix += "; reduce vCPU overcommit on the host" if _vcpu_commit(data) > 1.0 else ""
        if limited:
            cause += "; the CPU limit also stops vCPUs, which shows as co-stop"
            fix += "; remove the CPU limit"
        message = f"{vm.name}: %CSTP {e.mean:.1f} per vCPU on average, above {th.cstp:g} {_when(e, data)}"
        out.append(
            _vcpu_finding(
                data,
                vm,
                e,
                COSTOP.counter,
                COSTOP.column,
                th.cstp,
                _severity(e.mean, th.cstp, th),
                message,
                cause,
                fix,
            )
        )
    return out


def _alloc_max(data: CaptureData, vm: VmFacts, m: Metric) -> float | None:
    s = data.series(m.object.value, vm.group, m.counter)
    if s is None or not np.isfinite(s).any():
        return None
    v = float(np.nanmax(s))
    return v if v > 0 else None


def _rule_limit(data: CaptureData, th: Thresholds) -> list[Finding]:
    out = []
    for vm, e in _over(data, th, MLMTD.counter, th.mlmtd):
        amax = _alloc_max(data, vm, ALLOC_MAX)
        limit = f"its CPU limit of {amax:.0f} MHz (AMAX)" if amax else "a CPU limit (sched.cpu.max)"
        severity = Severity.CRITICAL if e.mean > max(th.rdy / 2, th.mlmtd) else Severity.WARNING
        out.append(
            _vcpu_finding(
                data, vm, e, MLMTD.counter, MLMTD.column, th.mlmtd, severity,
                f"{vm.name}: held back by {limit}: %MLMTD {e.mean:.1f} per vCPU on average {_when(e, data)}",
                f"{limit} caps the VM even when the host has idle PCPUs; the held-back time is part of %RDY",
                "remove the CPU limit (set sched.cpu.max to unlimited) or raise it above the VM's demand; "
                "use shares or a reservation to protect other VMs instead",
                alloc_max_mhz=amax,
            )
        )  # fmt: skip
    return out


# --- memory rules --------------------------------------------------------------------------------


def _memory_cause(data: CaptureData, vm: VmFacts) -> tuple[str, str]:
    amax = _alloc_max(data, vm, MEM_ALLOC_MAX)
    if amax is not None and vm.memory_mb and amax < vm.memory_mb:
        return (
            f"a memory limit of {amax:.0f} MB below the VM's {vm.memory_mb:.0f} MB forces reclamation even on a "
            "host with free memory",
            "remove the memory limit (sched.mem.max) or raise it to the configured size",
        )
    return (
        "host memory pressure: the VMkernel reclaims memory (balloon, compression, swap) when free memory "
        "falls towards minFree",
        "reduce memory overcommit (move VMs, add host memory) or reserve memory for this VM; check for a "
        "memory limit (sched.mem.max)",
    )


def _rule_swapwait(data: CaptureData, th: Thresholds) -> list[Finding]:
    out = []
    for vm, e in _over(data, th, SWPWT.counter, th.swpwt):
        cause, fix = _memory_cause(data, vm)
        message = f"{vm.name}: vCPUs wait on host swap-in: %SWPWT {e.mean:.1f} per vCPU {_when(e, data)}"
        out.append(
            _vcpu_finding(
                data,
                vm,
                e,
                SWPWT.counter,
                SWPWT.column,
                th.swpwt,
                _severity(e.mean, th.swpwt, th),
                message,
                cause,
                fix,
            )
        )
    return out


def _memory_rule(
    counter: str, metric: str, what: str, attr: str
) -> Callable[[CaptureData, Thresholds], list[Finding]]:
    def rule(data: CaptureData, th: Thresholds) -> list[Finding]:
        threshold = float(getattr(th, attr))
        out = []
        for vm in data.vms:
            if counter == "swap_rate":
                r = data.vm_memory(vm, SWAP_READ.counter)
                w = data.vm_memory(vm, SWAP_WRITTEN.counter)
                if r is None and w is None:
                    continue
                s = np.nan_to_num(r if r is not None else 0.0) + np.nan_to_num(w if w is not None else 0.0)
            else:
                got = data.vm_memory(vm, counter)
                if got is None:
                    continue
                s = got
            e = _exceed(data, np.asarray(s, dtype=np.float64), threshold)
            if not _persists(e, th):
                continue
            cause, fix = _memory_cause(data, vm)
            unit = "MB/s" if counter == "swap_rate" else "MB"
            out.append(
                Finding(
                    severity=Severity.WARNING if metric == "MCTLSZ" else Severity.CRITICAL,
                    vm=vm.name,
                    metric=metric,
                    value=e.mean,
                    threshold=threshold,
                    message=f"{vm.name}: {what}: {metric} {e.mean:.1f} {unit} on average {_when(e, data)}",
                    cause=cause,
                    fix=fix,
                    evidence=_evidence(e, data, unit),
                )
            )
        return out

    return rule


# --- NUMA rules ----------------------------------------------------------------------------------


def _rule_locality(data: CaptureData, th: Thresholds) -> list[Finding]:
    out: list[Finding] = []
    host = data.host
    if host.numa_nodes < 2:
        return out
    for vm in data.vms:
        nl = data.vm_memory(vm, NUMA_LOCAL_PCT.counter)
        if nl is None:
            continue
        local = data.vm_memory(vm, NUMA_LOCAL_MB.counter)
        remote = data.vm_memory(vm, NUMA_REMOTE_MB.counter)
        if local is not None and remote is not None and float(np.nansum(local + remote)) <= 0:
            continue  # no memory touched yet: N%L means nothing
        e = _exceed(data, nl, th.nl, above=False)
        if not _persists(e, th):
            continue
        wide_cores = vm.vcpus > host.cores_per_node
        fits_threads = host.ht and vm.vcpus <= host.pcpus_per_node
        node_mem = host.node_memory_mb[0] if host.node_memory_mb else None
        big_mem = bool(vm.memory_mb and node_mem and vm.memory_mb > node_mem)
        if wide_cores:
            cause = (
                f"the VM's {vm.vcpus} vCPUs are wider than a NUMA node's {host.cores_per_node} cores, so ESXi "
                "splits it into NUMA clients on several nodes and its memory is spread (wide VM)"
            )
            fix = f"right-size the VM to {host.cores_per_node} vCPUs or fewer so it fits one node"
            if fits_threads:
                fix += (
                    f"; or set numa.vcpu.preferHT=TRUE so its {vm.vcpus} vCPUs share one node's "
                    f"{host.pcpus_per_node} hyper-threads"
                )
            fix += "; otherwise make sure the guest sees a vNUMA topology matching the host so it allocates locally"
        elif big_mem:
            cause = (
                f"the VM's memory ({vm.memory_mb:.0f} MB) is larger than a NUMA node's ({node_mem:.0f} MB)"
            )
            fix = "reduce the VM's memory to fit a node, or make it wide (vNUMA) so the guest places memory"
        else:
            cause = (
                "the VM fits a node but its memory is remote: it was moved to another home node "
                "(rebalancing) and its pages have not followed yet, or the home node's memory is full"
            )
            fix = "check NMIG and node free memory; avoid CPU/memory affinity that prevents NUMA migration"
        out.append(
            Finding(
                severity=_severity(e.mean, th.nl, th, above=False),
                vm=vm.name,
                metric=NUMA_LOCAL_PCT.column,
                value=e.mean,
                threshold=th.nl,
                message=f"{vm.name}: only {e.mean:.0f} % of its memory is NUMA-local (below {th.nl:g} "
                f"{_when(e, data).replace('peak', 'lowest')})",
                cause=cause,
                fix=fix,
                evidence=_evidence(e, data),
            )
        )
    return out


def _rule_nmig(data: CaptureData, th: Thresholds) -> list[Finding]:
    out: list[Finding] = []
    minutes = data.duration_s / 60.0
    if data.host.numa_nodes < 2 or minutes <= 0:
        return out
    for vm in data.vms:
        mig = data.vm_memory(vm, NUMA_MIGRATIONS.counter)
        if mig is None:
            continue
        total = float(np.nansum(mig))
        rate = total / minutes
        if rate <= th.nmig_per_min:
            continue
        out.append(
            Finding(
                severity=_severity(rate, th.nmig_per_min, th),
                vm=vm.name,
                metric=NUMA_MIGRATIONS.column,
                value=rate,
                threshold=th.nmig_per_min,
                message=f"{vm.name}: {total:.0f} NUMA migrations in {minutes:.1f} min ({rate:.1f}/min)",
                cause="the NUMA rebalancer keeps moving the VM between home nodes (load or locality swaps); "
                "each move leaves its memory remote until pages migrate",
                fix="balance the load between nodes (fewer or smaller VMs); for communicating VMs consider "
                "Numa.LocalityWeightActionAffinity=0 (KB 2097369)",
                evidence={"migrations": total, "minutes": round(minutes, 2), "per_min": round(rate, 2)},
            )
        )
    return out


def _rule_numa_imbalance(data: CaptureData, th: Thresholds) -> list[Finding]:
    if data.host.numa_nodes < 2:
        return []
    nodes = data.node_util()
    if nodes is None:
        return []
    gap = np.nanmax(nodes, axis=1) - np.nanmin(nodes, axis=1)
    e = _exceed(data, gap, th.numa_imbalance)
    if not _persists(e, th):
        return []
    means = np.nanmean(nodes, axis=0)
    busiest, idlest = int(np.argmax(means)), int(np.argmin(means))
    return [
        Finding(
            severity=_severity(e.mean, th.numa_imbalance, th),
            vm=None,
            metric="NUMA imbalance",
            value=e.mean,
            threshold=th.numa_imbalance,
            message=(
                f"NUMA node {busiest} is {means[busiest]:.0f} % busy while node {idlest} is {means[idlest]:.0f} % "
                f"(gap {e.mean:.0f} points on average, {_when(e, data)})"
            ),
            cause="NUMA clients too large to move between nodes, CPU/memory affinity, or action affinity keeping "
            "communicating VMs together",
            fix="right-size wide VMs so clients fit nodes evenly; remove node affinity; consider "
            "Numa.LocalityWeightActionAffinity=0 (KB 2097369)",
            evidence={**_evidence(e, data), "node_util_mean": [round(float(x), 1) for x in means]},
        )
    ]


# --- host rules ----------------------------------------------------------------------------------


def _rule_saturation(data: CaptureData, th: Thresholds) -> list[Finding]:
    util = data.host_util()
    if util is None:
        return []
    e = _exceed(data, util, th.host_util)
    if not _persists(e, th):
        return []
    commit = _vcpu_commit(data)
    return [
        Finding(
            severity=Severity.CRITICAL if e.fraction > 0.5 else Severity.WARNING,
            vm=None,
            metric=PCPU_UTIL_LABEL,
            value=e.mean,
            threshold=th.host_util,
            message=f"host saturated: PCPU UTIL {e.mean:.0f} % on average, above {th.host_util:g} {_when(e, data)}",
            cause=f"more CPU demand than the host's {data.host.pcpus} PCPUs supply ({commit:.1f} vCPUs per PCPU)",
            fix="move VMs to other hosts (DRS) or add hosts; reduce vCPUs of oversized VMs",
            evidence={**_evidence(e, data), "vcpus_per_pcpu": round(commit, 2)},
        )
    ]


Rule = Callable[[CaptureData, Thresholds], list[Finding]]

#: Every rule, in report order.
RULES: tuple[Rule, ...] = (
    _rule_saturation,
    _rule_ready,
    _rule_costop,
    _rule_limit,
    _rule_swapwait,
    _memory_rule(BALLOON.counter, BALLOON.column, "ballooning", "balloon_mb"),
    _memory_rule(SWAPPED.counter, SWAPPED.column, "memory swapped to disk", "swap_mb"),
    _memory_rule("swap_rate", "SWR/s+SWW/s", "actively swapping", "swap_rate"),
    _rule_locality,
    _rule_nmig,
    _rule_numa_imbalance,
)


def find(data: CaptureData, thresholds: Thresholds | None = None) -> list[Finding]:
    """Every finding in *data*, most severe first (host before VMs at equal severity)."""
    th = thresholds or Thresholds()
    out: list[Finding] = []
    for rule in RULES:
        out.extend(rule(data, th))
    if (
        not data.all_counters
        and data.host.numa_nodes > 1
        and not data.has(NUMA_LOCAL_PCT.object.value, NUMA_LOCAL_PCT.counter)
    ):
        out.append(
            Finding(
                severity=Severity.INFO,
                vm=None,
                metric=NUMA_LOCAL_PCT.column,
                value=math.nan,
                threshold=th.nl,
                message="NUMA locality not judged: the capture has no 'Numa % Local' column",
                cause="esxtop writes the NUMA STATS fields only with -a (or an rc file that enables them)",
                fix="capture with `esxtop -b -a -d 5 -n N > file.csv`",
            )
        )
    return sorted(out, key=lambda f: (-f.severity.rank, f.vm is not None))
