"""What-if from a capture: infer a scenario, calibrate it against the capture, apply changes, compare.

ESXi counterpart: the question a VMware engineer answers by hand after reading
esxtop — "if I remove that limit / set preferHT / add a VM / move to that
host, what happens to %RDY?" — answered here by the simulated VMkernel
(:mod:`vmksim.kernel`).

1. **Topology** from the capture (vmksim.analyze.facts): PCPUs from
   ``Physical Cpu(n)``, hyper-threading from ``% Core Util Time``, NUMA nodes
   from ``Numa Node(n)`` and their ``Total MBytes``; one socket per node
   (sockets are not in the capture); nominal MHz from ``Power(n)\\P-State MHZ``
   when present, else :data:`~vmksim.topology.model.DEFAULT_MHZ`.
2. **VMs**: name, vCPUs (the ``vmx-vcpu-N`` worlds), memory (``Memory Size
   MBytes``), and with ``-a`` captures the CPU limit, reservation and shares
   (``Alloc Max/Min/Shares``). A default-field capture has no Alloc counters,
   but it has %MLMTD (esxtop.md §1.4: the default set is Members plus the
   state times): a VM held back by a limit (%MLMTD above
   :data:`BINDING_MLMTD_PCT`) gets a limit equal to what it consumed
   (group %USED × MHz; a limit caps consumption in MHz, esxi-scheduler.md
   §1.10).
3. **Demand**, per VM, by the closed-loop method the kernel's workloads use
   (vmksim.workload: a burst of CPU work, then halted time that starts when the
   burst completes — the finite-source model of sim-engines-and-theory.md
   §4.5). Over an interval a vCPU's time splits into RUN + RDY + CSTP + WAIT
   (esxi-scheduler.md §1.2); ready and co-stop are the *waits for a PCPU*, not
   demand, so they are removed from the cycle. The work of a burst is %RUN on
   a host without HT (the simulated host runs at nominal speed, so RUN is what
   it reproduces; the frequency scaling in %USED, esxtop.md §2.1, is not
   modelled), and %USED capped at %RUN with HT (the HT charge of a busy
   sibling, esxi-scheduler.md §1.6, which the simulation re-creates itself).
   The think time is %WAIT:

   - uncontended utilisation ``u = work / (work + WAIT)``;
   - burst length ``busy_ms = 10 × work% / wakeups_per_s`` and think time
     ``idle_ms = 10 × WAIT% / wakeups_per_s`` when the capture has
     ``Wakeups/sec`` (one burst per wake-up: 3 %RUN at 872 wake-ups/s is 872
     bursts of 0.034 ms a second); otherwise bursts of
     :data:`DEFAULT_BURST_MS` and ``idle_ms = busy_ms × (1 − u) / u``;
   - vCPUs whose %RUN prints as 0.00 (below :data:`IDLE_VCPU_PCT`) are left
     halted (workload ``threads``), so a 16-vCPU VM with 4 busy vCPUs stays
     that way.

4. **System load**: the CPU of every non-VM group (system, helper,
   drivers, ft, vmotion, user worlds such as hostd and esxtop itself;
   esxtop.md §1.4b), without the idle worlds that ESXi 6.5 keeps in
   ``1:system`` and the ``idle`` group of 6.0, in group %USED units (% of one
   PCPU), is written as ``[host.system] cpu_pct`` so that the simulated host
   carries it. It is their work by the rule of step 3 (%RUN without HT), not
   their plain %USED: on a power-managed host %USED is scaled down by the
   clock (esxtop.md §2.1: 6.11 %USED against 8.95 %UTIL on a real capture),
   and the simulated host, at nominal speed, would then be short by that factor.
5. **Run**: the capture's own interval (esxtop ``-d``), for ``duration_s``
   rounded up to whole intervals (at least :data:`MIN_SAMPLES`).
6. **Calibration**: the inferred scenario is simulated unchanged and per VM
   its %RUN, %RDY and (where captured) %MLMTD per vCPU are compared with the
   capture's, with the error relative to the captured value; likewise the
   host's PCPU UTIL. This says how far to trust step 7.
7. **Changes** (``VM:key=value`` settings, another host, added and removed
   VMs) are applied to the scenario and it is simulated again with the same
   seed (common random numbers), so differences come from the change. A
   change the capture cannot support is not simulated but reported: shares
   and reservations on a default-field capture (their current values are not
   in it), and settings that leave the scenario as it was (removing a limit
   that does not bind).

Simplifications: the demand is stationary (the capture's mean; no daily
pattern); memory reclamation and %SWPWT are not simulated by the kernel;
resource pools are not in esxtop captures and are not inferred.
"""

