"""The CPU scheduler as readable Python: the specification the compiled core must equal.

ESXi counterpart: the VMkernel CPU scheduler (../shared/reference/esxi-scheduler.md
§1). Each rule is written here once, with its source; vmksim.sched.core is the
same model in flat-array form for speed, and tests/test_sched_reference.py
proves the two give identical counters on generated scenarios.

The model, rule by rule:

* **States** (§1.2): a world is in exactly one of RUN, READY (optionally
  max-limited), COSTOP or WAIT; every change charges the time spent in the old one.
* **Proportional share** (§1.3): priority = consumed ÷ entitlement, kept as a
  virtual time ``vt += charged µs × 1000 / weight MHz``; a free PCPU takes the
  READY world with the lowest ``vt`` (then lowest index). A waking world's ``vt``
  is clamped to at most ``wake_credit_us`` behind its queue's clock.
* **Wake-up preemption** (§1.3): a waking world with no idle PCPU preempts the
  running world of highest ``vt`` if that is ahead by more than ``wake_preempt_us``.
* **Quantum** (§1.4): at quantum expiry the running world yields to a READY world
  of lower ``vt``, or moves off a shared core onto a whole idle core.
* **Placement / HT** (§1.6): last PCPU if its whole core is idle, else the first
  whole idle core, else the last PCPU, else any idle thread.
* **HT charging** (§1.6, §3.3): beside a busy sibling a vCPU is charged
  ``ht_charge`` of its run time and progresses at ``ht_progress``; the PCPU is
  charged ``ht_pcpu_charge``; the loss is %LAT_C.
* **Limits** (§1.10): a VM's charged time per ``limit_period_us`` is capped;
  when used up its vCPUs are READY + MLMTD until the next period.
* **Relaxed co-scheduling** (§1.5): lag = time stalled (READY/COSTOP) since the VM
  was last in step; skew = slowest sibling's lag − own lag. Skew above
  ``costop_skew_us`` co-stops; at or below ``costart_skew_us`` co-starts.
* **Latency sensitivity high** (§1.8): an exclusive PCPU only its owner runs on.
* **NUMA homes** (§2): a world's run queue is its home node's (or any node's);
  the NUMA runtime moves worlds between queues (``move_world``).

The event loop is SimPy's (STYLE.md): a heap keyed (time, sequence), ``step()``
pops one event and calls its handler; stale events are recognised by a
generation number. Inputs are the initial records the kernel builds
(vmksim.sched.schema sections); outputs are the same sections, so the kernel
reads counters from either engine alike.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from vmksim.sched.schema import (
    CORE,
    COSTOP,
    COUNTERS,
    EV_COSTART,
    EV_LIMIT,
    EV_SKEW,
    EV_SLICE,
    EV_TICK,
    EV_WAKE,
    GLOBAL,
    MODE_LOOP,
    MODE_PERIODIC,
    PCPU,
    READY,
    RUN,
    VM,
    WAIT,
    WORLD,
    Field,
)

__all__ = ["ReferenceCore"]

WAKE, SLICE, TICK, COSTART, LIMIT, SKEW = EV_WAKE, EV_SLICE, EV_TICK, EV_COSTART, EV_LIMIT, EV_SKEW
LOOP, PERIODIC = MODE_LOOP, MODE_PERIODIC
SHARED = -1  # PCpu.excl: anyone may run there (else the owner's index, or -2 kept idle)
#: Where a world's next (burst, idle) draws come from when its buffer is empty: world -> arrays.
Refill = Callable[[int], tuple[np.ndarray, np.ndarray]]


class World:
    """A vCPU world: its state, placement, priority and cumulative counters."""

    __slots__ = (
        "allowed", "counts", "draws", "excl", "htloss", "index", "lag", "last", "max_limited", "mode",
        "pcpu", "pend", "period", "q", "queued", "since", "state", "time_in", "used", "vm", "vt", "wgen",
        "work", "workper", "wscale",
    )  # fmt: skip

    def __init__(self, index: int, rec: dict[str, Any]) -> None:
        self.index = index
        self.state, self.since, self.max_limited = rec["state"], rec["since"], rec["mlmtd"]
        self.pcpu: PCpu | None = None
        self.last: int = rec["last"]
        self.q, self.queued = rec["q"], False
        self.allowed: frozenset[int] | None = None
        self.mode, self.period, self.excl, self.wgen = rec["mode"], rec["period"], rec["excl"], rec["wgen"]
        self.vt, self.work, self.wscale, self.used = rec["vt"], rec["work"], rec["wscale"], rec["used"]
        self.htloss, self.lag = rec["htloss"], rec["lag"]
        self.pend, self.workper = rec["pend"], rec["workper"]
        self.time_in = [0, 0, 0, 0]  # µs per state
        self.counts = {"mlmtd_us": 0, "switches": 0, "migrations": 0, "quantum_expires": 0, "wakeups": 0}
        self.draws: deque[tuple[float, float]] = deque()
        self.vm: VmGroup


class Core:
    """A physical core: its threads (PCPUs) and when it was last charged."""

    __slots__ = ("busy", "index", "last", "threads")

    def __init__(self, index: int) -> None:
        self.index, self.last, self.busy = index, 0, 0
        self.threads: list[PCpu] = []

    def busy_threads(self) -> int:
        return sum(t.world is not None for t in self.threads)


class PCpu:
    """A logical CPU (a hyper-thread when HT is on)."""

    __slots__ = (
        "busy", "core", "excl", "gen", "index", "node", "pendt", "qstart", "sibling", "used", "world",
    )  # fmt: skip

    def __init__(self, index: int, rec: dict[str, Any], core: Core) -> None:
        self.index, self.node, self.core, self.excl = index, rec["node"], core, rec["excl"]
        self.world: World | None = None
        self.sibling: PCpu | None = None
        self.gen, self.qstart, self.busy, self.pendt, self.used = 0, 0, 0, -1, 0.0

    def whole_core_idle(self) -> bool:
        return self.world is None and (self.sibling is None or self.sibling.world is None)


class VmGroup:
    """A VM: its vCPU worlds, co-scheduling bookkeeping and limit budget."""

    __slots__ = (
        "budget", "csgen", "index", "limited", "ncostop", "nrun", "nstall", "skgen", "spent", "throt",
        "vcpus",
    )  # fmt: skip

    def __init__(self, index: int, rec: dict[str, Any], vcpus: list[World]) -> None:
        self.index, self.vcpus = index, vcpus
        self.limited, self.budget, self.spent = bool(rec["limited"]), rec["budget"], 0.0
        self.nstall = self.nrun = self.ncostop = self.csgen = self.skgen = 0
        self.throt = False


class NumaNode:
    """A NUMA node: its PCPUs and its run queue's clock (the ``vt`` last dispatched there)."""

    __slots__ = ("clock", "index", "pcpus", "queue")

    def __init__(self, index: int, pcpus: list[PCpu]) -> None:
        self.index, self.pcpus, self.clock = index, pcpus, 0.0
        self.queue: set[World] = set()


