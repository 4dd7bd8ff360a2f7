"""The one catalogue of esxtop counters: every CSV counter, its screen column, unit and format.

ESXi counterpart: the counters esxtop shows on its panels and writes in batch
mode (``esxtop -b``) as ``\\\\HOST\\Object(Instance)\\Counter`` columns. The
batch CSV writer, the CSV reader, the ``vmksim top`` screens and
``docs/metrics.md`` all read this table; nothing else declares a counter name.

Sources (all in /work/shared/reference/):
- esxtop.md §1.3 (number formats: two decimals for percentages, rates and
  latencies; integers for host memory sizes, counts, shares, MHz, watts and
  yes/no fields), §1.4 (counters per object as real files write them, and the
  default-fields vs ``-a`` counts), §2.1-§2.7 (screen column names, meanings);
- esxi-scheduler.md §3 (CPU counter meanings and identities);
- esxi-memory.md §4 (memory panel, group memory in MBytes with two decimals
  as the captures show: ``GRANT 957.92``, ``MEMSZ 1069.34``).

Simplifications: only the CPU, memory, NUMA, power and interrupt objects are
catalogued (no disk, network or vSAN: the simulator does not model them). The
default-field set is taken from the counts in esxtop.md §1.2/§1.4/§1.4b where
they are observed (Group Cpu: Members and the %STATE TIMES; Group Memory: the
real default captures' set with the two Llswap rates and without Members or
Memctl*); for Vcpu and PCPU Power State the default set is an assumption (the
%STATE TIMES; the C-states, as the 6.0 default header has). The exact CSV names of
the %ACTV slow/fast/next and the minimum commit target counters are not in the
reference and follow the pattern of their neighbours ([bg]).

The reference names ``Physical Cpu`` as the object carrying ``% Util Time``
and ``% Core Util Time`` (esxtop.md §1.4); there is no separate
"Physical Cpu Util" object in real files, so the PCPU utilisation counters live
under ``Physical Cpu``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum, StrEnum

__all__ = [
    "CATALOGUE",
    "C_STATES",
    "MAX_PSTATES",
    "MEMORY_FIRST_BLOCK",
    "NOT_SIMULATED",
    "OBJECT_ORDER",
    "EsxObject",
    "Fmt",
    "Metric",
    "Panel",
    "Scope",
    "Unit",
    "by_object",
    "format_value",
    "lookup",
    "render_markdown",
]


class EsxObject(StrEnum):
    """esxtop object names exactly as they appear in batch CSV paths (esxtop.md §1.3-§1.4)."""

    MEMORY = "Memory"
    PCPU_LOAD = "Physical Cpu Load"
    PCPU = "Physical Cpu"
    NUMA_NODE = "Numa Node"
    GROUP_CPU = "Group Cpu"
    VCPU = "Vcpu"
    GROUP_MEMORY = "Group Memory"
    INTERRUPT = "Interrupt Cookie"
    POWER = "Power"
    PCPU_POWER = "PCPU Power State"


#: Order of the blocks of a batch CSV as a real ``esxtop -b`` of ESXi 6.5 writes them
#: (esxtop.md §1.4b "Anatomy of a real header"): the three memory overcommit averages,
#: Physical Cpu Load, Physical Cpu (counter-major), the rest of Memory, Power, (VSAN: not
#: modelled, so not written), then
#: every group's Group Cpu columns each followed by the Vcpu columns of its worlds, all of
#: Group Memory, Interrupt Cookie and PCPU Power State. Memory and Group Cpu/Vcpu appear
#: twice because those objects are split. ``Numa Node`` (absent on the observed single-node
#: 6.5 host) follows the first Memory block as in the ESXi 6.0 header (esxtop.md §1.4b).
OBJECT_ORDER: tuple[EsxObject, ...] = (
    EsxObject.MEMORY,
    EsxObject.NUMA_NODE,
    EsxObject.PCPU_LOAD,
    EsxObject.PCPU,
    EsxObject.MEMORY,
    EsxObject.POWER,
    EsxObject.GROUP_CPU,
    EsxObject.VCPU,
    EsxObject.GROUP_MEMORY,
    EsxObject.INTERRUPT,
    EsxObject.PCPU_POWER,
)

#: The Memory counters written in the first Memory block (esxtop.md §1.4b); the others follow Physical Cpu.
MEMORY_FIRST_BLOCK: tuple[str, ...] = ("overcommit_1", "overcommit_5", "overcommit_15")

#: Objects the simulated kernel does not produce (no interrupt vectors are modelled): the
#: catalogue keeps them for reading real captures, and docs/metrics.md says so.
NOT_SIMULATED: frozenset[EsxObject] = frozenset({EsxObject.INTERRUPT})


class Panel(Enum):
    """An interactive esxtop panel and its key (esxtop.md §3)."""

    CPU = "c"
    MEMORY = "m"
    POWER = "p"
    INTERRUPT = "i"


class Unit(Enum):
    PERCENT = "%"
    RATE = "1/s"
    MB = "MB"
    MB_PER_S = "MB/s"
    COUNT = "count"
    MHZ = "MHz"
    WATTS = "W"
    USEC = "µs"
    BOOL = "0/1"
    LOAD = "ratio"
    STATE = "code"
    INDEX = "index"


class Fmt(Enum):
    """How esxtop prints a value in batch CSV (esxtop.md §1.3 "Numbers")."""

    TWO_DECIMALS = "%.2f"
    INTEGER = "%d"


class Scope(Enum):
    """Which instances of an object carry a counter."""

    EVERY = "every instance"
    VM = "VM groups only"  # % VmWait on Group Cpu (esxtop.md §1.2: "VMs add % VmWait")
    HT = "hyper-threaded hosts only"  # % Core Util Time (esxtop.md §1.4)
    HOST = "the instance-less host row"  # Power\Power Usage Now Watts
    INSTANCE = "the numbered instances"  # Power(n)\P-State MHZ
    STATE = "PCPUs of hosts that have this power state"  # %C-State C2, %P-State P3


@dataclass(frozen=True, slots=True)
class Metric:
    """One esxtop counter of one object."""

    key: str
    """Internal name, unique per object (``ready``, ``granted``)."""
    object: EsxObject
    counter: str
    """CSV counter name, byte for byte as esxtop writes it."""
    column: str
    """Screen column header (``%RDY``)."""
    unit: Unit
    panel: Panel
    fmt: Fmt
    default: bool
    """Written by ``esxtop -b`` without ``-a`` (else only with ``-a``)."""
    group: str
    """Field group shown by the ``f`` key (esxtop.md §1.2, the CPU letters of S36)."""
    width: int
    description: str
    scope: Scope = Scope.EVERY
    default_on_children: bool = True
    """Interrupt per-CPU children carry the counter without ``-a`` (esxtop.md §1.3)."""


def _m(
    obj: EsxObject,
    panel: Panel,
    key: str,
    counter: str,
    column: str,
    unit: Unit,
    fmt: Fmt,
    default: bool,
    group: str,
    description: str,
    *,
    width: int = 0,
    scope: Scope = Scope.EVERY,
    default_on_children: bool = True,
) -> Metric:
    return Metric(
        key=key,
        object=obj,
        counter=counter,
        column=column,
        unit=unit,
        panel=panel,
        fmt=fmt,
        default=default,
        group=group,
        width=width or max(len(column) + 1, 7),
        description=description,
        scope=scope,
        default_on_children=default_on_children,
    )


P2, INT = Fmt.TWO_DECIMALS, Fmt.INTEGER
PCT, RATE, MB = Unit.PERCENT, Unit.RATE, Unit.MB

# --- CPU state times, shared by Group Cpu and Vcpu (esxtop.md §2.1, esxi-scheduler.md §3.2)
# (key, counter, column, unit, fmt, default, group, description)
_CpuSpec = tuple[str, str, str, Unit, Fmt, bool, str, str]
_STATE = "%STATE TIMES"
_STATE_TIMES: tuple[_CpuSpec, ...] = (
    ("used", "% Used", "%USED", PCT, P2, True, _STATE, "CPU charged: RUN scaled for HT and frequency"),
    ("run", "% Run", "%RUN", PCT, P2, True, _STATE, "time scheduled on a PCPU"),
    ("system", "% System", "%SYS", PCT, P2, True, _STATE, "VMkernel system services for the world"),
    ("wait", "% Wait", "%WAIT", PCT, P2, True, _STATE, "blocked or idle (includes %IDLE, %VMWAIT)"),
    ("vmwait", "% VmWait", "%VMWAIT", PCT, P2, True, _STATE, "%WAIT without guest idle"),
    ("ready", "% Ready", "%RDY", PCT, P2, True, _STATE, "runnable but not running (includes %MLMTD)"),
    ("idle", "% Idle", "%IDLE", PCT, P2, True, _STATE, "halted in guest idle"),
    ("overlap", "% Overlap", "%OVRLP", PCT, P2, True, _STATE, "system time for other worlds while scheduled"),
    ("costop", "% CoStop", "%CSTP", PCT, P2, True, _STATE, "stopped for co-scheduling (SMP VMs)"),
    ("max_limited", "% Max Limited", "%MLMTD", PCT, P2, True, _STATE, "ready time held back by a limit"),
    ("swap_wait", "% Swap Wait", "%SWPWT", PCT, P2, True, _STATE, "waiting for swapped-in pages"),
)
_EV = "EVENT COUNTS/s"
_EVENTS: tuple[_CpuSpec, ...] = (
    ("switches", "Switches/sec", "SWTCH/s", RATE, P2, False, _EV, "world switches per second"),
    ("migrates", "Migrates/sec", "MIG/s", RATE, P2, False, _EV, "PCPU migrations per second"),
    ("quantum_expires", "Quantum Expires/sec", "QEXP/s", RATE, P2, False, _EV, "quantum expiries per second"),
    ("wakeups", "Wakeups/sec", "WAKE/s", RATE, P2, False, _EV, "wake-ups per second"),
)
_AL = "CPU ALLOC"
_ALLOC: tuple[_CpuSpec, ...] = (
    ("alloc_min", "Alloc Min", "AMIN", Unit.MHZ, INT, False, _AL, "reservation (MHz)"),
    ("alloc_max", "Alloc Max", "AMAX", Unit.MHZ, INT, False, _AL, "limit (MHz), -1 unlimited"),
    (
        "alloc_shares",
        "Alloc Shares",
        "ASHRS",
        Unit.COUNT,
        INT,
        False,
        _AL,
        "CPU shares; a VM at a share level writes its code (-2 low, -3 normal, -4 high)",
    ),
    (
        "alloc_min_limited",
        "Alloc Min Limited",
        "AMLMT",
        Unit.MHZ,
        INT,
        False,
        _AL,
        "-1 in every real capture (esxtop.md §1.4b); meaning undocumented",
    ),
)
_SU = "SUMMARY STATS"
_SUMMARY: tuple[_CpuSpec, ...] = (
    ("latency", "% CPU Latency", "%LAT_C", PCT, P2, False, _SU, "contention: RDY-MLMTD+CSTP+HT/freq loss"),
    ("mem_latency", "% Memory Latency", "%LAT_M", PCT, P2, False, _SU, "time lost to memory access"),
    ("demand", "% Demand", "%DMD", PCT, INT, False, _SU, "CPU wanted without contention or limit"),
    ("effective_min", "Effective Min (MHz)", "EMIN", Unit.MHZ, INT, False, _SU, "effective reservation"),
)


def _cpu_metrics(obj: EsxObject) -> list[Metric]:
    """Group Cpu and Vcpu counters in CSV order (esxtop.md §1.4, §2.1).

    Both keep the %STATE TIMES order with ``% VmWait`` sixth, right after ``% Wait``; on
    Group Cpu only VM groups carry it (esxtop.md §2.1, re-checked on both real files). Groups
    start with Members and end with Timers/sec and Power Usage Watts; Vcpu rows end with the
    PCPU the world last ran on (esxtop.md §1.4: "as Group Cpu minus Members/Timers/Power,
    plus % VmWait and Physical Cpu").
    """
    is_group = obj is EsxObject.GROUP_CPU
    specs: list[_CpuSpec] = []
    if is_group:
        specs.append(("members", "Members", "NWLD", Unit.COUNT, INT, True, "NWLD", "worlds in the group"))
    specs += [*_STATE_TIMES, *_EVENTS, *_ALLOC, *_SUMMARY]
    if is_group:
        specs.append(("timers", "Timers/sec", "TIMER/s", RATE, P2, False, _SU, "timer callbacks per second"))
        specs.append(("power", "Power Usage Watts", "POWER", Unit.WATTS, INT, False, _SU, "power charged"))
    else:
        specs.append(("pcpu", "Physical Cpu", "CPU", Unit.INDEX, INT, False, _SU, "PCPU it last ran on"))
    out = []
    for key, counter, column, unit, fmt, default, group, desc in specs:
        scope = Scope.VM if is_group and key == "vmwait" else Scope.EVERY
        out.append(_m(obj, Panel.CPU, key, counter, column, unit, fmt, default, group, desc, scope=scope))
    return out


def _host_metrics() -> list[Metric]:
    """Memory, Physical Cpu Load, Physical Cpu, Numa Node (esxtop.md §1.4, §2.1, §2.3)."""
    mem, cpu = Panel.MEMORY, Panel.CPU
    M, L, C, N = EsxObject.MEMORY, EsxObject.PCPU_LOAD, EsxObject.PCPU, EsxObject.NUMA_NODE
    out = []
    for span in ("1", "5", "15"):
        out.append(_m(M, mem, f"overcommit_{span}", f"Memory Overcommit ({span} Minute Avg)", f"MEMOVC{span}",
                      Unit.LOAD, P2, True, "MEM overcommit avg", f"{span}-minute memory overcommit average"))  # fmt: skip
    host_mb: tuple[tuple[str, str, str, str, str], ...] = (
        ("machine", "Machine MBytes", "PMEM", "PMEM", "machine memory"),
        ("kernel", "Kernel MBytes", "VMK", "PMEM", "VMkernel memory"),
        ("nonkernel", "NonKernel MBytes", "OTHER", "PMEM", "memory of VMs and user worlds"),
        ("free", "Free MBytes", "FREE", "PMEM", "free machine memory"),
        ("kernel_managed", "Kernel Managed MBytes", "MANAGED", "VMKMEM", "memory the VMkernel manages"),
        ("kernel_minfree", "Kernel MinFree MBytes", "MINFREE", "VMKMEM", "minFree"),
        ("kernel_reserved", "Kernel Reserved MBytes", "RSVD", "VMKMEM", "reserved"),
        ("kernel_unreserved", "Kernel Unreserved MBytes", "URSVD", "VMKMEM", "unreserved"),
    )
    for key, counter, column, group, desc in host_mb:
        out.append(_m(M, mem, key, counter, column, MB, INT, True, group, desc))
    out.append(_m(M, mem, "kernel_state", "Kernel State", "STATE", Unit.STATE, INT, True, "VMKMEM",
                  "free-memory state code (0 high, 1 clear, 2 soft, 3 hard, 4 low)"))  # fmt: skip
    rest: tuple[tuple[str, str, str, Unit, Fmt, str, str], ...] = (
        ("pshare_shared", "PShare Shared MBytes", "SHARED", MB, INT, "PSHARE", "guest pages shared"),
        ("pshare_common", "PShare Common MBytes", "COMMON", MB, INT, "PSHARE", "machine pages holding them"),
        ("pshare_savings", "PShare Savings MBytes", "SAVING", MB, INT, "PSHARE", "shared - common"),
        ("swap_used", "Swap Used MBytes", "SWCURR", MB, INT, "SWAP", "swapped"),
        ("swap_target", "Swap Target MBytes", "RCLMTGT", MB, INT, "SWAP", "reclaim target"),
        ("swap_read", "Swap MBytes Read/sec", "SWR/s", Unit.MB_PER_S, P2, "SWAP", "swap-in rate"),
        ("swap_write", "Swap MBytes Write/sec", "SWW/s", Unit.MB_PER_S, P2, "SWAP", "swap-out rate"),
        ("zipped", "Total Compressed MBytes", "ZIPPED", MB, INT, "ZIP", "compressed pages (uncompressed)"),
        ("zip_saved", "Total Saved By Compression MBytes", "ZSAVED", MB, INT, "ZIP", "saved by compression"),
        ("memctl_current", "Memctl Current MBytes", "MCTLCUR", MB, INT, "MEMCTL", "ballooned now"),
        ("memctl_target", "Memctl Target MBytes", "MCTLTGT", MB, INT, "MEMCTL", "balloon target"),
        ("memctl_max", "Memctl Max MBytes", "MCTLMAX", MB, INT, "MEMCTL", "balloon ceiling"),
    )
    for key, counter, column, unit, fmt, group, desc in rest:
        out.append(_m(M, mem, key, counter, column, unit, fmt, True, group, desc))
    for span in ("1", "5", "15"):
        out.append(_m(L, cpu, f"load_{span}", f"Cpu Load ({span} Minute Avg)", f"LOAD{span}", Unit.LOAD, P2,
                      True, "CPU load average", f"{span}-minute CPU load average"))  # fmt: skip
    out += [
        _m(C, cpu, "used", "% Processor Time", "PCPU USED(%)", PCT, P2, True, "PCPU",
           "frequency- and HT-scaled use; _Total is the mean"),
        _m(C, cpu, "util", "% Util Time", "PCPU UTIL(%)", PCT, P2, True, "PCPU", "unhalted time"),
        _m(C, cpu, "core_util", "% Core Util Time", "CORE UTIL(%)", PCT, P2, True, "PCPU",
           "core busy when either thread is busy", scope=Scope.HT),
        _m(N, mem, "total", "Total MBytes", "NUMA TOTAL", MB, INT, True, "NUMA", "node memory"),
        _m(N, mem, "free", "Free MBytes", "NUMA FREE", MB, INT, True, "NUMA", "node free memory"),
    ]  # fmt: skip
    return out


# Group Memory, CSV order of esxtop.md §1.4; screen names esxi-memory.md §4.2. The default
# set is the one real default-field captures carry: the two Llswap rates, and neither Members
# nor the four Memctl counters (esxtop.md §1.4b; issue 10 item 3). N%L, %ACTV* and CMTPPS are
# integers in real files (esxtop.md §1.4b "Encodings seen").
# (key, counter, column, fmt, default, group, description)
_GM = "MEM"
_GROUP_MEMORY: tuple[tuple[str, str, str, Unit, Fmt, bool, str, str], ...] = (
    ("members", "Members", "NWLD", Unit.COUNT, INT, False, "NWLD", "worlds in the group"),
    ("alloc_min", "Alloc Min", "AMIN", MB, INT, False, "MEM ALLOC", "reservation (MB)"),
    ("alloc_max", "Alloc Max", "AMAX", MB, INT, False, "MEM ALLOC", "limit (MB), -1 unlimited"),
    ("alloc_shares", "Alloc Shares", "ASHRS", Unit.COUNT, INT, False, "MEM ALLOC",
     "memory shares; a VM at a share level writes its code (-2 low, -3 normal, -4 high)"),
    ("alloc_min_limited", "Alloc Min Limited", "AMLMT", MB, INT, False, "MEM ALLOC",
     "-1 in every real capture (esxtop.md §1.4b); meaning undocumented"),
    ("numa_home", "Numa Home Nodes", "NHN", Unit.INDEX, INT, False, "NUMA STATS", "first home node"),
    ("numa_rebalance", "Numa Rebalance Count Delta", "NMIG", Unit.COUNT, INT, False, "NUMA STATS",
     "NUMA migrations in the interval"),
    ("numa_remote", "Numa Remote Memory MBytes", "NRMEM", MB, P2, False, "NUMA STATS", "remote memory"),
    ("numa_local", "Numa Local Memory MBytes", "NLMEM", MB, P2, False, "NUMA STATS", "local memory"),
    ("numa_local_pct", "Numa % Local", "N%L", PCT, INT, False, "NUMA STATS", "NLMEM / (NLMEM + NRMEM)"),
    ("size", "Memory Size MBytes", "MEMSZ", MB, P2, True, _GM, "configured memory"),
    ("granted", "Memory Granted Size MBytes", "GRANT", MB, P2, True, _GM, "guest memory mapped"),
    ("consumed", "Memory Consumed Size MBytes", "CNSM", MB, P2, True, _GM, "machine memory charged"),
    ("target", "Target Size MBytes", "SZTGT", MB, P2, True, _GM, "allocator target"),
    ("touched", "Touched MBytes", "TCHD", MB, P2, True, _GM, "working-set estimate"),
    ("touched_write", "Touched Write MBytes", "TCHD_W", MB, P2, True, _GM, "written working set"),
    ("active", "% Active Estimate", "%ACTV", PCT, INT, False, "ACTIVE", "active estimate"),
    ("active_slow", "% Active Slow Estimate", "%ACTVS", PCT, INT, False, "ACTIVE", "slow moving average"),
    ("active_fast", "% Active Fast Estimate", "%ACTVF", PCT, INT, False, "ACTIVE", "fast moving average"),
    ("active_next", "% Active Next Estimate", "%ACTVN", PCT, INT, False, "ACTIVE", "predicted next"),
    ("memctl", "Memctl?", "MCTL?", Unit.BOOL, INT, False, "MEMCTL", "balloon driver active"),
    ("memctl_size", "Memctl MBytes", "MCTLSZ", MB, P2, False, "MEMCTL", "ballooned"),
    ("memctl_target", "Memctl Target MBytes", "MCTLTGT", MB, P2, False, "MEMCTL", "balloon target"),
    ("memctl_max", "Memctl Max MBytes", "MCTLMAX", MB, P2, False, "MEMCTL", "balloon ceiling"),
    ("swapped", "Swapped MBytes", "SWCUR", MB, P2, True, "SWAP", "swapped"),
    ("swap_target", "Swap Target MBytes", "SWTGT", MB, P2, True, "SWAP", "swap target"),
    ("swap_read", "Swap Read MBytes/sec", "SWR/s", Unit.MB_PER_S, P2, True, "SWAP", "swap-in rate"),
    ("swap_written", "Swap Written MBytes/sec", "SWW/s", Unit.MB_PER_S, P2, True, "SWAP", "swap-out rate"),
    ("llswap_read", "Llswap Read MBytes/sec", "LLSWR/s", Unit.MB_PER_S, P2, True, "SWAP", "host-cache reads"),
    ("llswap_written", "Llswap Written MBytes/sec", "LLSWW/s", Unit.MB_PER_S, P2, True, "SWAP",
     "host-cache writes"),
    ("checkpoint_read", "Checkpoint Read MBytes", "CPTRD", MB, P2, False, "CHECKPOINT", "checkpoint read"),
    ("checkpoint_target", "Checkpoint Target MBytes", "CPTTGT", MB, P2, False, "CHECKPOINT",
     "checkpoint target"),
    ("zero", "Zero MBytes", "ZERO", MB, P2, False, "SHARING", "zero pages"),
    ("shared", "Shared MBytes", "SHRD", MB, P2, False, "SHARING", "shared guest pages"),
    ("shared_saved", "Shared Saved MBytes", "SHRDSVD", MB, P2, False, "SHARING", "memory saved by sharing"),
    ("cow_hint", "Copy On Write Hint MBytes", "COWH", MB, P2, False, "SHARING", "copy-on-write hints"),
    ("overhead_uw", "Overhead UW MBytes", "OVHDUW", MB, P2, True, "OVERHEAD", "VMX user-world overhead"),
    ("overhead", "Overhead MBytes", "OVHD", MB, P2, True, "OVERHEAD", "current overhead"),
    ("overhead_max", "Overhead Max MBytes", "OVHDMAX", MB, P2, True, "OVERHEAD", "maximum overhead"),
    ("commit_min", "Min Commit Target MBytes", "CMTMIN", MB, P2, False, "COMMIT", "minimum commit target"),
    ("commit_target", "Commit Target MBytes", "CMTTGT", MB, P2, False, "COMMIT", "commit target"),
    ("commit_charged", "Commit Charged MBytes", "CMTCHRG", MB, P2, False, "COMMIT", "commit charged"),
    ("commit_pps", "Commit Pages Per Share", "CMTPPS", Unit.COUNT, INT, False, "COMMIT", "pages per share"),
    ("zip_cache", "Compressed Memory MBytes", "CACHESZ", MB, P2, False, "COMPRESSION", "compression cache"),
    ("zip_used", "Used Compressed Memory MBytes", "CACHEUSD", MB, P2, False, "COMPRESSION", "cache used"),
    ("zip_rate", "Compression MBytes/sec", "ZIP/s", Unit.MB_PER_S, P2, False, "COMPRESSION", "compression"),
    ("unzip_rate", "Decompression MBytes/sec", "UNZIP/s", Unit.MB_PER_S, P2, False, "COMPRESSION",
     "decompression"),
)  # fmt: skip


def _group_memory_metrics() -> list[Metric]:
    return [
        _m(EsxObject.GROUP_MEMORY, Panel.MEMORY, key, counter, column, unit, fmt, default, group, desc)
        for key, counter, column, unit, fmt, default, group, desc in _GROUP_MEMORY
    ]


#: C-states a PCPU Power State row can carry: C0 running, C1 halt, C2/C3 deeper sleep
#: (esxtop.md §2.7; the host's power model says which it has).
C_STATES: tuple[str, ...] = ("C0", "C1", "C2", "C3")
#: Most P-states a host can list (``Power(n)`` and ``%P-State Pn``); ACPI _PSS tables of
#: server CPUs list at most 16 (a bound for the catalogue, not an ESXi number).
MAX_PSTATES = 16


def _power_interrupt_metrics() -> list[Metric]:
    """Power, PCPU Power State (esxtop.md §2.7) and Interrupt Cookie (§2.6)."""
    P, S, IC = EsxObject.POWER, EsxObject.PCPU_POWER, EsxObject.INTERRUPT
    pw, it = Panel.POWER, Panel.INTERRUPT
    out = [
        _m(P, pw, "now", "Power Usage Now Watts", "POWER USAGE", Unit.WATTS, INT, True, "POWER",
           "host power now", scope=Scope.HOST),
        _m(P, pw, "cap", "Power Usage Cap Watts", "POWER CAP", Unit.WATTS, INT, True, "POWER",
           "host power cap (0: none)", scope=Scope.HOST),
        _m(P, pw, "pstate_mhz", "P-State MHZ", "PSTATE MHZ", Unit.MHZ, INT, True, "POWER",
           "frequency of P-state n", scope=Scope.INSTANCE),
    ]  # fmt: skip
    # The 6.0 default capture carries the C-states only; P- and T-states come with -a (esxtop.md §1.4).
    for c in C_STATES:
        out.append(_m(S, pw, c.lower(), f"%C-State {c}", f"%{c}", PCT, P2, True, "C-STATES",
                      "time running" if c == "C0" else f"time in sleep state {c}", scope=Scope.STATE))  # fmt: skip
    for n in range(MAX_PSTATES):
        out.append(_m(S, pw, f"p{n}", f"%P-State P{n}", f"%P{n}", PCT, P2, False, "P-STATES",
                      f"share of C0 time at P-state {n}", scope=Scope.STATE))  # fmt: skip
    out += [
        _m(S, pw, "t0", "%T-State T0", "%T0", PCT, P2, False, "T-STATES", "time unthrottled"),
        _m(IC, it, "rate", "Interrupts/second", "COUNT/s", RATE, P2, True, "INTERRUPTS",
           "interrupts per second"),
        _m(IC, it, "time", "Processing Time MicroSec/Interrupt", "TIME/int", Unit.USEC, P2, True,
           "INTERRUPTS", "mean handler time", default_on_children=False),
    ]  # fmt: skip
    return out


CATALOGUE: tuple[Metric, ...] = (
    *_host_metrics(),
    *_cpu_metrics(EsxObject.GROUP_CPU),
    *_cpu_metrics(EsxObject.VCPU),
    *_group_memory_metrics(),
    *_power_interrupt_metrics(),
)

_BY_OBJECT: dict[str, tuple[Metric, ...]] = {
    obj.value: tuple(m for m in CATALOGUE if m.object is obj) for obj in EsxObject
}
_BY_NAME: dict[tuple[str, str], Metric] = {(m.object.value, m.counter): m for m in CATALOGUE}


def by_object(obj: str) -> tuple[Metric, ...]:
    """Counters of an object in CSV order (empty for objects outside the catalogue)."""
    return _BY_OBJECT.get(obj, ())


def lookup(obj: str, counter: str) -> Metric | None:
    """The catalogue entry of a CSV (object, counter) pair, or None for counters we do not model."""
    return _BY_NAME.get((obj, counter))


def format_value(fmt: Fmt, value: float) -> str:
    """Print *value* as esxtop does: ``0.78`` or ``8083`` (esxtop.md §1.3); NaN is an empty cell."""
    if math.isnan(value):
        return ""
    if fmt is Fmt.INTEGER:
        return str(round(value))
    text = f"{value:.2f}"
    return "0.00" if text == "-0.00" else text


def render_markdown() -> str:
    """docs/metrics.md: the catalogue as tables, one per object (generated; see its first line)."""
    lines = [
        "<!-- generated by `vmksim top --list-counters`; do not edit by hand -->",
        "# esxtop counters in vmksim",
        "",
        "Every counter vmksim writes to, or reads from, an esxtop batch CSV; the CSV column is",
        "`\\\\HOST\\Object(Instance)\\Counter`. *Default* counters are written by `vmksim top --batch`",
        "without `-a`; the others only with `-a`. Formats: `%.2f` two decimals, `%d` integer",
        "(reference: esxtop.md §1.3-§2.7, esxi-scheduler.md §3, esxi-memory.md §4).",
        "",
        "Blocks are written in the order of a real ESXi 6.5 `esxtop -b` (esxtop.md §1.4b): "
        + ", ".join(f"`{o.value}`" for o in OBJECT_ORDER)
        + "; Physical Cpu counter-major; each group's Group Cpu columns followed by the Vcpu",
        "columns of its worlds.",
        "",
    ]
    for obj in EsxObject:
        metrics = by_object(obj)
        lines += [f"## {obj.value} (panel `{metrics[0].panel.value}`)", ""]
        if obj in NOT_SIMULATED:
            lines += [
                "Not written by the simulated kernel (it models no interrupt vectors); read from real",
                "captures, and written when a source provides vectors.",
                "",
            ]
        lines += [
            "| CSV counter | screen | unit | format | default | field group | width | instances | meaning |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for m in metrics:
            scope = m.scope.value
            if not m.default_on_children:
                scope += "; per-CPU children only with -a"
            lines.append(
                f"| `{m.counter}` | `{m.column}` | {m.unit.value} | `{m.fmt.value}` | "
                f"{'yes' if m.default else '-a'} | {m.group} | {m.width} | {scope} | {m.description} |"
            )
        lines.append("")
    return "\n".join(lines)