from __future__ import annotations

import copy
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import tomli_w

from vmksim.analyze.compare import Comparison, compare
from vmksim.analyze.counters import (
    ALLOC_MAX,
    ALLOC_MIN,
    ALLOC_SHARES,
    G_USED,
    MLMTD,
    PSTATE_MHZ,
    RUN,
    USED,
    WAIT,
    WAKEUPS,
)
from vmksim.analyze.facts import CaptureData, VmFacts, load_capture, stream_data
from vmksim.analyze.summary import Analysis, analyze
from vmksim.analyze.thresholds import Thresholds
from vmksim.errors import InputError
from vmksim.metrics import Metric
from vmksim.stats.sampler import share_level_of
from vmksim.topology.model import DEFAULT_MHZ

__all__ = [
    "DEFAULT_BURST_MS",
    "DEFAULT_DURATION_S",
    "IDLE_VCPU_PCT",
    "Calibration",
    "SetChange",
    "SystemLoad",
    "VmCalibration",
    "VmDemand",
    "WhatIf",
    "apply_changes",
    "infer_demand",
    "infer_scenario",
    "infer_system_load",
    "run_whatif",
    "scenario_toml",
    "simulate_mapping",
    "write_scenario",
]


#: Burst length (ms of CPU work) when the capture has no Wakeups/sec (default field set). Undocumented:
#: our choice, of the order of ESXi's scheduling quantum and guest timer ticks (esxi-scheduler.md §1.4).
DEFAULT_BURST_MS = 5.0
#: A vCPU whose mean %RUN is below this is idle (left halted): it prints as 0.00 in esxtop's two-decimal
#: percentages (esxtop.md §1.3), i.e. it did nothing the capture can measure.
IDLE_VCPU_PCT = 0.005
#: Simulated time per what-if run (s) unless --duration says otherwise, rounded up to whole intervals.
DEFAULT_DURATION_S = 60.0
#: At least this many samples per simulated run (esxtop -n 3 is a common short capture, esxtop.md §1.5).
MIN_SAMPLES = 3
#: Shortest burst the workload accepts (ms; scenario.py requires busy_ms >= 0.001).
MIN_BURST_MS = 0.001
#: %MLMTD per vCPU (mean) above which a default-field capture shows a binding limit. Our choice: 0.1
#: point, ten times esxtop's resolution (two decimals, esxtop.md §1.3), so rounding noise is not a limit.
BINDING_MLMTD_PCT = 0.1
#: Non-VM groups/worlds that are idle time, not load: the ``idle`` group of ESXi 6.0 and the
#: ``idleN`` worlds that later releases keep in ``1:system`` (esxtop.md §1.3 instance table, §1.4b).
IDLE_GROUP = "idle"
_IDLE_WORLD = re.compile(r"^idle\d+$")


