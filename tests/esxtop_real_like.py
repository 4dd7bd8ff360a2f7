"""A hand-built esxtop -a capture shaped like a real 2-PCPU ESXi 6.5 host with 6 light VMs.

Built from the format rules of ../shared/reference/esxtop.md, not copied from any output:
§1.3 (``(PDH-CSV 4.0) (UTC)(0)``, ``\\\\HOST\\Object(Instance)\\Counter``, every cell quoted,
``MM/DD/YYYY HH:MM:SS``, two decimals / integers), §1.4 (counters per object), §1.4b (block order;
groups ``1:system`` holding the ``idleN`` worlds, ``8:helper``, ``9:drivers``, ``10:ft``,
``11:vmotion``, user-world groups ``name.PID``; a VM's worlds vmx, vmast, vthread, mks, svga,
NetWorld, the storage adapter and one vmx-vcpu-K per vCPU; Alloc Shares -3 and Alloc Min Limited
-1), §2.1 (%USED below %RUN on a power-managed host: 6.11 against 8.95).

The load is the one issue 10 item 4 describes: five VMs at 0.3-0.7 %RUN per vCPU, one at 2.6 %RUN
in 872 wake-ups/s (0.03 ms bursts), %RDY 0.07-1.5, host PCPU UTIL about 8.9 %, most of it in the
non-VM groups (esxtop itself at 2.6 %, esxtop.md §1.5). Each world obeys the contract's identities
(RUN + RDY + CSTP + WAIT = 100, WAIT = IDLE + VMWAIT); groups are the sums of their worlds; the
per-sample values swing by ±10 % around the stated means, which the three-sample means recover
exactly.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from vmksim.metrics import EsxObject, Fmt, by_object, format_value

HOST = "localhost.home"
PCPUS = 2
INTERVAL_S = 5
SAMPLES = 3
#: %USED / %RUN of every world: the clock of a power-managed host (esxtop.md §2.1: 6.11 / 8.95).
POWER_RATIO = 0.68
#: Per-sample multipliers of every world's %RUN and wake-ups: mean exactly 1.
SWING = (0.9, 1.0, 1.1)


@dataclass(frozen=True)
class World:
    name: str
    run: float  # mean %RUN
    ready: float = 0.0
    wakeups: float = 10.0
    vmwait: float = 0.0


@dataclass(frozen=True)
class Group:
    gid: int
    name: str
    worlds: tuple[World, ...]
    vm: bool = False
    memory_mb: int = 0


#: (name, vCPUs, %RUN per vCPU, %RDY per vCPU, wake-ups/s per vCPU): the issue's six VMs.
VMS: tuple[tuple[str, int, float, float, float], ...] = (
    ("web01", 1, 0.3, 0.07, 60.0),
    ("dns (primary)", 1, 0.4, 0.12, 90.0),
    ("mail", 2, 0.5, 0.25, 110.0),
    ("nas", 1, 0.6, 0.4, 130.0),
    ("git", 2, 0.7, 0.6, 150.0),
    ("styx", 1, 2.6, 1.5, 872.0),
)
#: CPU of each VM's non-vCPU worlds (%RUN); small but real (issue 10 item 3).
VM_HELPERS = (("vmx", 0.05), ("vmast.{n}", 0.01), ("vmx-vthread-{n}", 0.01), ("vmx-mks:{vm}", 0.02),
              ("vmx-svga:{vm}", 0.01), ("NetWorld-VM-{n}", 0.05), ("PVSCSI-{n}:0", 0.03))  # fmt: skip
#: Non-VM groups: (gid, name, ((world, %RUN), ...)); the idle worlds are added to 1:system.
NON_VM: tuple[tuple[int, str, tuple[tuple[str, float], ...]], ...] = (
    (1, "system", (("netPoll", 1.6), ("pmWorld", 1.4))),
    (8, "helper", (("tq:Default", 1.0),)),
    (9, "drivers", (("vmkdevmgr", 0.9),)),
    (10, "ft", (("ftWorld", 0.0),)),
    (11, "vmotion", (("vmotionServer", 0.0),)),
    (66001, "vmsyslogd.66000", (("vmsyslogd", 0.1),)),
    (66695, "hostd.66694", (("hostd-worker", 2.2),)),
    (67201, "vpxa.67200", (("vpxa-worker", 0.5),)),
    (489845, "esxtop.489844", (("esxtop", 2.6),)),
)
NON_VM_RUN = sum(r for _, _, worlds in NON_VM for _, r in worlds)


def vm_groups() -> list[Group]:
    out = []
    for i, (vm, vcpus, run, ready, wake) in enumerate(VMS):
        n = 100 + i
        helpers = tuple(World(h.format(n=n, vm=vm), r, wakeups=20.0) for h, r in VM_HELPERS)
        vcpu = tuple(World(f"vmx-vcpu-{k}:{vm}", run, ready, wake, vmwait=0.5) for k in range(vcpus))
        out.append(Group(200_000 + i, vm, helpers + vcpu, vm=True, memory_mb=2048 * vcpus))
    return out


def busy_run() -> float:
    """Total %RUN of every non-idle world (percent of one PCPU)."""
    groups = vm_groups()
    return NON_VM_RUN + sum(w.run for g in groups for w in g.worlds)


def host_util() -> float:
    """Mean PCPU UTIL: the busy time spread over the PCPUs."""
    return busy_run() / PCPUS


def _groups() -> list[Group]:
    idle = tuple(World(f"idle{p}", 100.0 - host_util(), wakeups=0.0) for p in range(PCPUS))
    out = []
    for gid, name, worlds in NON_VM:
        ws = tuple(World(w, r) for w, r in worlds)
        out.append(Group(gid, name, idle + ws if gid == 1 else ws))
    return out + vm_groups()


def _world_values(w: World, swing: float) -> dict[str, float]:
    run = w.run * swing
    ready = w.ready
    wait = 100.0 - run - ready
    return {
        "used": run * POWER_RATIO, "run": run, "system": 0.0, "wait": wait, "vmwait": w.vmwait,
        "ready": ready, "idle": wait - w.vmwait, "overlap": 0.0, "costop": 0.0, "max_limited": 0.0,
        "swap_wait": 0.0, "switches": w.wakeups * swing * 2, "migrates": 0.0, "quantum_expires": 0.0,
        "wakeups": w.wakeups * swing, "alloc_min": 0.0, "alloc_max": -1.0, "alloc_shares": -3.0,
        "alloc_min_limited": -1.0, "latency": ready, "mem_latency": 0.0, "demand": run + ready,
        "effective_min": 0.0, "timers": 0.0, "power": 0.0, "pcpu": 0.0,
    }  # fmt: skip


def _columns_and_values(swing: float, vm_ids: dict[str, int]) -> list[tuple[str, str]]:
    """(column path, cell) pairs of one sample, in the block order of esxtop.md §1.4b."""
    cells: list[tuple[str, str]] = []
    util = host_util() * swing / SWING[1]
    for counter, value in (("Memory Overcommit (1 Minute Avg)", 0.0), ("Memory Overcommit (5 Minute Avg)", 0.0),
                           ("Memory Overcommit (15 Minute Avg)", 0.0)):  # fmt: skip
        cells.append((f"Memory\\{counter}", f"{value:.2f}"))
    for span in ("1", "5", "15"):
        cells.append((f"Physical Cpu Load\\Cpu Load ({span} Minute Avg)", f"{util / 100:.2f}"))
    for counter, factor in (("% Processor Time", POWER_RATIO), ("% Util Time", 1.0)):
        for inst in [*map(str, range(PCPUS)), "_Total"]:
            cells.append((f"Physical Cpu({inst})\\{counter}", f"{util * factor:.2f}"))
    cells += [("Memory\\Machine MBytes", "8083"), ("Memory\\Free MBytes", "2011")]
    cells += [("Power\\Power Usage Now Watts", "0"), ("Power\\Power Usage Cap Watts", "0")]
    gcpu, vcpu = by_object(EsxObject.GROUP_CPU), by_object(EsxObject.VCPU)
    for g in _groups():
        ginst = f"{g.gid}:{g.name}"
        worlds = [_world_values(w, swing) for w in g.worlds]
        for m in gcpu:
            if m.key == "vmwait" and not g.vm:
                continue
            if m.key == "members":
                value = float(len(g.worlds))
            elif m.key.startswith("alloc"):
                value = worlds[0][m.key]
            else:
                value = sum(v[m.key] for v in worlds)
            cells.append((f"Group Cpu({ginst})\\{m.counter}", format_value(m.fmt, value)))
        for k, (w, values) in enumerate(zip(g.worlds, worlds, strict=True)):
            wid = vm_ids.setdefault(f"{ginst}:{w.name}", 1_000_000 + 17 * len(vm_ids) + k)
            for m in vcpu:
                fmt = Fmt.INTEGER if m.key.startswith("alloc") else m.fmt
                cells.append((f"Vcpu({ginst}:{wid}:{w.name})\\{m.counter}", format_value(fmt, values[m.key])))
    for g in _groups():
        if g.vm:
            ginst = f"{g.gid}:{g.name}"
            cells.append((f"Group Memory({ginst})\\Members", str(len(g.worlds))))
            cells.append((f"Group Memory({ginst})\\Memory Size MBytes", f"{g.memory_mb:.2f}"))
    return cells


def write_capture(path: Path) -> Path:
    """Write the capture (3 samples, 5 s apart) and return *path*."""
    ids: dict[str, int] = {}
    t0 = datetime(2018, 3, 14, 9, 26, 53)
    rows = [_columns_and_values(SWING[i], ids) for i in range(SAMPLES)]
    header = ["(PDH-CSV 4.0) (UTC)(0)", *(f"\\\\{HOST}\\{col}" for col, _ in rows[0])]
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator="\n")
        out.writerow(header)
        for i, row in enumerate(rows):
            when = t0 + timedelta(seconds=INTERVAL_S * i)
            out.writerow([when.strftime("%m/%d/%Y %H:%M:%S"), *(cell for _, cell in row)])
    return path
