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
   (``Alloc Max/Min/Shares``).
3. **Demand**, per VM, by the closed-loop method the kernel's workloads use
   (vmksim.workload: a burst of CPU work, then halted time that starts when the
   burst completes — the finite-source model of sim-engines-and-theory.md
   §4.5). Over an interval a vCPU's time splits into RUN + RDY + CSTP + WAIT
   (esxi-scheduler.md §1.2); ready and co-stop are the *waits for a PCPU*, not
   demand, so they are removed from the cycle. The work done is %USED (RUN
   charged for HT, esxi-scheduler.md §1.6, which is also what the kernel's
   vCPUs get done), the think time is %WAIT:

   - uncontended utilisation ``u = USED / (USED + WAIT)``;
   - burst length ``busy_ms = 10 × USED% / wakeups_per_s`` and think time
     ``idle_ms = 10 × WAIT% / wakeups_per_s`` when the capture has
     ``Wakeups/sec`` (one burst per wake-up); otherwise bursts of
     :data:`DEFAULT_BURST_MS` and ``idle_ms = busy_ms × (1 − u) / u``;
   - vCPUs that do (almost) nothing (%USED below :data:`IDLE_VCPU_PCT`) are
     left halted (workload ``threads``), so a 16-vCPU VM with 4 busy vCPUs
     stays that way.

4. **Calibration**: the inferred scenario is simulated unchanged for
   ``duration_s`` and its per-VM %RDY per vCPU compared with the capture's;
   the mean absolute error (points of %RDY) says how far to trust step 5.
5. **Changes** (``--set VM:key=value``, ``--host``, ``--add-vm``,
   ``--remove-vm``) are applied to the scenario and it is simulated again with
   the same seed (common random numbers), so differences come from the change.

Simplifications: the demand is stationary (the capture's mean; no daily
pattern); memory reclamation, %SWPWT and helper worlds are not simulated by
the kernel; resource pools are not in esxtop captures and are not inferred.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO, cast

import numpy as np

from vmksim.analyze.compare import Comparison, compare
from vmksim.analyze.facts import CaptureData, VmFacts, load_capture, stream_data
from vmksim.analyze.summary import Analysis, analyze
from vmksim.analyze.thresholds import Thresholds
from vmksim.errors import InputError
from vmksim.topology.model import DEFAULT_MHZ

__all__ = [
    "DEFAULT_BURST_MS",
    "DEFAULT_DURATION_S",
    "IDLE_VCPU_PCT",
    "Calibration",
    "VmDemand",
    "WhatIf",
    "apply_changes",
    "infer_demand",
    "infer_scenario",
    "run_whatif",
    "scenario_toml",
    "simulate_mapping",
]

#: Burst length (ms of CPU work) when the capture has no Wakeups/sec (default field set). Undocumented:
#: our choice, of the order of ESXi's scheduling quantum and guest timer ticks (esxi-scheduler.md §1.4).
DEFAULT_BURST_MS = 5.0
#: A vCPU whose %USED is below this is treated as idle (left halted in the scenario).
IDLE_VCPU_PCT = 1.0
#: Simulated time per what-if run (s) unless --duration says otherwise; the capture's own duration if shorter.
DEFAULT_DURATION_S = 60.0
#: At least this many samples per simulated run (the interval shrinks for short runs).
MIN_SAMPLES = 6
#: Shortest burst the workload accepts (ms; scenario.py requires busy_ms >= 0.001).
MIN_BURST_MS = 0.01


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
            "busy_ms": round(self.busy_ms, 4),
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
            "busy_ms": round(self.busy_ms, 3),
            "idle_ms": round(self.idle_ms, 3),
            "method": self.method,
        }


def _vcpu_means(data: CaptureData, vm: VmFacts, counter: str) -> np.ndarray | None:
    m = data.vm_vcpu_matrix(vm, counter)
    return None if m is None else np.nan_to_num(m).mean(axis=0)


def infer_demand(data: CaptureData, vm: VmFacts) -> VmDemand:
    used = _vcpu_means(data, vm, "% Used")
    if used is None:
        used = _vcpu_means(data, vm, "% Run")
    wait = _vcpu_means(data, vm, "% Wait")
    if used is None or wait is None:
        raise InputError(
            f"VM {vm.name!r}: the capture has no '% Used'/'% Run' and '% Wait' columns to infer its demand",
            source=data.source,
        )
    busy = used >= IDLE_VCPU_PCT
    n_busy = int(busy.sum())
    if n_busy == 0:
        return VmDemand(vm.name, vm.vcpus, 0, 0.0, DEFAULT_BURST_MS, 1000.0, "idle")
    u_used, u_wait = float(used[busy].mean()), float(wait[busy].mean())
    util = 100.0 * u_used / max(u_used + u_wait, 1e-9)
    wake = _vcpu_means(data, vm, "Wakeups/sec")
    rate = float(wake[busy].mean()) if wake is not None else 0.0
    if rate > 0:
        busy_ms = max(10.0 * u_used / rate, MIN_BURST_MS)
        idle_ms = 10.0 * u_wait / rate
        method = f"{rate:.0f} wake-ups/s per vCPU"
    else:
        busy_ms = DEFAULT_BURST_MS
        idle_ms = busy_ms * (100.0 - util) / max(util, 1e-9)
        method = f"default {DEFAULT_BURST_MS:g} ms bursts (no Wakeups/sec in the capture)"
    return VmDemand(vm.name, vm.vcpus, n_busy, util, busy_ms, max(idle_ms, 0.0), method)