@dataclass(frozen=True, slots=True)
class VmDemand:
    """What a VM's vCPUs want, inferred from the capture (see the module docstring, step 3)."""

    name: str
    vcpus: int
    busy_vcpus: int
    utilisation_pct: float  # uncontended, per busy vCPU
    busy_ms: float
    idle_ms: float
    method: str

    def workload(self) -> dict[str, Any]:
        wl: dict[str, Any] = {
            "kind": "onoff",
            "busy_ms": round(max(self.busy_ms, MIN_BURST_MS), 4),
            "idle_ms": round(self.idle_ms, 4),
        }
        if self.busy_vcpus < self.vcpus:
            wl["kind"] = "threads"
            wl["threads"] = self.busy_vcpus
        return wl

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "vcpus": self.vcpus,
            "busy_vcpus": self.busy_vcpus,
            "utilisation_pct": round(self.utilisation_pct, 2),
            "busy_ms": round(self.busy_ms, 4),
            "idle_ms": round(self.idle_ms, 3),
            "method": self.method,
        }


def _vcpu_means(data: CaptureData, vm: VmFacts, m: Metric) -> np.ndarray | None:
    a = data.vm_vcpu_matrix(vm, m.counter)
    return None if a is None else np.nan_to_num(a).mean(axis=0)


def _work(data: CaptureData, vm: VmFacts) -> np.ndarray | None:
    """Per-vCPU work: %RUN without HT, %USED capped at %RUN with HT (module docstring, step 3)."""
    run, used = _vcpu_means(data, vm, RUN), _vcpu_means(data, vm, USED)
    if run is None:
        return used
    if data.host.ht and used is not None:
        return np.minimum(used, run)
    return run


def infer_demand(data: CaptureData, vm: VmFacts) -> VmDemand:
    run = _vcpu_means(data, vm, RUN)
    work, wait = _work(data, vm), _vcpu_means(data, vm, WAIT)
    if work is None or wait is None:
        raise InputError(
            f"VM {vm.name!r}: the capture has no '{RUN.counter}'/'{USED.counter}' and '{WAIT.counter}' "
            "columns to infer its demand",
            source=data.source,
        )
    busy = (run if run is not None else work) >= IDLE_VCPU_PCT
    n_busy = int(busy.sum())
    if n_busy == 0:
        return VmDemand(vm.name, vm.vcpus, 0, 0.0, DEFAULT_BURST_MS, 1000.0, "idle (%RUN 0.00)")
    w, t = float(work[busy].mean()), float(wait[busy].mean())
    util = 100.0 * w / max(w + t, 1e-9)
    wake = _vcpu_means(data, vm, WAKEUPS)
    rate = float(wake[busy].mean()) if wake is not None else 0.0
    if rate > 0:
        busy_ms, idle_ms = 10.0 * w / rate, 10.0 * t / rate
        method = f"{rate:.0f} wake-ups/s per vCPU"
    else:
        busy_ms = DEFAULT_BURST_MS
        idle_ms = busy_ms * (100.0 - util) / max(util, 1e-9)
        method = f"default {DEFAULT_BURST_MS:g} ms bursts (no {WAKEUPS.counter} in the capture)"
    return VmDemand(vm.name, vm.vcpus, n_busy, util, busy_ms, max(idle_ms, 0.0), method)


@dataclass(frozen=True, slots=True)
class SystemLoad:
    """The non-VM groups' CPU in esxtop group units (% of one PCPU), mean over the capture.

    ``cpu_pct`` is their work by the same rule as a VM's (module docstring, step 3): %RUN without
    HT, %USED capped at %RUN with HT; ``used_pct`` is their plain %USED, for the record.
    """

    cpu_pct: float
    used_pct: float
    groups: tuple[tuple[str, float], ...]  # (group instance, work without idle worlds), largest first

    def to_json(self) -> dict[str, Any]:
        return {
            "cpu_pct": round(self.cpu_pct, 2),
            "used_pct": round(self.used_pct, 2),
            "groups": [[g, round(u, 2)] for g, u in self.groups],
        }


def _mean(a: np.ndarray | None) -> float:
    if a is None:
        return 0.0
    a = a[np.isfinite(a)]
    return float(a.mean()) if a.size else 0.0


