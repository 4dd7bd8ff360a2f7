"""The scheduler's state records, declared once: names, types and initial values.

ESXi counterpart: none; this is the memory layout of vmksim.sched.core. The
compiled core keeps its state in two flat arrays (ints and floats) made of
*sections* (globals, worlds, counters, PCPUs, cores, VMs, NUMA nodes, ...), each
a run of fixed-size records. Everything that knows that layout derives it from
the declarations below, by field name: the offset constants of
vmksim.sched.core (``W_STATE = WORLD.i("state")``), the section order and
offset slots of vmksim.sched.engine, the initial records the kernel fills
(vmksim.kernel.vmkernel, ``WORLD.put(wi, wf, w, vm=v, ...)``) and the loader of
the reference scheduler (vmksim.sched.reference). Adding a field is one line
here; nobody else counts positions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "CORE",
    "COSTOP",
    "COUNTERS",
    "EV_COSTART",
    "EV_LIMIT",
    "EV_SKEW",
    "EV_SLICE",
    "EV_TICK",
    "EV_WAKE",
    "FLOAT_SECTIONS",
    "GLOBAL",
    "INT_SECTIONS",
    "MODE_LOOP",
    "MODE_NEVER",
    "MODE_PERIODIC",
    "NODE",
    "PCPU",
    "READY",
    "RUN",
    "VM",
    "WAIT",
    "WORLD",
    "Field",
    "Record",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a record: its name, initial value and meaning."""

    name: str
    initial: float = 0
    doc: str = ""


class Record:
    """A record type: int fields then float fields, each at a fixed offset within its section.

    The int part lives in one section of the int array, the float part in one section of
    the float array; a record's fields sit at ``index × stride + offset``.
    """

    __slots__ = ("_f", "_i", "floats", "ints", "name")

    def __init__(self, name: str, ints: tuple[Field, ...], floats: tuple[Field, ...] = ()) -> None:
        self.name = name
        self.ints = ints
        self.floats = floats
        self._i = {f.name: k for k, f in enumerate(ints)}
        self._f = {f.name: k for k, f in enumerate(floats)}
        if len(self._i) + len(self._f) != len(ints) + len(floats) or set(self._i) & set(self._f):
            raise ValueError(f"record {name}: field names must be unique")

    @property
    def n_int(self) -> int:
        return len(self.ints)

    @property
    def n_float(self) -> int:
        return len(self.floats)

    def i(self, name: str) -> int:
        """Offset of int field *name* within a record."""
        return self._i[name]

    def f(self, name: str) -> int:
        """Offset of float field *name* within a record."""
        return self._f[name]

    def int_rows(self, n: int) -> IntArray:
        """*n* int records at their initial values, shape (n, n_int)."""
        rows = np.zeros((n, self.n_int), dtype=np.int64)
        rows[:] = [int(f.initial) for f in self.ints]
        return rows

    def float_rows(self, n: int) -> FloatArray:
        """*n* float records at their initial values, shape (n, n_float)."""
        rows = np.zeros((n, self.n_float), dtype=np.float64)
        rows[:] = [float(f.initial) for f in self.floats]
        return rows

    def put(
        self, ints: IntArray | None, floats: FloatArray | None, row: int | slice, **values: float
    ) -> None:
        """Set fields of record *row* (or of every record in a slice) by name, ints into *ints*, floats into *floats*."""
        for name, value in values.items():
            if name in self._i:
                assert ints is not None
                ints[row, self._i[name]] = int(value)
            elif name in self._f:
                assert floats is not None
                floats[row, self._f[name]] = float(value)
            else:
                raise KeyError(f"record {self.name} has no field {name!r}")

    def read(self, ints: IntArray, floats: FloatArray | None, row: int) -> Mapping[str, float]:
        """Every field of record *row* by name."""
        out: dict[str, float] = {f.name: int(ints[row, k]) for k, f in enumerate(self.ints)}
        if floats is not None:
            out.update({f.name: float(floats[row, k]) for k, f in enumerate(self.floats)})
        return out