class ReferenceCore:
    """The scheduler over slotted objects; the same inputs, events and counters as vmksim.sched.core."""

    jit = False

    def __init__(self, arrays: dict[str, np.ndarray], refill: Refill) -> None:
        g = GLOBAL.read(arrays["g"].reshape(1, -1), arrays["gf"].reshape(1, -1), 0)
        self.g = g
        self.now, self.seq = 0, 0
        self.heap: list[tuple[int, int, int, int, int]] = []
        self.refill = refill
        self.tstep, self.tsteps = int(g["tstep"]), int(g["tsteps"])
        self.tb = arrays["tb"].reshape(-1, self.tsteps)
        self.ti = arrays["ti"].reshape(-1, self.tsteps)
        self._build(arrays)

    # --- construction from the initial records ----------------------------------------------
    def _build(self, arrays: dict[str, np.ndarray]) -> None:
        g = self.g
        nw, np_, nv, nodes = int(g["nw"]), int(g["np"]), int(g["nv"]), int(g["nodes"])
        wi, wf = arrays["wi"].reshape(nw, -1), arrays["wf"].reshape(nw, -1)
        aff = arrays["aff"].reshape(-1, np_)
        block = int(g["block"])
        bb, ib = arrays["bb"].reshape(nw, block), arrays["ib"].reshape(nw, block)
        self.worlds = [World(w, dict(WORLD.read(wi, wf, w))) for w in range(nw)]
        for w, world in enumerate(self.worlds):
            mask = int(wi[w, WORLD.i("mask")])
            world.allowed = None if mask == 0 else frozenset(np.nonzero(aff[mask])[0].tolist())
            cur, fill = int(wi[w, WORLD.i("cur")]), int(wi[w, WORLD.i("fill")])
            world.draws.extend(zip(bb[w, cur:fill].tolist(), ib[w, cur:fill].tolist(), strict=True))
        pi = arrays["pi"].reshape(np_, -1)
        tpc = int(g["tpc"])
        self.cores = [Core(c) for c in range(np_ // tpc)]
        self.pcpus = [
            PCpu(p, dict(PCPU.read(pi, None, p)), self.cores[int(pi[p, PCPU.i("core")])]) for p in range(np_)
        ]
        for p, pc in enumerate(self.pcpus):
            sib = int(pi[p, PCPU.i("sib")])
            pc.sibling = self.pcpus[sib] if sib >= 0 else None
            pc.core.threads.append(pc)
        tpn = int(g["tpn"])
        # queue index `nodes` is the "any node" run queue (worlds not confined to one node)
        self.nodes = [NumaNode(n, self.pcpus[n * tpn : (n + 1) * tpn]) for n in range(nodes)]
        self.nodes.append(NumaNode(nodes, self.pcpus))
        vi, vf = arrays["vi"].reshape(nv, -1), arrays["vf"].reshape(nv, -1)
        self.vms = []
        for v in range(nv):
            rec = dict(VM.read(vi, vf, v))
            vcpus = self.worlds[int(rec["first"]) : int(rec["first"] + rec["n"])]
            self.vms.append(VmGroup(v, rec, vcpus))
            for world in vcpus:
                world.vm = self.vms[-1]

    # --- the kernel's interface (vmksim.sched.engine.CoreState's) -------------------------------
    def call(self, fn: str, *args: int) -> None:
        """The two entry points the kernel calls besides running: push an event, move a world."""
        if fn == "heap_push":
            self.push(*args)
        elif fn == "move_world":
            self.move_world(*args)
        else:
            raise ValueError(f"no entry point {fn!r}")

    def get(self, name: str, i: int) -> Any:
        return self.view(name)[i]

    def run_until(self, t_stop: int, refill: object = None) -> None:
        """Process every event before *t_stop* (SimPy's ``run(until=...)``)."""
        while self.heap and self.heap[0][0] < t_stop:
            self.step()
        self.now = t_stop

    def view(self, name: str) -> np.ndarray:
        """Section *name* of the compiled core's layout, filled from the objects (what the kernel reads)."""
        return _export(self, name)

    # --- the event loop --------------------------------------------------------------------------
    def push(self, t: int, kind: int, x: int, gen: int) -> None:
        heapq.heappush(self.heap, (t, self.seq, kind, x, gen))
        self.seq += 1

    def step(self) -> None:
        """Pop the earliest event (ties: first pushed) and run its handler unless it went stale."""
        t, _, kind, x, gen = heapq.heappop(self.heap)
        self.now = t
        if kind == SLICE:
            p = self.pcpus[x]
            if p.gen == gen:
                p.pendt = -1
                self.on_slice(p)
        elif kind == WAKE:
            w = self.worlds[x]
            if w.wgen == gen and w.state == WAIT:
                self.on_wake(w)
        elif kind == TICK:
            self.on_tick(self.worlds[x])
        elif kind == COSTART and self.vms[x].csgen == gen:
            self.on_costart(self.vms[x])
        elif kind == SKEW and self.vms[x].skgen == gen:
            self.on_skew(self.vms[x])
        elif kind == LIMIT:
            self.on_limit_period()

    # --- charging (§1.6, §1.12, §3.3) -------------------------------------------------------------
    def settle(self, core: Core) -> None:
        """Charge the running threads of *core* for the time since it was last charged."""
        d = self.now - core.last
        if d <= 0:
            return
        core.last = self.now
        shared = core.busy_threads() > 1
        if not shared and core.busy_threads() == 0:
            return
        core.busy += d
        g = self.g
        freq = g["freq"]
        for p in core.threads:
            w = p.world
            if w is None:
                continue
            p.busy += d
            if shared:  # both threads busy: 62.5 % to the vCPU, 50 % to the PCPU
                used = g["htcharge"] * freq * d
                progress = g["htprogress"] * freq * d
                p.used += g["htpcpu"] * freq * d
                w.htloss += (1.0 - g["htcharge"]) * freq * d
            else:
                used = freq * d
                progress = used
                p.used += freq * d
            w.used += used
            w.work -= progress
            w.vt += used * w.wscale  # priority: consumed ÷ entitlement (§1.3)
            if w.vm.limited:
                w.vm.spent += used

    def set_state(self, w: World, new: int, mlmtd: int = 0) -> None:
        """Move w to *new*, charging the time in the old state (§1.2); keep co-scheduling lags (§1.5)."""
        old, d = w.state, self.now - w.since
        w.time_in[old] += d
        if old == READY and w.max_limited:
            w.counts["mlmtd_us"] += d
        was_stalled = old in (READY, COSTOP)
        if was_stalled:
            w.lag += d
        w.state, w.max_limited, w.since = new, mlmtd, self.now
        vm = w.vm
        vm.ncostop += (new == COSTOP) - (old == COSTOP)
        stalled = new in (READY, COSTOP)
        if stalled and not was_stalled:
            vm.nstall += 1
            if len(vm.vcpus) > 1:
                self.skew_check_later(vm)  # a sibling fell behind: the runners' skew grows
        elif was_stalled and not stalled:
            vm.nstall -= 1
            if vm.nstall == 0:  # in step again: lags restart from zero
                for s in vm.vcpus:
                    s.lag = 0.0

    # --- relaxed co-scheduling (§1.5) -------------------------------------------------------------
    def lag_now(self, w: World) -> float:
        return w.lag + (self.now - w.since if w.state in (READY, COSTOP) else 0)

    def skew(self, w: World) -> float:
        """Progress lead of w over its slowest sibling (µs); 0 for 1-vCPU VMs or a VM in step."""
        vm = w.vm
        if len(vm.vcpus) < 2 or vm.nstall == 0:
            return 0.0
        return max([0.0] + [self.lag_now(s) for s in vm.vcpus]) - self.lag_now(w)

    def arm(self, vm: VmGroup, kind: int, delay: float) -> None:
        """(Re)arm vm's co-start or skew event after *delay* µs (rounded up, at least 1)."""
        d = max(1, int(delay) + (int(delay) < delay))
        if kind == COSTART:
            vm.csgen += 1
            self.push(self.now + d, kind, vm.index, vm.csgen)
        else:
            vm.skgen += 1
            self.push(self.now + d, kind, vm.index, vm.skgen)

    def skew_check_later(self, vm: VmGroup) -> None:
        """Check for co-stop when the leading runner's skew reaches the threshold (it grows 1 µs/µs)."""
        stalled_max, static_max, least = -1.0, 0.0, -1.0
        for s in vm.vcpus:
            lag = self.lag_now(s)
            if s.state in (READY, COSTOP):
                stalled_max = max(stalled_max, lag)
            else:
                static_max = max(static_max, lag)
            if s.state == RUN and (least < 0.0 or lag < least):
                least = lag
        if least < 0.0 or stalled_max < 0.0:
            return
        limit = self.g["skew"]
        self.arm(vm, SKEW, 1.0 if static_max - least >= limit else limit - (stalled_max - least))

    def costart_check_later(self, vm: VmGroup) -> None:
        excess = [self.skew(s) - self.g["costart"] for s in vm.vcpus if s.state == COSTOP]
        if excess:
            self.arm(vm, COSTART, min(excess))

    def on_skew(self, vm: VmGroup) -> None:
        """Co-stop every running vCPU whose lead over the slowest sibling reached the threshold."""
        stopped = False
        for s in vm.vcpus:
            if s.state == RUN and self.skew(s) >= self.g["skew"]:
                assert s.pcpu is not None
                p = s.pcpu
                self.undispatch(p)
                self.set_state(s, COSTOP)
                self.pull_next(p)
                stopped = True
        if stopped:
            self.costart_check_later(vm)
        if vm.nstall > 0:
            self.skew_check_later(vm)

    def on_costart(self, vm: VmGroup) -> None:
        for s in vm.vcpus:
            if s.state == COSTOP and self.skew(s) <= self.g["costart"]:
                self.make_runnable(s)
        if vm.ncostop > 0:
            self.costart_check_later(vm)

    # --- run queues and placement (§1.3, §1.6, §1.8, §2) ------------------------------------------
    def allowed(self, w: World, p: PCpu) -> bool:
        if p.excl != SHARED:
            return p.excl == w.index  # latency sensitivity high: the owner only (§1.8)
        return w.allowed is None or p.index in w.allowed

    def queue_pcpus(self, w: World) -> list[PCpu]:
        return self.nodes[w.q].pcpus

    def enqueue(self, w: World) -> None:
        self.nodes[w.q].queue.add(w)
        w.queued = True

    def dequeue(self, w: World) -> None:
        self.nodes[w.q].queue.discard(w)
        w.queued = False

    def pick_ready(self, p: PCpu) -> World | None:
        """The READY world with the lowest vt (then lowest index) that may run on p (§1.3)."""
        if p.excl != SHARED:
            return None
        queued = self.nodes[p.node].queue | self.nodes[-1].queue
        candidates = [w for w in queued if self.allowed(w, p)]
        return min(candidates, key=lambda w: (w.vt, w.index), default=None)

    def find_idle_pcpu(self, w: World) -> PCpu | None:
        """Last PCPU if its whole core is idle, a whole idle core, the last PCPU, any idle thread (§1.6)."""
        if w.excl >= 0:
            own = self.pcpus[w.excl]
            return own if own.world is None else None
        pcpus = self.queue_pcpus(w)
        idle = [p for p in pcpus if p.world is None and self.allowed(w, p)]
        last = next((p for p in idle if p.index == w.last), None)
        if last is not None and last.whole_core_idle():
            return last
        whole = next((p for p in idle if p.whole_core_idle()), None)
        return whole or last or (idle[0] if idle else None)

    def make_runnable(self, w: World) -> None:
        """w has work: run it on an idle PCPU, or queue it READY (or COSTOP / max-limited)."""
        vm = w.vm
        if vm.throt:
            self.set_state(w, READY, 1)  # held by the limit (§1.10): READY + MLMTD, not queued
            return
        if len(vm.vcpus) > 1 and self.skew(w) > self.g["skew"]:
            self.set_state(w, COSTOP)
            self.costart_check_later(vm)
            return
        p = self.find_idle_pcpu(w)
        if p is not None:
            self.dispatch(w, p)
            return
        if w.state != READY or w.max_limited:
            self.set_state(w, READY)
        self.enqueue(w)

    # --- dispatching ---------------------------------------------------------------------------------
    def reslice(self, p: PCpu) -> None:
        """Schedule the next decision point for p's world: burst end, quantum end or limit reached."""
        self.settle(p.core)
        w, g, now = p.world, self.g, self.now
        assert w is not None
        shared = p.sibling is not None and p.sibling.world is not None
        rate = g["htcharge"] * g["freq"] if shared else g["freq"]
        progress = g["htprogress"] * g["freq"] if shared else g["freq"]
        d = _ceil(w.work / progress) if w.work > 0.0 else 0
        d = min(d, p.qstart + int(g["quantum"]) - now)
        if w.vm.limited:
            left = w.vm.budget - w.vm.spent
            d = min(d, _ceil(left / (rate * max(1, w.vm.nrun))))
        d = max(d, 1)
        # The decision point moves to the new time, earlier or later: a rate change (the sibling
        # thread started or stopped, §1.6) or a budget change re-times it. Same time: kept as it is.
        # The superseded entry stays in the heap as stale (generation); the compiled core moves
        # its entry in place with a fresh sequence number instead, which fires in the same order.
        if p.pendt == now + d:
            return
        p.gen += 1
        p.pendt = now + d
        self.push(now + d, SLICE, p.index, p.gen)

    def dispatch(self, w: World, p: PCpu) -> None:
        self.settle(p.core)
        p.world, w.pcpu = w, p
        if w.last >= 0 and w.last != p.index:
            w.counts["migrations"] += 1
        w.last = p.index
        w.counts["switches"] += 1
        p.qstart = self.now
        node = self.nodes[w.q]
        node.clock = max(node.clock, w.vt)
        w.vm.nrun += 1
        self.set_state(w, RUN)
        self.reslice(p)
        if p.sibling is not None and p.sibling.world is not None:
            self.reslice(p.sibling)  # its charge rate changed
        if w.vm.limited:  # the VM's budget now drains faster
            for s in w.vm.vcpus:
                if s is not w and s.state == RUN and s.pcpu is not None:
                    self.reslice(s.pcpu)

    def undispatch(self, p: PCpu) -> World:
        """Take the world off p (the caller sets its new state)."""
        self.settle(p.core)
        w = p.world
        assert w is not None
        p.world, w.pcpu = None, None
        p.gen += 1
        p.pendt = -1
        w.vm.nrun -= 1
        if p.sibling is not None and p.sibling.world is not None:
            self.reslice(p.sibling)
        return w

    def pull_next(self, p: PCpu) -> None:
        best = self.pick_ready(p)
        if best is not None:
            self.dequeue(best)
            self.dispatch(best, p)

    # --- waking and wake-up preemption (§1.3) -------------------------------------------------------
    def wake(self, w: World) -> None:
        w.counts["wakeups"] += 1
        w.vt = max(w.vt, self.nodes[w.q].clock - self.g["credit"] * w.wscale)  # no banking of halted time
        self.make_runnable(w)
        if w.queued:
            self.preempt_for(w)

    def running_vt(self, p: PCpu) -> float:
        w = p.world
        assert w is not None
        rate = self.g["htcharge"] * self.g["freq"] if p.core.busy_threads() > 1 else self.g["freq"]
        return w.vt + (self.now - p.core.last) * rate * w.wscale

    def preempt_for(self, w: World) -> None:
        """A world below its entitlement "will likely be chosen to run next" (CPU51 via RACK, §1.3):
        take the PCPU of the running world with the highest vt, if it is ahead of w by more than
        ``wake_preempt_us`` of w's charged time ([UNDOC], CFS's wake-up granularity)."""
        if w.excl >= 0:
            return
        best_vt = w.vt + self.g["wakegran"] * w.wscale
        victim_p = None
        for p in self.queue_pcpus(w):
            if p.world is not None and self.allowed(w, p):
                vt = self.running_vt(p)
                if vt > best_vt:
                    best_vt, victim_p = vt, p
        if victim_p is None:
            return
        victim = self.undispatch(victim_p)
        self.set_state(victim, READY)
        self.dequeue(w)
        self.dispatch(w, victim_p)
        self.make_runnable(victim)

    # --- workload: bursts, halts, ticks ------------------------------------------------------------
    def table_step(self, w: World) -> int:
        return min(self.now // self.tstep, self.tsteps - 1)

    def next_burst(self, w: World) -> tuple[float, float]:
        """(idle µs, burst work) of w's next cycle, scaled by its VM's demand table at this time."""
        if not w.draws:
            more_busy, more_idle = self.refill(w.index)
            w.draws.extend(zip(more_busy.tolist(), more_idle.tolist(), strict=True))
        busy, idle = w.draws.popleft()
        k = self.table_step(w)
        return idle * self.ti[w.vm.index, k], busy * self.tb[w.vm.index, k]

    def halt_until_wake(self, w: World, idle: float, busy: float) -> None:
        w.work = busy
        w.wgen += 1
        self.push(self.now + max(1, int(idle + 0.5)), WAKE, w.index, w.wgen)

    def on_wake(self, w: World) -> None:
        if w.work < 0.5:  # an empty burst (demand 0 at this time of day): stay halted
            self.halt_until_wake(w, *self.next_burst(w))
        else:
            self.wake(w)

    def on_tick(self, w: World) -> None:
        """A PERIODIC workload's timer: add work; wake the vCPU if it is halted."""
        w.pend += w.workper * self.tb[w.vm.index, self.table_step(w)]
        self.push(self.now + w.period, TICK, w.index, 0)
        if w.state == WAIT and w.pend >= 0.5:
            w.work, w.pend = w.pend, 0.0
            self.wake(w)

    def burst_done(self, p: PCpu) -> None:
        """The world on p finished its work: continue with more, or halt in WAIT (§1.11)."""
        w = p.world
        assert w is not None
        if w.mode == LOOP:
            idle, busy = self.next_burst(w)
            if idle < 0.5 and busy >= 0.5:
                w.work = busy
                self.reslice(p)
                return
            self.halt_until_wake(w, idle, busy)
        elif w.mode == PERIODIC and w.pend > 0.0:
            w.work, w.pend = w.pend, 0.0
            self.reslice(p)
            return
        else:
            w.work = 0.0
        self.undispatch(p)
        self.set_state(w, WAIT)
        self.pull_next(p)

    # --- limits (§1.10) -------------------------------------------------------------------------------
    def throttle(self, vm: VmGroup) -> None:
        """The VM used its limit for this period: hold its runnable vCPUs READY + MLMTD."""
        vm.throt = True
        for s in vm.vcpus:
            if s.state == RUN:
                assert s.pcpu is not None
                p = s.pcpu
                self.undispatch(p)
                self.set_state(s, READY, 1)
                self.pull_next(p)
            elif s.state == READY and s.queued:
                self.dequeue(s)
                self.set_state(s, READY, 1)

    def on_limit_period(self) -> None:
        for vm in self.vms:
            if not vm.limited:
                continue
            vm.spent = 0.0
            if vm.throt:
                vm.throt = False
                for s in vm.vcpus:
                    if s.state == READY and s.max_limited:
                        self.make_runnable(s)
        self.push(self.now + int(self.g["limperiod"]), LIMIT, 0, 0)

    # --- the slice event: burst end, limit, co-stop, quantum (§1.4) --------------------------------
    def on_slice(self, p: PCpu) -> None:
        self.settle(p.core)
        w = p.world
        assert w is not None
        vm, g = w.vm, self.g
        if w.work < 1e-6:
            self.burst_done(p)
        elif vm.limited and vm.spent >= vm.budget - 1e-6:
            self.throttle(vm)
        elif len(vm.vcpus) > 1 and self.skew(w) >= g["skew"]:
            self.undispatch(p)
            self.set_state(w, COSTOP)
            self.costart_check_later(vm)
            self.pull_next(p)
        elif self.now - p.qstart >= g["quantum"]:
            self.quantum_expired(p, w)
        else:
            self.reslice(p)

    def quantum_expired(self, p: PCpu, w: World) -> None:
        """Yield to a READY world of lower vt; else leave a shared core for a whole idle one (§1.6)."""
        w.counts["quantum_expires"] += 1
        best = self.pick_ready(p)
        if best is not None and best.vt < w.vt:
            self.undispatch(p)
            self.set_state(w, READY)
            self.dequeue(best)
            self.dispatch(best, p)
            self.make_runnable(w)
            return
        if p.sibling is not None and p.sibling.world is not None:
            t = self.find_idle_pcpu(w)
            if t is not None and (t.sibling is None or t.sibling.world is None):
                self.undispatch(p)
                self.dispatch(w, t)
                self.pull_next(p)
                return
        p.qstart = self.now
        self.reslice(p)

    # --- NUMA migration (§2.5) -------------------------------------------------------------------------
    def move_world(self, w_index: int, q: int, mask: int, now: int) -> None:
        """Give the world a new run queue (home node); it keeps its place relative to the queue clock."""
        self.now = now
        w = self.worlds[w_index]
        assert mask == 0, "the NUMA runtime confines worlds by run queue, not by mask"
        queued = w.queued
        if queued:
            self.dequeue(w)
        w.vt += self.nodes[q].clock - self.nodes[w.q].clock
        w.q, w.allowed = q, None
        if queued:
            self.make_runnable(w)
        elif w.state == RUN:
            assert w.pcpu is not None
            p = w.pcpu
            if not self.allowed(w, p) or (q < len(self.nodes) - 1 and p.node != q):
                self.undispatch(p)
                self.set_state(w, READY)
                self.make_runnable(w)
                self.pull_next(p)


def _ceil(x: float) -> int:
    """Ceiling as the core computes it (truncate, then add one if below)."""
    n = int(x)
    return n + 1 if n < x else n


def _export(ref: ReferenceCore, name: str) -> np.ndarray:
    """One section of the compiled core's layout (vmksim.sched.schema), from the reference's objects.

    Fields that exist only for the flat layout (a world's queue position, draw-buffer cursor and
    affinity row) are written as placeholders; the kernel reads none of them.
    """
    sections: dict[str, tuple[list[dict[str, float]], tuple[Field, ...]]] = {
        "wi": ([_world_fields(w) for w in ref.worlds], WORLD.ints),
        "wf": ([_world_fields(w) for w in ref.worlds], WORLD.floats),
        "wc": ([_world_fields(w) for w in ref.worlds], COUNTERS.ints),
        "pi": ([_pcpu_fields(p) for p in ref.pcpus], PCPU.ints),
        "pf": ([{"used": p.used} for p in ref.pcpus], PCPU.floats),
        "ci": ([{"last": c.last, "busy": c.busy, "nidle": len(c.threads) - c.busy_threads()} for c in ref.cores], CORE.ints),
        "g": ([{**ref.g, "now": ref.now, "seq": ref.seq, "hsize": len(ref.heap)}], GLOBAL.ints),
    }  # fmt: skip
    if name not in sections:
        raise KeyError(f"the reference does not export section {name!r}")
    rows, fields = sections[name]
    dtype = np.float64 if name in ("wf", "pf") else np.int64
    return np.array([[row[f.name] for f in fields] for row in rows], dtype=dtype).ravel()


def _pcpu_fields(p: PCpu) -> dict[str, float]:
    return {
        "world": -1 if p.world is None else p.world.index, "sib": -1 if p.sibling is None else p.sibling.index,
        "node": p.node, "gen": p.gen, "qstart": p.qstart, "excl": p.excl, "busy": p.busy,
        "core": p.core.index, "pendt": p.pendt, "hpos": -1,
    }  # fmt: skip


def _world_fields(w: World) -> dict[str, float]:
    return {
        "state": w.state, "pcpu": -1 if w.pcpu is None else w.pcpu.index, "last": w.last, "vm": w.vm.index,
        "q": w.q, "qpos": 0 if w.queued else -1, "mask": 0, "mlmtd": w.max_limited, "since": w.since,
        "mode": w.mode, "cur": 0, "period": w.period, "excl": w.excl, "wgen": w.wgen, "fill": 0,
        "vt": w.vt, "work": w.work, "wscale": w.wscale, "used": w.used, "htloss": w.htloss, "lag": w.lag,
        "pend": w.pend, "workper": w.workper,
        "run_us": w.time_in[RUN], "ready_us": w.time_in[READY], "costop_us": w.time_in[COSTOP],
        "wait_us": w.time_in[WAIT], **w.counts,
    }  # fmt: skip