def _load_of(data: CaptureData, obj: str, instance: str) -> tuple[float, float]:
    """(work, %USED) of one group or world: work is %RUN, or with HT %USED capped at %RUN."""
    used = _mean(data.series(obj, instance, USED.counter))
    run_s = data.series(obj, instance, RUN.counter)
    if run_s is None:
        return used, used
    run = _mean(run_s)
    return (min(used, run) if data.host.ht else run), used


def _non_vm_groups(data: CaptureData) -> list[str]:
    vm_groups = {vm.group for vm in data.vms}
    return [
        c.instance
        for c in data.columns
        if c.object == G_USED.object and c.counter == G_USED.counter and c.instance
        and c.instance not in vm_groups and c.instance.split(":", 1)[-1] != IDLE_GROUP
    ]  # fmt: skip


def infer_system_load(data: CaptureData) -> SystemLoad:
    """The non-VM groups' load, the idle group and idle worlds excluded (module docstring, step 4)."""
    groups = _non_vm_groups(data)
    idle: dict[str, tuple[float, float]] = {}
    for c in data.columns:
        if c.object != USED.object or c.counter != USED.counter or not c.instance:
            continue
        if _IDLE_WORLD.match(c.instance.rsplit(":", 1)[-1]):
            owner = next((g for g in groups if c.instance.startswith(g + ":")), None)
            if owner is not None:
                w, u = _load_of(data, c.object, c.instance)
                prev = idle.get(owner, (0.0, 0.0))
                idle[owner] = (prev[0] + w, prev[1] + u)
    loads, used_total = [], 0.0
    for g in groups:
        w, u = _load_of(data, G_USED.object.value, g)
        iw, iu = idle.get(g, (0.0, 0.0))
        loads.append((g, max(w - iw, 0.0)))
        used_total += max(u - iu, 0.0)
    loads.sort(key=lambda x: -x[1])
    return SystemLoad(sum((w for _, w in loads), 0.0), used_total, tuple(loads))


def _host_mapping(data: CaptureData, system: SystemLoad) -> dict[str, Any]:
    h = data.host
    nodes = h.numa_nodes if h.cores % h.numa_nodes == 0 else 1
    out: dict[str, Any] = {
        "name": h.name,
        "sockets": nodes,
        "cores_per_socket": h.cores // nodes,
        "threads_per_core": 2 if h.ht else 1,
        "numa_nodes": nodes,
        "mhz": _nominal_mhz(data),
    }
    memory = h.memory_mb or sum(h.node_memory_mb)
    if memory:
        out["memory_gb"] = round(memory / 1024, 3)
    out["system"] = {"cpu_pct": round(system.cpu_pct, 2)}
    return out


def _nominal_mhz(data: CaptureData) -> int:
    pstates = [c for c in data.columns if c.object == PSTATE_MHZ.object and c.counter == PSTATE_MHZ.counter]
    values = [data.series(c.object, c.instance, c.counter) for c in pstates]
    tops = [float(np.nanmax(v)) for v in values if v is not None and np.isfinite(v).any()]
    return round(max(tops)) if tops and max(tops) > 0 else DEFAULT_MHZ


def _alloc(data: CaptureData, vm: VmFacts, m: Metric) -> float | None:
    s = data.series(m.object.value, vm.group, m.counter)
    if s is None or not np.isfinite(s).any():
        return None
    return float(np.nanmedian(s))


def _binding_limit_mhz(data: CaptureData, vm: VmFacts, mhz: int) -> int | None:
    """A default-field capture's limit: what a VM held back by one (%MLMTD) consumed (docstring, step 2)."""
    mlmtd = data.vm_per_vcpu(vm, MLMTD.counter)
    used = data.series(G_USED.object.value, vm.group, G_USED.counter)
    if mlmtd is None or used is None or _mean(mlmtd) < BINDING_MLMTD_PCT:
        return None
    return max(round(_mean(used) * mhz / 100.0), 1)