def _host_mapping(data: CaptureData) -> dict[str, Any]:
    h = data.host
    nodes = h.numa_nodes if h.cores % h.numa_nodes == 0 else 1
    mhz = DEFAULT_MHZ
    pstates = [c for c in data.columns if c.object == "Power" and c.counter == "P-State MHZ"]
    if pstates:
        values = [data.series(c.object, c.instance, c.counter) for c in pstates]
        top = max(float(np.nanmax(v)) for v in values if v is not None and np.isfinite(v).any())
        mhz = round(top) if top > 0 else DEFAULT_MHZ
    memory = h.memory_mb or sum(h.node_memory_mb)
    out: dict[str, Any] = {
        "name": h.name,
        "sockets": nodes,
        "cores_per_socket": h.cores // nodes,
        "threads_per_core": 2 if h.ht else 1,
        "numa_nodes": nodes,
        "mhz": mhz,
    }
    if memory:
        out["memory_gb"] = round(memory / 1024, 3)
    return out


def _alloc(data: CaptureData, vm: VmFacts, counter: str) -> float | None:
    s = data.series("Group Cpu", vm.group, counter)
    if s is None or not np.isfinite(s).any():
        return None
    return float(np.nanmedian(s))


def infer_scenario(
    data: CaptureData, *, duration_s: float = DEFAULT_DURATION_S, seed: int = 1
) -> tuple[dict[str, Any], list[VmDemand]]:
    """A scenario mapping (scenario TOML as a dict) for the capture, and the demand of each VM."""
    if not data.vms:
        raise InputError(
            "the capture has no VMs (no vmx-vcpu worlds): nothing to simulate", source=data.source
        )
    duration = min(duration_s, data.duration_s) if data.duration_s > 0 else duration_s
    # Whole intervals only: a short last sample would weigh as much as a full one in the means.
    samples = max(MIN_SAMPLES, math.ceil(duration / data.interval_s - 1e-9))
    interval_ms = max(round(duration * 1000 / samples), 1)
    duration, interval = interval_ms * samples / 1000, interval_ms / 1000
    demands = []
    vms = []
    for vm in data.vms:
        d = infer_demand(data, vm)
        demands.append(d)
        entry: dict[str, Any] = {"name": vm.name, "vcpus": vm.vcpus, "workload": d.workload()}
        if vm.memory_mb:
            entry["memory_gb"] = round(vm.memory_mb / 1024, 3)
        settings: dict[str, Any] = {}
        amax, amin, shares = (_alloc(data, vm, c) for c in ("Alloc Max", "Alloc Min", "Alloc Shares"))
        if amax is not None and amax > 0:
            settings["sched.cpu.max"] = round(amax)
        if amin is not None and amin > 0:
            settings["sched.cpu.min"] = round(amin)
        if shares is not None and shares > 0 and round(shares) != 1000 * vm.vcpus:
            settings["sched.cpu.shares"] = round(shares)
        if settings:
            entry["settings"] = settings
        vms.append(entry)
    mapping = {
        "name": f"inferred from {os.path.basename(data.source)}",
        "host": _host_mapping(data),
        "run": {"duration_s": round(duration, 3), "interval_s": round(interval, 3), "seed": seed},
        "vm": vms,
    }
    return mapping, demands


# --- changes ---------------------------------------------------------------------------------------


def _vm_names(mapping: Mapping[str, Any]) -> list[str]:
    return [str(v["name"]) for v in mapping.get("vm", [])]


#: Limit keys where -1 or "unlimited" removes the limit (ESXi writes -1 or leaves the key out).
_LIMIT_KEYS = ("sched.cpu.max", "sched.mem.max")


def parse_set(item: str) -> tuple[str, str, str]:
    """``VM:key=value`` → (vm, key, value); VM may hold colons, ``*`` means every VM."""
    left, sep, value = item.partition("=")
    vm, colon, key = left.rpartition(":")
    if not sep or not colon or not key.strip():
        raise InputError(
            f"expected VM:KEY=VALUE (e.g. db:numa.vcpu.preferHT=TRUE), got {item!r}", source="--set"
        )
    return vm.strip() or "*", key.strip(), value.strip()