# --- codes shared by the engines and the kernel -----------------------------------------------------
#: World states (esxi-scheduler.md §1.2); also the indexes of the first four COUNTERS.
RUN, READY, COSTOP, WAIT = 0, 1, 2, 3
#: Event kinds: x is a world (WAKE, TICK), a PCPU (SLICE) or a VM (COSTART, SKEW); LIMIT has none.
EV_WAKE, EV_SLICE, EV_TICK, EV_COSTART, EV_LIMIT, EV_SKEW = 0, 1, 2, 3, 4, 5
#: Workload modes (vmksim.workload.Mode).
MODE_NEVER, MODE_LOOP, MODE_PERIODIC = 0, 1, 2


def _fields(*specs: tuple[str, float, str]) -> tuple[Field, ...]:
    return tuple(Field(name, initial, doc) for name, initial, doc in specs)


#: Sections of the int array, in layout order (the globals first, at offset 0); for every other
#: section the global int ``"o" + name`` holds its offset.
INT_SECTIONS = ("g", "wi", "wc", "pi", "ci", "vi", "rq", "rqn", "aff", "ni", "sh")
#: Sections of the float array, in layout order (global floats first).
FLOAT_SECTIONS = ("gf", "wf", "pf", "vf", "qf", "bb", "ib", "tb", "ti")

GLOBAL = Record(
    "global",
    _fields(
        ("now", 0, "simulated time (µs)"),
        ("hsize", 0, "entries in the event heap"),
        ("ssize", 0, "entries in the slice heap (pending decision points, at most one per PCPU)"),
        ("seq", 0, "sequence number of the next event pushed"),
        ("nw", 0, "worlds"),
        ("np", 0, "PCPUs"),
        ("nv", 0, "VMs"),
        ("nodes", 0, "NUMA nodes (also the index of the 'any node' run queue)"),
        ("tpc", 1, "threads per core"),
        ("tpn", 1, "threads (PCPUs) per node"),
        ("block", 0, "capacity of each world's draw buffer"),
        ("tsteps", 1, "steps of the demand tables"),
        ("tstep", 1, "length of a demand-table step (µs)"),
        ("quantum", 0, "SchedParams.quantum_us"),
        ("skew", 0, "SchedParams.costop_skew_us"),
        ("costart", 0, "SchedParams.costart_skew_us"),
        ("limperiod", 0, "SchedParams.limit_period_us"),
        ("credit", 0, "SchedParams.wake_credit_us"),
        ("refill", -1, "world whose draw buffer must be refilled (return code NEED_REFILL)"),
        ("hcap", 0, "capacity of the event heap (entries)"),
        ("nlimited", 0, "VMs with a CPU limit"),
        ("nexcl", 0, "PCPUs with an exclusive owner or kept idle (0 enables the fast idle search)"),
        ("wakegran", 0, "SchedParams.wake_preempt_us"),
        *((f"o{name}", 0, f"offset of section {name}") for name in INT_SECTIONS[1:] + FLOAT_SECTIONS[1:]),
    ),
    _fields(
        ("htcharge", 1.0, "SchedParams.ht_charge"),
        ("htpcpu", 1.0, "SchedParams.ht_pcpu_charge"),
        ("htprogress", 1.0, "SchedParams.ht_progress"),
        ("freq", 1.0, "SchedParams.frequency_factor"),
    ),
)