def _settings(data: CaptureData, vm: VmFacts, mhz: int) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    amax, amin, shares = (_alloc(data, vm, m) for m in (ALLOC_MAX, ALLOC_MIN, ALLOC_SHARES))
    if amax is not None and amax > 0:
        settings["sched.cpu.max"] = round(amax)
    elif amax is None and (limit := _binding_limit_mhz(data, vm, mhz)) is not None:
        settings["sched.cpu.max"] = limit
    if amin is not None and amin > 0:
        settings["sched.cpu.min"] = round(amin)
    if shares is not None and shares > 0 and round(shares) != 1000 * vm.vcpus:
        settings["sched.cpu.shares"] = round(shares)
    elif shares is not None and shares < 0:
        # A VM at a share level: esxtop writes the level's code, not the count (stats.sampler
        # SHARE_LEVEL_CODES, esxtop.md §1.4b); normal is the default, so only low/high are written.
        level = share_level_of(shares)
        if level is not None and level != "normal":
            settings["sched.cpu.shares"] = level
    return settings


def _run_table(data: CaptureData, duration_s: float, seed: int) -> dict[str, Any]:
    """The capture's interval, for *duration_s* rounded up to whole intervals (docstring, step 5)."""
    interval_ms = max(round(data.interval_s * 1000), 1)
    samples = max(MIN_SAMPLES, math.ceil(duration_s * 1000 / interval_ms - 1e-9))
    return {"duration_s": interval_ms * samples / 1000, "interval_s": interval_ms / 1000, "seed": seed}


def infer_scenario(
    data: CaptureData, *, duration_s: float = DEFAULT_DURATION_S, seed: int = 1
) -> tuple[dict[str, Any], list[VmDemand]]:
    """A scenario mapping (scenario TOML as a dict) for the capture, and the demand of each VM."""
    if not data.vms:
        raise InputError(
            "the capture has no VMs (no vmx-vcpu worlds): nothing to simulate", source=data.source
        )
    host = _host_mapping(data, infer_system_load(data))
    demands, vms = [], []
    for vm in data.vms:
        d = infer_demand(data, vm)
        demands.append(d)
        entry: dict[str, Any] = {"name": vm.name, "vcpus": vm.vcpus}
        if vm.memory_mb:
            entry["memory_gb"] = round(vm.memory_mb / 1024, 3)
        if settings := _settings(data, vm, host["mhz"]):
            entry["settings"] = settings
        entry["workload"] = d.workload()
        vms.append(entry)
    mapping = {
        "name": f"inferred from {os.path.basename(data.source)}",
        "host": host,
        "run": _run_table(data, duration_s, seed),
        "vm": vms,
    }
    return mapping, demands


# --- changes ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetChange:
    """A .vmx setting for one VM (``*`` = every VM); ``value`` None removes the key."""

    vm: str
    key: str
    value: str | None


#: Limit keys where -1 or "unlimited" removes the limit (ESXi writes -1 or leaves the key out).
LIMIT_KEYS = ("sched.cpu.max", "sched.mem.max")
#: Allocation keys whose current values a default-field capture does not hold: esxtop writes the
#: Alloc counters only with -a (esxtop.md §1.4). Limits are excepted when %MLMTD shows whether one binds.
ALLOC_KEYS = ("sched.cpu.shares", "sched.cpu.min", "sched.mem.shares", "sched.mem.min", "sched.mem.max")


def unpredictable(data: CaptureData, change: SetChange) -> str | None:
    """Why *change* cannot be predicted from this capture, or None when it can."""
    if data.all_counters:
        return None
    unknown = change.key in ALLOC_KEYS or (
        change.key == "sched.cpu.max" and not data.has(MLMTD.object.value, MLMTD.counter)
    )
    if not unknown:
        return None
    return (
        f"cannot predict {change.key}: this capture has esxtop's default fields, so the VMs' current "
        f"CPU/memory limits, reservations and shares are unknown ({ALLOC_SHARES.counter}, "
        f"{ALLOC_MIN.counter}, {ALLOC_MAX.counter} are written only by esxtop -b -a); capture with -a "
        "to predict this change"
    )