def parse_add_vm(item: str) -> dict[str, Any]:
    """``NAME:VCPUS[:UTIL_PCT[:MEMORY_GB]]`` → a scenario VM entry (onoff bursts of DEFAULT_BURST_MS)."""
    parts = item.split(":")
    if len(parts) < 2 or len(parts) > 4 or not parts[0].strip():
        raise InputError(f"expected NAME:VCPUS[:UTIL_PCT[:MEMORY_GB]], got {item!r}", source="--add-vm")
    try:
        vcpus = int(parts[1])
        util = float(parts[2]) if len(parts) > 2 else 50.0
        memory = float(parts[3]) if len(parts) > 3 else 4.0
    except ValueError:
        raise InputError(
            f"VCPUS, UTIL_PCT and MEMORY_GB must be numbers, got {item!r}", source="--add-vm"
        ) from None
    if vcpus < 1 or not 0 < util <= 100 or memory <= 0:
        raise InputError(
            f"need VCPUS >= 1, 0 < UTIL_PCT <= 100, MEMORY_GB > 0; got {item!r}", source="--add-vm"
        )
    idle = DEFAULT_BURST_MS * (100.0 - util) / util
    return {
        "name": parts[0].strip(),
        "vcpus": vcpus,
        "memory_gb": memory,
        "workload": {"kind": "onoff", "busy_ms": DEFAULT_BURST_MS, "idle_ms": round(idle, 4)},
    }


def host_mapping_of(text: str) -> dict[str, Any]:
    """``--host`` (preset, key=value spec or file) as a scenario [host] table."""
    from vmksim.topology import resolve_host

    h = resolve_host(text)
    return {
        "name": h.name,
        "sockets": h.sockets,
        "cores_per_socket": h.cores_per_socket,
        "threads_per_core": h.threads_per_core,
        "numa_nodes": h.numa_nodes,
        "memory_gb": h.memory_mb / 1024,
        "mhz": h.mhz,
        "llc_per_node": h.llc_per_node,
    }


def apply_changes(
    mapping: Mapping[str, Any],
    *,
    sets: Sequence[str] = (),
    host: str | None = None,
    add_vms: Sequence[str] = (),
    remove_vms: Sequence[str] = (),
) -> tuple[dict[str, Any], list[str]]:
    """A changed copy of *mapping* and one line per change, for the report."""
    out = copy.deepcopy(dict(mapping))
    notes: list[str] = []
    names = _vm_names(out)
    for name in remove_vms:
        if name not in names:
            raise InputError(f"no VM {name!r} in the capture (VMs: {', '.join(names)})", source="--remove-vm")
        out["vm"] = [v for v in out["vm"] if v["name"] != name]
        notes.append(f"removed VM {name}")
    names = _vm_names(out)
    for item in sets:
        vm, key, value = parse_set(item)
        targets = names if vm == "*" else [vm]
        if vm != "*" and vm not in names:
            raise InputError(f"no VM {vm!r} in the scenario (VMs: {', '.join(names)})", source="--set")
        for entry in out["vm"]:
            if entry["name"] in targets:
                settings = entry.setdefault("settings", {})
                if value == "" or (key in _LIMIT_KEYS and value.lower() in ("-1", "unlimited")):
                    settings.pop(key, None)
                else:
                    settings[key] = value
        shown = (
            "unlimited"
            if key in _LIMIT_KEYS and value.lower() in ("-1", "unlimited")
            else value or "(removed)"
        )
        notes.append(f"{'every VM' if vm == '*' else vm}: {key} = {shown}")
    if host is not None:
        out["host"] = host_mapping_of(host)
        notes.append(f"host {host}: {out['host']['sockets']} x {out['host']['cores_per_socket']} cores")
    for item in add_vms:
        entry = parse_add_vm(item)
        if entry["name"] in _vm_names(out):
            raise InputError(f"VM {entry['name']!r} already exists", source="--add-vm")
        out.setdefault("vm", []).append(entry)
        notes.append(f"added VM {entry['name']} ({entry['vcpus']} vCPUs)")
    return out, notes


# --- simulation ---------------------------------------------------------------------------------


def simulate_mapping(mapping: Mapping[str, Any], label: str, *, jit: bool | None = None) -> CaptureData:
    """Simulate a scenario mapping with the kernel and read it back as esxtop would (all counters)."""
    from vmksim.analyze.synth import simulated_recording

    return stream_data(simulated_recording(dict(mapping), all_counters=True, label=label, jit=jit), label)