WORLD = Record(
    "world",
    _fields(
        ("state", 3, "RUN 0, READY 1, COSTOP 2, WAIT 3 (every world starts halted)"),
        ("pcpu", -1, "PCPU it runs on, -1 if not running"),
        ("last", -1, "PCPU it last ran on, -1 never"),
        ("vm", 0, "index of its VM"),
        ("q", 0, "run queue: home node, or `nodes` for any node"),
        ("qpos", -1, "position in its run queue, -1 if not queued"),
        ("mask", 0, "row of the affinity table (0 = no restriction)"),
        ("mlmtd", 0, "1 while READY because its VM's limit is used up"),
        ("since", 0, "time it entered its state (µs)"),
        ("mode", 0, "workload mode: NEVER 0, LOOP 1, PERIODIC 2"),
        ("cur", 0, "draws of its buffer used"),
        ("period", 0, "tick period of a PERIODIC workload (µs)"),
        ("excl", -1, "exclusive PCPU (latency sensitivity high), -1 none"),
        ("wgen", 0, "generation of its wake event"),
        ("fill", 0, "draws in its buffer"),
    ),
    _fields(
        ("vt", 0.0, "virtual time: charged µs × 1000 / weight MHz (its priority, lower runs first)"),
        ("work", 0.0, "work left in the current burst (µs of a whole core)"),
        ("wscale", 1.0, "1000 / weight MHz"),
        ("used", 0.0, "charged time (µs, %USED)"),
        ("htloss", 0.0, "run time lost to a busy sibling thread (µs, part of %LAT_C)"),
        ("lag", 0.0, "time stalled since its VM was last in step (µs, co-scheduling)"),
        ("pend", 0.0, "PERIODIC work waiting for the next burst (µs)"),
        ("workper", 0.0, "PERIODIC work added per tick (µs)"),
    ),
)

#: Cumulative per-world counters; the first four are indexed by the state codes.
COUNTERS = Record(
    "counters",
    _fields(
        ("run_us", 0, "µs in RUN"),
        ("ready_us", 0, "µs in READY"),
        ("costop_us", 0, "µs in COSTOP"),
        ("wait_us", 0, "µs in WAIT"),
        ("mlmtd_us", 0, "µs READY because of a limit"),
        ("switches", 0, "dispatches"),
        ("migrations", 0, "dispatches on another PCPU than the last"),
        ("quantum_expires", 0, "quanta that ran out"),
        ("wakeups", 0, "wake-ups from WAIT"),
    ),
)

PCPU = Record(
    "pcpu",
    _fields(
        ("world", -1, "world running, -1 idle"),
        ("sib", -1, "sibling hyper-thread, -1 none"),
        ("node", 0, "NUMA node"),
        ("gen", 0, "generation of its slice event"),
        ("qstart", 0, "start of the running world's quantum (µs)"),
        ("excl", -1, "-1 shared; >= 0 owned by that world; -2 kept idle (sibling of an owned PCPU)"),
        ("busy", 0, "busy µs (PCPU UTIL)"),
        ("core", 0, "core index"),
        ("pendt", -1, "time of the pending slice event, -1 none"),
        ("hpos", -1, "heap slot of its pending slice event, -1 none (compiled core only)"),
    ),
    _fields(
        ("used", 0.0, "charged µs (PCPU USED)"),
    ),
)

CORE = Record(
    "core",
    _fields(
        ("last", 0, "time the core was last settled (µs)"),
        ("busy", 0, "µs with any thread busy (CORE UTIL)"),
        ("nidle", 1, "idle threads"),
    ),
)

NODE = Record(
    "node",
    _fields(
        ("idle", 0, "idle PCPUs"),
        ("free", 0, "cores with every thread idle"),
    ),
)

VM = Record(
    "vm",
    _fields(
        ("first", 0, "its first world"),
        ("n", 0, "vCPUs"),
        ("nstall", 0, "vCPUs READY or COSTOP"),
        ("throt", 0, "1 while its limit is used up"),
        ("csgen", 0, "generation of its co-start event"),
        ("limited", 0, "1 if it has a CPU limit"),
        ("nrun", 0, "vCPUs running"),
        ("ncostop", 0, "vCPUs co-stopped"),
        ("skgen", 0, "generation of its skew-check event"),
    ),
    _fields(
        ("budget", 0.0, "charged µs allowed per limit period"),
        ("spent", 0.0, "charged µs used in this limit period"),
    ),
)