def _vm_names(mapping: Mapping[str, Any]) -> list[str]:
    return [str(v["name"]) for v in mapping.get("vm", [])]


def _apply_set(out: dict[str, Any], change: SetChange) -> bool:
    """Apply one setting; True if any VM's settings changed."""
    names = _vm_names(out)
    if change.vm != "*" and change.vm not in names:
        raise InputError(f"no VM {change.vm!r} in the scenario (VMs: {', '.join(names)})", source="--set")
    changed = False
    for entry in out["vm"]:
        if change.vm not in ("*", entry["name"]):
            continue
        settings = dict(entry.get("settings", {}))
        before = settings.get(change.key)
        if change.value is None:
            settings.pop(change.key, None)
        else:
            settings[change.key] = change.value
        if str(settings.get(change.key)) != str(before):
            changed = True
        if settings:
            entry["settings"] = settings
        else:
            entry.pop("settings", None)
    return changed


def _describe(change: SetChange) -> str:
    shown = change.value if change.value is not None else (
        "unlimited" if change.key in LIMIT_KEYS else "(removed)"
    )  # fmt: skip
    return f"{'every VM' if change.vm == '*' else change.vm}: {change.key} = {shown}"


@dataclass(slots=True)
class Changes:
    """The changed scenario, what was applied, and what was not (with why)."""

    mapping: dict[str, Any]
    applied: list[str] = field(default_factory=list)
    not_applied: list[str] = field(default_factory=list)


def apply_changes(
    mapping: Mapping[str, Any],
    *,
    sets: Sequence[SetChange] = (),
    host: Mapping[str, Any] | None = None,
    add_vms: Sequence[Mapping[str, Any]] = (),
    remove_vms: Sequence[str] = (),
    data: CaptureData | None = None,
) -> Changes:
    """A changed copy of *mapping*; changes the capture (*data*) cannot support are left out, with why."""
    out = Changes(copy.deepcopy(dict(mapping)))
    for name in remove_vms:
        if name not in _vm_names(out.mapping):
            names = ", ".join(_vm_names(out.mapping))
            raise InputError(f"no VM {name!r} in the capture (VMs: {names})", source="--remove-vm")
        out.mapping["vm"] = [v for v in out.mapping["vm"] if v["name"] != name]
        out.applied.append(f"removed VM {name}")
    for change in sets:
        why = unpredictable(data, change) if data is not None else None
        if why is not None:
            _apply_set(copy.deepcopy(out.mapping), change)  # still validates the VM name
            out.not_applied.append(f"{_describe(change)}: {why}")
        elif _apply_set(out.mapping, change):
            out.applied.append(_describe(change))
        else:
            out.not_applied.append(
                f"{_describe(change)}: no change, the inferred scenario already has it{_why_same(change)}"
            )
    if host is not None:
        out.mapping["host"] = {**host, "system": mapping.get("host", {}).get("system", {"cpu_pct": 0.0})}
        out.applied.append(f"host {host['name']}: {host['sockets']} x {host['cores_per_socket']} cores")
    for entry in add_vms:
        if entry["name"] in _vm_names(out.mapping):
            raise InputError(f"VM {entry['name']!r} already exists", source="--add-vm")
        out.mapping.setdefault("vm", []).append(dict(entry))
        out.applied.append(f"added VM {entry['name']} ({entry['vcpus']} vCPUs)")
    return out


def _why_same(change: SetChange) -> str:
    if change.key == "sched.cpu.max" and change.value is None:
        return f" (no limit binds: {MLMTD.column} stays below {BINDING_MLMTD_PCT:g} in the capture)"
    return ""