@dataclass(frozen=True, slots=True)
class Calibration:
    """Per-VM %RDY per vCPU in the capture vs the unchanged simulation; error = simulated − captured."""

    rows: tuple[
        tuple[str, float, float, float, float], ...
    ]  # name, rdy capture, rdy sim, run capture, run sim

    @property
    def ready_mae(self) -> float:
        errs = [abs(s - c) for _, c, s, _, _ in self.rows if math.isfinite(c) and math.isfinite(s)]
        return float(np.mean(errs)) if errs else math.nan

    @property
    def run_mae(self) -> float:
        errs = [abs(s - c) for _, _, _, c, s in self.rows if math.isfinite(c) and math.isfinite(s)]
        return float(np.mean(errs)) if errs else math.nan

    def to_json(self) -> dict[str, Any]:
        def r(x: float) -> float | None:
            return round(x, 2) if math.isfinite(x) else None

        return {
            "ready_mae": r(self.ready_mae),
            "run_mae": r(self.run_mae),
            "vms": [
                {"name": n, "ready_capture": r(c), "ready_simulated": r(s), "ready_error": r(s - c),
                 "run_capture": r(rc), "run_simulated": r(rs)}
                for n, c, s, rc, rs in self.rows
            ],
        }  # fmt: skip


def calibrate(capture: Analysis, simulated: Analysis) -> Calibration:
    sim = {v.name: v for v in simulated.vms}
    rows = []
    for v in capture.vms:
        s = sim.get(v.name)
        if s is not None:
            rows.append((v.name, v.ready, s.ready, v.run, s.run))
    return Calibration(tuple(rows))


@dataclass(frozen=True, slots=True)
class WhatIf:
    capture: Analysis
    baseline: Analysis
    changed: Analysis
    scenario: dict[str, Any]
    changed_scenario: dict[str, Any]
    demands: tuple[VmDemand, ...]
    changes: tuple[str, ...]
    calibration: Calibration

    @property
    def comparison(self) -> Comparison:
        return compare(self.baseline, self.changed)

    def to_json(self) -> dict[str, Any]:
        c = self.comparison.to_json()
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
            "changes": list(self.changes),
            "calibration": self.calibration.to_json(),
            "before_after": {"host": c["host"], "vms": c["vms"], "fixed": c["fixed"], "new": c["new"]},
        }


def run_whatif(
    path: str | os.PathLike[str],
    *,
    sets: Sequence[str] = (),
    host: str | None = None,
    add_vms: Sequence[str] = (),
    remove_vms: Sequence[str] = (),
    duration_s: float = DEFAULT_DURATION_S,
    seed: int = 1,
    thresholds: Thresholds | None = None,
    jit: bool | None = None,
) -> WhatIf:
    """Infer, calibrate, change, simulate again (see the module docstring); ``jit`` as for the kernel."""
    data = load_capture(path)
    mapping, demands = infer_scenario(data, duration_s=duration_s, seed=seed)
    changed, notes = apply_changes(mapping, sets=sets, host=host, add_vms=add_vms, remove_vms=remove_vms)
    th = thresholds or Thresholds()
    capture = analyze(data, th)
    baseline = analyze(simulate_mapping(mapping, "simulated as captured", jit=jit), th)
    after = (
        analyze(simulate_mapping(changed, "simulated with the changes", jit=jit), th) if notes else baseline
    )
    return WhatIf(
        capture, baseline, after, mapping, changed, tuple(demands), tuple(notes), calibrate(capture, baseline)
    )


# --- TOML ------------------------------------------------------------------------------------------


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    text = str(v).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _toml_key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() else _toml_value(k)


def scenario_toml(mapping: Mapping[str, Any]) -> str:
    """The scenario mapping as TOML that `vmksim run` reads (plain keys, [host], [run], [[vm]])."""
    lines = ["# scenario inferred by `vmksim whatif` (see vmksim.whatif for the method)"]
    for k, v in mapping.items():
        if not isinstance(v, dict | list):
            lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
    for k in ("host", "run"):
        if k in mapping:
            lines += ["", f"[{k}]"] + [f"{_toml_key(a)} = {_toml_value(b)}" for a, b in mapping[k].items()]
    for vm in mapping.get("vm", []):
        lines += ["", "[[vm]]"]
        lines += [f"{_toml_key(a)} = {_toml_value(b)}" for a, b in vm.items() if not isinstance(b, dict)]
        for sub in ("settings", "workload"):
            if sub in vm:
                lines += [f"[vm.{sub}]"] + [f"{_toml_key(a)} = {_toml_value(b)}" for a, b in vm[sub].items()]
    return "\n".join(lines) + "\n"


def write_scenario(mapping: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    from vmksim.fileio import atomic_write

    with atomic_write(path, "w", encoding="utf-8") as fh:
        cast(TextIO, fh).write(scenario_toml(mapping))