# --- simulation ---------------------------------------------------------------------------------


def simulate_mapping(mapping: Mapping[str, Any], label: str, *, jit: bool | None = None) -> CaptureData:
    """Simulate a scenario mapping with the kernel and read it back as esxtop would (all counters)."""
    from vmksim.analyze.synth import simulated_recording

    return stream_data(simulated_recording(dict(mapping), all_counters=True, label=label, jit=jit), label)


def _rel(sim: float, cap: float) -> float:
    """Error relative to the captured value ((sim − cap) / cap); NaN where the capture shows 0 or nothing."""
    if not (math.isfinite(sim) and math.isfinite(cap)) or cap <= 0:
        return math.nan
    return (sim - cap) / cap


@dataclass(frozen=True, slots=True)
class VmCalibration:
    """One VM: per-vCPU %RUN, %RDY, %MLMTD in the capture and simulated unchanged (NaN: not captured)."""

    name: str
    run_capture: float
    run_simulated: float
    ready_capture: float
    ready_simulated: float
    mlmtd_capture: float
    mlmtd_simulated: float

    @property
    def run_rel(self) -> float:
        return _rel(self.run_simulated, self.run_capture)

    @property
    def ready_rel(self) -> float:
        return _rel(self.ready_simulated, self.ready_capture)

    def to_json(self) -> dict[str, Any]:
        def r(x: float) -> float | None:
            return round(x, 3) if math.isfinite(x) else None

        return {
            "name": self.name,
            "run_capture": r(self.run_capture), "run_simulated": r(self.run_simulated),
            "run_rel_error": r(self.run_rel),
            "ready_capture": r(self.ready_capture), "ready_simulated": r(self.ready_simulated),
            "ready_error": r(self.ready_simulated - self.ready_capture), "ready_rel_error": r(self.ready_rel),
            "mlmtd_capture": r(self.mlmtd_capture), "mlmtd_simulated": r(self.mlmtd_simulated),
        }  # fmt: skip


def _mae(pairs: Sequence[tuple[float, float]]) -> float:
    errs = [abs(s - c) for c, s in pairs if math.isfinite(c) and math.isfinite(s)]
    return float(np.mean(errs)) if errs else math.nan


@dataclass(frozen=True, slots=True)
class Calibration:
    """The unchanged simulation against the capture: per VM (per vCPU) and the host's PCPU UTIL."""

    rows: tuple[VmCalibration, ...]
    host_util_capture: float
    host_util_simulated: float

    @property
    def ready_mae(self) -> float:
        return _mae([(r.ready_capture, r.ready_simulated) for r in self.rows])

    @property
    def run_mae(self) -> float:
        return _mae([(r.run_capture, r.run_simulated) for r in self.rows])

    @property
    def mlmtd_mae(self) -> float:
        return _mae([(r.mlmtd_capture, r.mlmtd_simulated) for r in self.rows])

    @property
    def host_util_rel(self) -> float:
        return _rel(self.host_util_simulated, self.host_util_capture)

    @property
    def run_rel_max(self) -> float:
        errs = [abs(r.run_rel) for r in self.rows if math.isfinite(r.run_rel)]
        return max(errs) if errs else math.nan

    def to_json(self) -> dict[str, Any]:
        def r(x: float) -> float | None:
            return round(x, 3) if math.isfinite(x) else None

        return {
            "ready_mae": r(self.ready_mae), "run_mae": r(self.run_mae), "mlmtd_mae": r(self.mlmtd_mae),
            "run_rel_error_max": r(self.run_rel_max),
            "host_util_capture": r(self.host_util_capture), "host_util_simulated": r(self.host_util_simulated),
            "host_util_rel_error": r(self.host_util_rel),
            "vms": [row.to_json() for row in self.rows],
        }  # fmt: skip


def calibrate(capture: Analysis, simulated: Analysis) -> Calibration:
    sim = {v.name: v for v in simulated.vms}
    has_mlmtd = capture.data.has(MLMTD.object.value, MLMTD.counter) or capture.data.has(
        G_USED.object.value, MLMTD.counter
    )
    rows = []
    for v in capture.vms:
        s = sim.get(v.name)
        if s is not None:
            ml = (v.max_limited, s.max_limited) if has_mlmtd else (math.nan, math.nan)
            rows.append(VmCalibration(v.name, v.run, s.run, v.ready, s.ready, *ml))
    return Calibration(tuple(rows), capture.host.util, simulated.host.util)


@dataclass(frozen=True, slots=True)
class WhatIf:
    capture: Analysis
    baseline: Analysis
    changed: Analysis | None
    """None when no change could be simulated (nothing given, or nothing the capture supports)."""
    scenario: dict[str, Any]
    changed_scenario: dict[str, Any]
    demands: tuple[VmDemand, ...]
    system: SystemLoad
    changes: tuple[str, ...]
    not_applied: tuple[str, ...]
    calibration: Calibration

    @property
    def comparison(self) -> Comparison | None:
        return None if self.changed is None else compare(self.baseline, self.changed)

    def to_json(self) -> dict[str, Any]:
        c = self.comparison.to_json() if self.comparison is not None else None
        return {
            "capture": {
                "source": self.capture.data.source,
                "host": self.capture.data.host.to_json(),
                "samples": self.capture.data.samples,
                "interval_s": self.capture.data.interval_s,
            },
            "scenario": self.scenario,
            "changed_scenario": self.changed_scenario,
            "demand": [d.to_json() for d in self.demands],
            "system_load": self.system.to_json(),
            "changes": list(self.changes),
            "not_applied": list(self.not_applied),
            "calibration": self.calibration.to_json(),
            "before_after": None if c is None else {k: c[k] for k in ("host", "vms", "fixed", "new")},
        }


def run_whatif(
    path: str | os.PathLike[str],
    *,
    sets: Sequence[SetChange] = (),
    host: Mapping[str, Any] | None = None,
    add_vms: Sequence[Mapping[str, Any]] = (),
    remove_vms: Sequence[str] = (),
    duration_s: float = DEFAULT_DURATION_S,
    seed: int = 1,
    thresholds: Thresholds | None = None,
    jit: bool | None = None,
) -> WhatIf:
    """Infer, calibrate, change, simulate again (see the module docstring); ``jit`` as for the kernel."""
    data = load_capture(path)
    mapping, demands = infer_scenario(data, duration_s=duration_s, seed=seed)
    ch = apply_changes(mapping, sets=sets, host=host, add_vms=add_vms, remove_vms=remove_vms, data=data)
    th = thresholds or Thresholds()
    capture = analyze(data, th)
    baseline = analyze(simulate_mapping(mapping, "simulated as captured", jit=jit), th)
    after = (
        analyze(simulate_mapping(ch.mapping, "simulated with the changes", jit=jit), th)
        if ch.applied
        else None
    )
    return WhatIf(
        capture, baseline, after, mapping, ch.mapping, tuple(demands), infer_system_load(data),
        tuple(ch.applied), tuple(ch.not_applied), calibrate(capture, baseline),
    )  # fmt: skip


# --- TOML ------------------------------------------------------------------------------------------

_TOML_HEADER = "# scenario inferred by `vmksim whatif` (see vmksim.whatif for the method)\n"


def scenario_toml(mapping: Mapping[str, Any]) -> str:
    """The scenario mapping as TOML that `vmksim run` reads (tomli-w; [host], [run], [[vm]])."""
    return _TOML_HEADER + tomli_w.dumps(dict(mapping))


def write_scenario(mapping: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    from vmksim.fileio import atomic_write

    text = scenario_toml(mapping)
    with atomic_write(path, "w", encoding="utf-8") as fh:
        fh.write(text)
