"""The hot path of the simulated VMkernel: event loop, CPU scheduler, co-scheduling, limits, HT charging.

ESXi counterpart: the VMkernel CPU scheduler (esxi-scheduler.md §1). One world
per vCPU, each in exactly one of RUN, READY (optionally max-limited), COSTOP or
WAIT; PCPUs numbered with adjacent hyper-thread siblings (§1.1).

What it does, with the rule each part implements:

* **Proportional share** (§1.3): a world's priority is charged time ÷
  entitlement, kept as a virtual time ``vt += used_µs × 1000 / weight_MHz``; a
  free PCPU takes the READY world with the lowest ``vt`` that may run there.
  A waking world's ``vt`` is clamped to at most ``wake_credit_us`` behind the
  queue's clock (the ``vt`` last dispatched), so halted time is not banked.
* **Wake-up preemption** (§1.3 priority rule): a waking world that finds no
  idle PCPU preempts the running world with the highest ``vt`` among the PCPUs
  it may use, if that ``vt`` exceeds its own by more than
  ``wake_preempt_us`` of its charged time; the preempted world goes READY.
* **Quantum** (§1.4): at quantum expiry the running world yields to a READY
  world with a lower ``vt``; otherwise it starts a new quantum.
* **Placement / HT** (§1.6): a waking world takes, in order, its last PCPU if its
  whole core is idle, a whole idle core, its last PCPU, any idle thread; else
  it waits READY. The whole-core preference is what ESXi's scheduler does by
  default; migrating a running world onto a core that frees later is not
  modelled.
* **HT charging** (§1.6, §3.3): while the sibling thread is busy a vCPU is
  charged ``ht_charge`` (62.5 %) of its RUN time and gets that much work done;
  the PCPU is charged ``ht_pcpu_charge`` (50 %); the lost 37.5 % goes to %LAT_C.
* **Limits** (§1.10): a VM's used time per ``limit_period_us`` is capped; when
  exhausted its vCPUs are READY with the MLMTD flag until the next period.
* **Relaxed co-scheduling** (§1.5): a vCPU's lag is the time it spent stalled
  (READY or COSTOP) since the VM last had no stalled vCPU; RUN and WAIT (idle)
  are progress. Skew = the slowest sibling's lag − own lag. A vCPU whose skew
  exceeds ``costop_skew_us`` is co-stopped, and co-started once its skew has
  fallen to ``costart_skew_us``. 1-vCPU VMs never co-stop.
* **Latency sensitivity high** (§1.8): a world with an exclusive PCPU runs only
  there and nobody else uses that PCPU or its sibling.

Time is integer µs; events are ordered by (time, sequence), so equal-time
events run in the order they were scheduled.

The specification is vmksim.sched.reference: the same rules over objects, read
top to bottom; tests/test_sched_reference.py proves this core gives identical
counters on generated scenarios. Change a rule there first, then here.

Implementation: the state is three flat arrays -- ``I`` (int64: globals, worlds,
counters, PCPUs, cores, VMs, run queues, affinity masks), ``F`` (float64: globals,
worlds, PCPUs, VMs, queue clocks, draw buffers, demand tables) and ``H`` (the
event heap; the slice events, one per running PCPU, live in an indexed heap in ``I``) -- with records at fixed strides in sections whose offsets are stored
in ``I`` (``G_O*``). The records and sections are declared once in
vmksim.sched.schema; the offset constants below are derived from it by field
name. Every function takes just (I, F, H): a compiled call reference-counts each
array argument with atomic instructions, so the state is three arrays, and ``run``
(the entry the engine calls) passes them as borrowed views whose counting is a no-op.
The functions use only what numba's ``njit`` compiles,
so the same source runs interpreted on Python lists (vmksim.sched.engine) or
compiled on numpy arrays (numba, a core dependency); a test checks that both give
identical counters.
"""

from __future__ import annotations

# ruff: noqa: SIM109, E741
# mypy: ignore-errors
# (The functions take the state arrays positionally so numba can compile them;
# typing them with numpy annotations would not change the compiled code.)
from vmksim.sched.schema import (
    CORE,
    COSTOP,
    COUNTERS,
    EV_COSTART,
    EV_LIMIT,
    EV_SKEW,
    EV_TICK,
    EV_WAKE,
    GLOBAL,
    MODE_LOOP,
    MODE_PERIODIC,
    NODE,
    PCPU,
    READY,
    RUN,
    VM,
    WAIT,
    WORLD,
)

# world states, event kinds and workload modes: declared in vmksim.sched.schema

# --- g: global ints (schema.GLOBAL) ----------------------------------------------------------
G_NOW = GLOBAL.i("now")
G_HSIZE = GLOBAL.i("hsize")
G_SEQ = GLOBAL.i("seq")
G_NW = GLOBAL.i("nw")
G_NP = GLOBAL.i("np")
G_NV = GLOBAL.i("nv")
G_NODES = GLOBAL.i("nodes")
G_TPC = GLOBAL.i("tpc")
G_TPN = GLOBAL.i("tpn")
G_BLOCK = GLOBAL.i("block")
G_TSTEPS = GLOBAL.i("tsteps")
G_TSTEP = GLOBAL.i("tstep")
G_QUANTUM = GLOBAL.i("quantum")
G_SKEW = GLOBAL.i("skew")
G_COSTART = GLOBAL.i("costart")
G_LIMPERIOD = GLOBAL.i("limperiod")
G_CREDIT = GLOBAL.i("credit")
G_REFILL = GLOBAL.i("refill")
G_HCAP = GLOBAL.i("hcap")
G_NLIMITED = GLOBAL.i("nlimited")
G_OWI = GLOBAL.i("owi")
G_OWC = GLOBAL.i("owc")
G_OPI = GLOBAL.i("opi")
G_OCI = GLOBAL.i("oci")
G_OVI = GLOBAL.i("ovi")
G_ORQ = GLOBAL.i("orq")
G_ORQN = GLOBAL.i("orqn")
G_OAFF = GLOBAL.i("oaff")
G_OWF = GLOBAL.i("owf")
G_OPF = GLOBAL.i("opf")
G_OVF = GLOBAL.i("ovf")
G_OQF = GLOBAL.i("oqf")
G_OBB = GLOBAL.i("obb")
G_OIB = GLOBAL.i("oib")
G_OTB = GLOBAL.i("otb")
G_OTI = GLOBAL.i("oti")
G_NEXCL = GLOBAL.i("nexcl")
G_ONI = GLOBAL.i("oni")
G_WAKEGRAN = GLOBAL.i("wakegran")
G_SSIZE = GLOBAL.i("ssize")
G_OSH = GLOBAL.i("osh")
NG = GLOBAL.n_int

# --- gf: global floats -----------------------------------------------------------------------
GF_HTCHARGE = GLOBAL.f("htcharge")
GF_HTPCPU = GLOBAL.f("htpcpu")
GF_HTPROGRESS = GLOBAL.f("htprogress")
GF_FREQ = GLOBAL.f("freq")
NGF = GLOBAL.n_float

# --- wi: world ints (schema.WORLD; stride NWI) -----------------------------------------------
W_STATE = WORLD.i("state")
W_PCPU = WORLD.i("pcpu")
W_LAST = WORLD.i("last")
W_VM = WORLD.i("vm")
W_Q = WORLD.i("q")
W_QPOS = WORLD.i("qpos")
W_MASK = WORLD.i("mask")
W_MLMTD = WORLD.i("mlmtd")
W_SINCE = WORLD.i("since")
W_MODE = WORLD.i("mode")
W_CUR = WORLD.i("cur")
W_PERIOD = WORLD.i("period")
W_EXCL = WORLD.i("excl")
W_WGEN = WORLD.i("wgen")
W_FILL = WORLD.i("fill")
NWI = WORLD.n_int

# --- wf: world floats (stride NWF) -----------------------------------------------------------
F_VT = WORLD.f("vt")
F_WORK = WORLD.f("work")
F_WSCALE = WORLD.f("wscale")
F_USED = WORLD.f("used")
F_HTLOSS = WORLD.f("htloss")
F_LAG = WORLD.f("lag")
F_PEND = WORLD.f("pend")
F_WORKPER = WORLD.f("workper")
NWF = WORLD.n_float

# --- wc: world counters (schema.COUNTERS; stride NWC), cumulative ----------------------------
C_RUN = COUNTERS.i("run_us")
C_READY = COUNTERS.i("ready_us")
C_COSTOP = COUNTERS.i("costop_us")
C_WAIT = COUNTERS.i("wait_us")
C_MLMTD = COUNTERS.i("mlmtd_us")
C_SWTCH = COUNTERS.i("switches")
C_MIG = COUNTERS.i("migrations")
C_QEXP = COUNTERS.i("quantum_expires")
C_WAKE = COUNTERS.i("wakeups")
NWC = COUNTERS.n_int

# --- pi: PCPU ints (schema.PCPU; stride NPI) -------------------------------------------------
P_WORLD = PCPU.i("world")
P_SIB = PCPU.i("sib")
P_NODE = PCPU.i("node")
P_GEN = PCPU.i("gen")
P_QSTART = PCPU.i("qstart")
P_EXCL = PCPU.i("excl")
P_BUSY = PCPU.i("busy")
P_CORE = PCPU.i("core")
P_PENDT = PCPU.i("pendt")
P_HPOS = PCPU.i("hpos")
NPI = PCPU.n_int

# --- ci: core ints (schema.CORE; stride NCI) -------------------------------------------------
K_LAST = CORE.i("last")
K_BUSY = CORE.i("busy")
K_NIDLE = CORE.i("nidle")
NCI = CORE.n_int

# --- ni: NUMA node ints (schema.NODE; stride NNI) --------------------------------------------
N_IDLE = NODE.i("idle")
N_FREE = NODE.i("free")
NNI = NODE.n_int

# --- vi: VM ints (schema.VM; stride NVI) -----------------------------------------------------
V_FIRST = VM.i("first")
V_N = VM.i("n")
V_NSTALL = VM.i("nstall")
V_THROT = VM.i("throt")
V_CSGEN = VM.i("csgen")
V_LIMITED = VM.i("limited")
V_NRUN = VM.i("nrun")
V_NCOSTOP = VM.i("ncostop")
V_SKGEN = VM.i("skgen")
NVI = VM.n_int

# --- vf: VM floats (stride NVF) --------------------------------------------------------------
VF_BUDGET = VM.f("budget")
VF_SPENT = VM.f("spent")
NVF = VM.n_float

# the first four counters are indexed by state code (set_state: ``I[o_wc + w * NWC + old] += d``)
assert (C_RUN, C_READY, C_COSTOP, C_WAIT) == (RUN, READY, COSTOP, WAIT)

# --- heap entries (stride NH): a sort key and a packed payload ----------------------------------
# key = time << SEQ_BITS | sequence (mod 2^SEQ_BITS): one int64 comparison orders by (time, sequence),
# so simulated time must stay below 2^41 µs (25 days).
# payload = kind << 56 | (gen mod 2^32) << 24 | x
NH = 2
SEQ_BITS = 22
SEQ_MASK = (1 << SEQ_BITS) - 1
GEN_MASK = (1 << 32) - 1
X_MASK = (1 << 24) - 1
MAX_TIME_US = 1 << 41
EMPTY = (1 << 63) - 1  # key of every heap slot past the last entry

# --- return codes of run_until -----------------------------------------------------------------
DONE = 0
NEED_REFILL = 1
NEED_HEAP = 2

BIG = 1 << 62


# =============================================================================================
# event heap: binary heap keyed (time, sequence)
# =============================================================================================
def heap_push(I, F, H, t, k, x, gen):
    i = I[G_HSIZE]
    I[G_HSIZE] = i + 1
    seq = I[G_SEQ]
    I[G_SEQ] = seq + 1
    key = (t << SEQ_BITS) | (seq & SEQ_MASK)
    val = (k << 56) | ((gen & GEN_MASK) << 24) | x
    while i > 0:  # sift the hole up
        parent = (i - 1) >> 1
        pkey = H[parent * NH]
        if key < pkey:
            H[i * NH] = pkey
            H[i * NH + 1] = H[parent * NH + 1]
            i = parent
        else:
            break
    H[i * NH] = key
    H[i * NH + 1] = val


def heap_pop(I, F, H):
    """Remove the top entry (read it before calling).

    Slots past the last entry hold the key EMPTY, so the lesser child is chosen without
    testing whether the right child exists (a branch-free step: ~30 % faster pops)."""
    n = I[G_HSIZE] - 1
    I[G_HSIZE] = n
    key = H[n * NH]
    val = H[n * NH + 1]
    H[n * NH] = EMPTY
    if n == 0:
        return
    i = 0
    c = 1
    while c < n:  # sift the hole down
        c += H[(c + 1) * NH] < H[c * NH]
        ckey = H[c * NH]
        if ckey < key:
            H[i * NH] = ckey
            H[i * NH + 1] = H[c * NH + 1]
            i = c
            c = 2 * i + 1
        else:
            break
    H[i * NH] = key
    H[i * NH + 1] = val


# =============================================================================================
# slice heap: one pending decision point per PCPU, indexed, keys updated in place
# =============================================================================================
# Section "sh" holds NP + 1 slots (key, pcpu); slots past the last entry have the key EMPTY.
# P_HPOS is a PCPU's slot. Keys share the event heap's (time << SEQ_BITS | sequence) and its
# sequence counter, so run_until's choice between the two tops is the one (time, sequence)
# order a single heap would give. Moving an entry in place with a fresh sequence number fires
# the same events in the same order as pushing a new entry and skipping the old one as stale.
def _sh_put(I, i, key, p):
    o = I[G_OSH]
    I[o + 2 * i] = key
    I[o + 2 * i + 1] = p
    I[I[G_OPI] + p * NPI + P_HPOS] = i


def _sh_up(I, i, key, p):
    o = I[G_OSH]
    while i > 0:
        parent = (i - 1) >> 1
        pkey = I[o + 2 * parent]
        if key < pkey:
            _sh_put(I, i, pkey, I[o + 2 * parent + 1])
            i = parent
        else:
            break
    _sh_put(I, i, key, p)


def _sh_down(I, i, key, p):
    o = I[G_OSH]
    n = I[G_SSIZE]
    c = 2 * i + 1
    while c < n:
        c += I[o + 2 * c + 2] < I[o + 2 * c]
        ckey = I[o + 2 * c]
        if ckey < key:
            _sh_put(I, i, ckey, I[o + 2 * c + 1])
            i = c
            c = 2 * i + 1
        else:
            break
    _sh_put(I, i, key, p)


def _sh_place(I, i, key, p):
    """Put (key, p) in the hole at slot i, moving it up or down to its place."""
    if i > 0 and key < I[I[G_OSH] + 2 * ((i - 1) >> 1)]:
        _sh_up(I, i, key, p)
    else:
        _sh_down(I, i, key, p)


def slice_set(I, F, H, p, t):
    """p's next decision point is at t: queue it, or move its pending one in place."""
    seq = I[G_SEQ]
    I[G_SEQ] = seq + 1
    key = (t << SEQ_BITS) | (seq & SEQ_MASK)
    i = I[I[G_OPI] + p * NPI + P_HPOS]
    if i < 0:
        i = I[G_SSIZE]
        I[G_SSIZE] = i + 1
        _sh_up(I, i, key, p)
    else:
        _sh_place(I, i, key, p)


def slice_drop(I, F, H, p):
    """Take p's pending decision point (if any) out of the slice heap."""
    i = I[I[G_OPI] + p * NPI + P_HPOS]
    if i < 0:
        return
    I[I[G_OPI] + p * NPI + P_HPOS] = -1
    o = I[G_OSH]
    n = I[G_SSIZE] - 1
    I[G_SSIZE] = n
    key = I[o + 2 * n]
    q = I[o + 2 * n + 1]
    I[o + 2 * n] = EMPTY
    if i < n:
        _sh_place(I, i, key, q)


# =============================================================================================
# accounting
# =============================================================================================
def settle_core(I, F, H, p, now):
    """Charge both threads of p's core for the time since the core was last settled."""
    o_wi = I[G_OWI]
    o_pi = I[G_OPI]
    o_ci = I[G_OCI]
    o_vi = I[G_OVI]
    o_wf = I[G_OWF]
    o_pf = I[G_OPF]
    o_vf = I[G_OVF]
    core = I[o_pi + p * NPI + P_CORE]
    d = now - I[o_ci + core * NCI + K_LAST]
    if d <= 0:
        return
    I[o_ci + core * NCI + K_LAST] = now
    tpc = I[G_TPC]
    first = core * tpc
    busy_threads = tpc - I[o_ci + core * NCI + K_NIDLE]
    if busy_threads == 0:
        return
    I[o_ci + core * NCI + K_BUSY] += d
    freq = F[GF_FREQ]
    for t in range(tpc):
        q = first + t
        w = I[o_pi + q * NPI + P_WORLD]
        if w < 0:
            continue
        I[o_pi + q * NPI + P_BUSY] += d
        if busy_threads > 1:
            used = F[GF_HTCHARGE] * freq * d
            progress = F[GF_HTPROGRESS] * freq * d
            F[o_pf + q] += F[GF_HTPCPU] * freq * d
            F[o_wf + w * NWF + F_HTLOSS] += (1.0 - F[GF_HTCHARGE]) * freq * d
        else:
            used = freq * d
            progress = used
            F[o_pf + q] += freq * d
        F[o_wf + w * NWF + F_USED] += used
        F[o_wf + w * NWF + F_WORK] -= progress
        F[o_wf + w * NWF + F_VT] += used * F[o_wf + w * NWF + F_WSCALE]
        v = I[o_wi + w * NWI + W_VM]
        if I[o_vi + v * NVI + V_LIMITED] != 0:
            F[o_vf + v * NVF + VF_SPENT] += used


def lag_now(I, F, H, w, now):
    o_wi = I[G_OWI]
    o_wf = I[G_OWF]
    lag = F[o_wf + w * NWF + F_LAG]
    st = I[o_wi + w * NWI + W_STATE]
    if st == READY or st == COSTOP:
        lag += now - I[o_wi + w * NWI + W_SINCE]
    return lag


def skew_of(I, F, H, w, now):
    """Progress lead of w over its slowest sibling (µs); 0 for 1-vCPU VMs."""
    o_wi = I[G_OWI]
    o_vi = I[G_OVI]
    v = I[o_wi + w * NWI + W_VM]
    n = I[o_vi + v * NVI + V_N]
    if n < 2 or I[o_vi + v * NVI + V_NSTALL] == 0:
        return 0.0  # nobody stalled: every lag is 0 (set_state resets them when V_NSTALL reaches 0)
    first = I[o_vi + v * NVI + V_FIRST]
    worst = 0.0
    for s in range(first, first + n):
        lag = lag_now(I, F, H, s, now)
        if lag > worst:
            worst = lag
    return worst - lag_now(I, F, H, w, now)


def set_state(I, F, H, w, new, mlmtd, now):
    """Move w to state *new* (with MLMTD flag), charging the time spent in the old state."""
    o_wi = I[G_OWI]
    o_wc = I[G_OWC]
    o_vi = I[G_OVI]
    o_wf = I[G_OWF]
    old = I[o_wi + w * NWI + W_STATE]
    d = now - I[o_wi + w * NWI + W_SINCE]
    I[o_wc + w * NWC + old] += d
    if old == READY and I[o_wi + w * NWI + W_MLMTD] != 0:
        I[o_wc + w * NWC + C_MLMTD] += d
    was_stalled = old == READY or old == COSTOP
    if was_stalled:
        F[o_wf + w * NWF + F_LAG] += d
    I[o_wi + w * NWI + W_STATE] = new
    I[o_wi + w * NWI + W_MLMTD] = mlmtd
    I[o_wi + w * NWI + W_SINCE] = now
    v = I[o_wi + w * NWI + W_VM]
    if old == COSTOP:
        I[o_vi + v * NVI + V_NCOSTOP] -= 1
    if new == COSTOP:
        I[o_vi + v * NVI + V_NCOSTOP] += 1
    stalled = new == READY or new == COSTOP
    if stalled == was_stalled:
        return
    n = I[o_vi + v * NVI + V_N]
    first = I[o_vi + v * NVI + V_FIRST]
    if stalled:
        I[o_vi + v * NVI + V_NSTALL] += 1
        if n > 1:
            # a sibling fell behind: the running vCPUs' skew now grows; check them in time.
            _skew_check_later(I, F, H, v, now)
    else:
        I[o_vi + v * NVI + V_NSTALL] -= 1
        if I[o_vi + v * NVI + V_NSTALL] == 0:
            # nobody is behind: the VM is in step again; lags restart from zero.
            for s in range(first, first + n):
                F[o_wf + s * NWF + F_LAG] = 0.0


# =============================================================================================
# run queues
# =============================================================================================
def enqueue(I, F, H, w):
    o_wi = I[G_OWI]
    o_rq = I[G_ORQ]
    o_rqn = I[G_ORQN]
    q = I[o_wi + w * NWI + W_Q]
    nw = I[G_NW]
    pos = I[o_rqn + q]
    I[o_rq + q * nw + pos] = w
    I[o_rqn + q] = pos + 1
    I[o_wi + w * NWI + W_QPOS] = pos


def dequeue(I, F, H, w):
    o_wi = I[G_OWI]
    o_rq = I[G_ORQ]
    o_rqn = I[G_ORQN]
    q = I[o_wi + w * NWI + W_Q]
    nw = I[G_NW]
    pos = I[o_wi + w * NWI + W_QPOS]
    last = I[o_rqn + q] - 1
    moved = I[o_rq + q * nw + last]
    I[o_rq + q * nw + pos] = moved
    I[o_wi + moved * NWI + W_QPOS] = pos
    I[o_rqn + q] = last
    I[o_wi + w * NWI + W_QPOS] = -1


def allowed(I, F, H, w, p):
    o_wi = I[G_OWI]
    o_pi = I[G_OPI]
    o_aff = I[G_OAFF]
    excl = I[o_pi + p * NPI + P_EXCL]
    if excl != -1:
        return excl == w
    mask = I[o_wi + w * NWI + W_MASK]
    if mask == 0:
        return True
    return I[o_aff + mask * I[G_NP] + p] != 0


def pick_ready(I, F, H, p):
    """The READY world with the lowest vt (then lowest id) that may run on p, or -1."""
    o_pi = I[G_OPI]
    o_rq = I[G_ORQ]
    o_rqn = I[G_ORQN]
    o_wf = I[G_OWF]
    if I[o_pi + p * NPI + P_EXCL] != -1:
        return -1
    nw = I[G_NW]
    best = -1
    best_vt = 0.0
    node = I[o_pi + p * NPI + P_NODE]
    for q in (node, I[G_NODES]):
        base = q * nw
        for i in range(I[o_rqn + q]):
            w = I[o_rq + base + i]
            if not allowed(I, F, H, w, p):
                continue
            vt = F[o_wf + w * NWF + F_VT]
            if best < 0 or vt < best_vt or (vt == best_vt and w < best):
                best = w
                best_vt = vt
    return best


def queue_range(I, q):
    """PCPUs [lo, hi) served by run queue q: its NUMA node's, or every PCPU for the "any node" queue."""
    if q < I[G_NODES]:
        lo = q * I[G_TPN]
        return lo, lo + I[G_TPN]
    return 0, I[G_NP]


def find_idle_pcpu(I, F, H, w):
    """An idle PCPU for w: last PCPU on an idle core, an idle core, last PCPU, any idle thread; or -1."""
    o_wi = I[G_OWI]
    o_pi = I[G_OPI]
    excl = I[o_wi + w * NWI + W_EXCL]
    if excl >= 0:
        return excl if I[o_pi + excl * NPI + P_WORLD] < 0 else -1
    q = I[o_wi + w * NWI + W_Q]
    lo, hi = queue_range(I, q)
    last = I[o_wi + w * NWI + W_LAST]
    last_ok = lo <= last < hi and I[o_pi + last * NPI + P_WORLD] < 0 and allowed(I, F, H, w, last)
    if last_ok:
        sib = I[o_pi + last * NPI + P_SIB]
        if sib < 0 or I[o_pi + sib * NPI + P_WORLD] < 0:
            return last
    if I[G_NEXCL] == 0 and I[o_wi + w * NWI + W_MASK] == 0:
        # every PCPU of the range is allowed: use the idle counts instead of testing each PCPU
        return _first_idle(I, q, lo, hi, last_ok, last)
    half = -1
    for p in range(lo, hi):
        if I[o_pi + p * NPI + P_WORLD] >= 0 or not allowed(I, F, H, w, p):
            continue
        sib = I[o_pi + p * NPI + P_SIB]
        if sib < 0 or (I[o_pi + sib * NPI + P_WORLD] < 0 and I[o_pi + sib * NPI + P_EXCL] != -2):
            return p
        if half < 0:
            half = p
    if last_ok:
        return last
    return half


def _count_idle(I, p, delta):
    """PCPU p became idle (delta 1) or busy (-1): update its core's and node's idle counts."""
    o_pi = I[G_OPI]
    o_ci = I[G_OCI]
    o_ni = I[G_ONI]
    tpc = I[G_TPC]
    k = o_ci + I[o_pi + p * NPI + P_CORE] * NCI + K_NIDLE
    n = o_ni + I[o_pi + p * NPI + P_NODE] * NNI
    if I[k] == tpc:
        I[n + N_FREE] -= 1
    I[k] += delta
    if I[k] == tpc:
        I[n + N_FREE] += 1
    I[n + N_IDLE] += delta


def _first_idle(I, q, lo, hi, last_ok, last):
    """find_idle_pcpu for a world allowed everywhere in [lo, hi) on a host without exclusive PCPUs:
    the first thread of the first wholly idle core, else last (if idle), else the first idle thread."""
    o_pi = I[G_OPI]
    o_ci = I[G_OCI]
    o_ni = I[G_ONI]
    tpc = I[G_TPC]
    if q < I[G_NODES]:
        free = I[o_ni + q * NNI + N_FREE]
        idle = I[o_ni + q * NNI + N_IDLE]
    else:
        free = 0
        idle = 0
        for n in range(I[G_NODES]):
            free += I[o_ni + n * NNI + N_FREE]
            idle += I[o_ni + n * NNI + N_IDLE]
    if free > 0:
        for c in range(lo // tpc, hi // tpc):
            if I[o_ci + c * NCI + K_NIDLE] == tpc:
                return c * tpc
    if last_ok:
        return last
    if idle > 0:
        for c in range(lo // tpc, hi // tpc):
            if I[o_ci + c * NCI + K_NIDLE] > 0:
                for p in range(c * tpc, c * tpc + tpc):
                    if I[o_pi + p * NPI + P_WORLD] < 0:
                        return p
    return -1


# =============================================================================================
# slices
# =============================================================================================
def reslice(I, F, H, p, now):
    """Schedule the next decision point of the world running on p (moving the pending one)."""
    o_wi = I[G_OWI]
    o_pi = I[G_OPI]
    o_vi = I[G_OVI]
    o_wf = I[G_OWF]
    o_vf = I[G_OVF]
    settle_core(I, F, H, p, now)
    w = I[o_pi + p * NPI + P_WORLD]
    sib = I[o_pi + p * NPI + P_SIB]
    rate = F[GF_FREQ]
    prog = F[GF_FREQ]
    if sib >= 0 and I[o_pi + sib * NPI + P_WORLD] >= 0:
        rate = F[GF_HTCHARGE] * F[GF_FREQ]
        prog = F[GF_HTPROGRESS] * F[GF_FREQ]
    work = F[o_wf + w * NWF + F_WORK]
    d = BIG
    if work > 0.0:
        need = work / prog
        dw = int(need)
        if dw < need:
            dw += 1
        d = dw
    else:
        d = 0
    dq = I[o_pi + p * NPI + P_QSTART] + I[G_QUANTUM] - now
    if dq < d:
        d = dq
    v = I[o_wi + w * NWI + W_VM]
    if I[o_vi + v * NVI + V_LIMITED] != 0:
        left = F[o_vf + v * NVF + VF_BUDGET] - F[o_vf + v * NVF + VF_SPENT]
        nrun = I[o_vi + v * NVI + V_NRUN]
        if nrun < 1:
            nrun = 1
        need = left / (rate * nrun)
        dl = int(need)
        if dl < need:
            dl += 1
        if dl < d:
            d = dl
    if d < 1:
        d = 1
    # The rule (shared with vmksim.sched.reference.reslice): the pending decision point moves to
    # the new time, earlier or later, with a fresh sequence number; kept only if the time is equal.
    # (Until 2026-11-29 a later time kept the earlier point, which then fired only to re-slice:
    # ~0.42 such events per burst in bench case a.)
    if I[o_pi + p * NPI + P_PENDT] == now + d:
        return
    gen = I[o_pi + p * NPI + P_GEN] + 1
    I[o_pi + p * NPI + P_GEN] = gen
    I[o_pi + p * NPI + P_PENDT] = now + d
    slice_set(I, F, H, p, now + d)


def dispatch(I, F, H, w, p, now):
    o_wi = I[G_OWI]
    o_wc = I[G_OWC]
    o_pi = I[G_OPI]
    o_vi = I[G_OVI]
    o_wf = I[G_OWF]
    o_qf = I[G_OQF]
    settle_core(I, F, H, p, now)
    I[o_pi + p * NPI + P_WORLD] = w
    _count_idle(I, p, -1)
    I[o_wi + w * NWI + W_PCPU] = p
    last = I[o_wi + w * NWI + W_LAST]
    if last >= 0 and last != p:
        I[o_wc + w * NWC + C_MIG] += 1
    I[o_wi + w * NWI + W_LAST] = p
    I[o_wc + w * NWC + C_SWTCH] += 1
    I[o_pi + p * NPI + P_QSTART] = now
    q = I[o_wi + w * NWI + W_Q]
    if F[o_wf + w * NWF + F_VT] > F[o_qf + q]:
        F[o_qf + q] = F[o_wf + w * NWF + F_VT]
    v = I[o_wi + w * NWI + W_VM]
    I[o_vi + v * NVI + V_NRUN] += 1
    set_state(I, F, H, w, RUN, 0, now)
    reslice(I, F, H, p, now)
    sib = I[o_pi + p * NPI + P_SIB]
    if sib >= 0 and I[o_pi + sib * NPI + P_WORLD] >= 0:
        reslice(I, F, H, sib, now)
    if I[o_vi + v * NVI + V_LIMITED] != 0:
        _reslice_vm(I, F, H, v, w, now)


def _reslice_vm(I, F, H, v, skip, now):
    o_wi = I[G_OWI]
    o_vi = I[G_OVI]
    first = I[o_vi + v * NVI + V_FIRST]
    for s in range(first, first + I[o_vi + v * NVI + V_N]):
        if s != skip and I[o_wi + s * NWI + W_STATE] == RUN:
            reslice(I, F, H, I[o_wi + s * NWI + W_PCPU], now)


def undispatch(I, F, H, p, now):
    """Take the world off p (caller sets its new state)."""
    o_wi = I[G_OWI]
    o_pi = I[G_OPI]
    o_vi = I[G_OVI]
    settle_core(I, F, H, p, now)
    w = I[o_pi + p * NPI + P_WORLD]
    I[o_pi + p * NPI + P_WORLD] = -1
    _count_idle(I, p, 1)
    I[o_pi + p * NPI + P_GEN] += 1
    I[o_pi + p * NPI + P_PENDT] = -1
    slice_drop(I, F, H, p)
    I[o_wi + w * NWI + W_PCPU] = -1
    v = I[o_wi + w * NWI + W_VM]
    I[o_vi + v * NVI + V_NRUN] -= 1
    sib = I[o_pi + p * NPI + P_SIB]
    if sib >= 0 and I[o_pi + sib * NPI + P_WORLD] >= 0:
        reslice(I, F, H, sib, now)
    return w


def pull_next(I, F, H, p, now):
    best = pick_ready(I, F, H, p)
    if best >= 0:
        dequeue(I, F, H, best)
        dispatch(I, F, H, best, p, now)


def make_runnable(I, F, H, w, now):
    """w has work: run it on an idle PCPU, or queue it READY (or COSTOP / max-limited)."""
    o_wi = I[G_OWI]
    o_vi = I[G_OVI]
    v = I[o_wi + w * NWI + W_VM]
    if I[o_vi + v * NVI + V_THROT] != 0:
        set_state(I, F, H, w, READY, 1, now)
        return
    if I[o_vi + v * NVI + V_N] > 1 and skew_of(I, F, H, w, now) > I[G_SKEW]:
        set_state(I, F, H, w, COSTOP, 0, now)
        _costart_check_later(I, F, H, v, now)
        return
    p = find_idle_pcpu(I, F, H, w)
    if p >= 0:
        dispatch(I, F, H, w, p, now)
    else:
        if I[o_wi + w * NWI + W_STATE] != READY or I[o_wi + w * NWI + W_MLMTD] != 0:
            set_state(I, F, H, w, READY, 0, now)
        enqueue(I, F, H, w)


def _skew_check_later(I, F, H, v, now):
    """Schedule the VM's co-stop check for when the leading running vCPU's skew reaches the threshold.

    A running vCPU's skew grows only through its stalled siblings' lag (1 µs per µs); the
    leader is the running vCPU with the least lag.
    """
    o_wi = I[G_OWI]
    o_vi = I[G_OVI]
    first = I[o_vi + v * NVI + V_FIRST]
    stalled_max = -1.0  # grows 1 µs per µs
    static_max = 0.0  # running or halted siblings: constant
    least = -1.0
    for s in range(first, first + I[o_vi + v * NVI + V_N]):
        lag = lag_now(I, F, H, s, now)
        st = I[o_wi + s * NWI + W_STATE]
        if st == READY or st == COSTOP:
            if lag > stalled_max:
                stalled_max = lag
        elif lag > static_max:
            static_max = lag
        if st == RUN and (least < 0.0 or lag < least):
            least = lag
    if least < 0.0 or stalled_max < 0.0:
        return
    left = 1.0 if static_max - least >= I[G_SKEW] else I[G_SKEW] - (stalled_max - least)
    _arm_vm(I, F, H, v, V_SKGEN, EV_SKEW, now, left)


def _arm_vm(I, F, H, v, gen_field, kind, now, delay):
    """(Re)arm VM v's event *kind* after *delay* µs, rounded up, at least 1; its generation
    field invalidates any earlier arming still in the heap."""
    d = int(delay)
    if d < delay:
        d += 1
    if d < 1:
        d = 1
    gen = I[I[G_OVI] + v * NVI + gen_field] + 1
    I[I[G_OVI] + v * NVI + gen_field] = gen
    heap_push(I, F, H, now + d, kind, v, gen)


def on_skew(I, F, H, v, now):
    """Co-stop every running vCPU of v whose lead over the slowest sibling reached the threshold."""
    o_wi = I[G_OWI]
    o_vi = I[G_OVI]
    first = I[o_vi + v * NVI + V_FIRST]
    stopped = False
    for s in range(first, first + I[o_vi + v * NVI + V_N]):
        if I[o_wi + s * NWI + W_STATE] == RUN and skew_of(I, F, H, s, now) >= I[G_SKEW]:
            p = I[o_wi + s * NWI + W_PCPU]
            undispatch(I, F, H, p, now)
            set_state(I, F, H, s, COSTOP, 0, now)
            pull_next(I, F, H, p, now)
            stopped = True
    if stopped:
        _costart_check_later(I, F, H, v, now)
    if I[o_vi + v * NVI + V_NSTALL] > 0:
        _skew_check_later(I, F, H, v, now)


def _costart_check_later(I, F, H, v, now):
    """Schedule the VM's next co-start check at the earliest time a co-stopped skew can fall enough."""
    o_wi = I[G_OWI]
    o_vi = I[G_OVI]
    first = I[o_vi + v * NVI + V_FIRST]
    found = False
    soonest = 0.0
    for s in range(first, first + I[o_vi + v * NVI + V_N]):
        if I[o_wi + s * NWI + W_STATE] == COSTOP:
            excess = skew_of(I, F, H, s, now) - I[G_COSTART]
            if not found or excess < soonest:
                soonest = excess
                found = True
    if found:  # ceil of the least excess = the least of the ceilings
        _arm_vm(I, F, H, v, V_CSGEN, EV_COSTART, now, soonest)


def wake(I, F, H, w, now):
    o_wi = I[G_OWI]
    o_wc = I[G_OWC]
    o_wf = I[G_OWF]
    o_qf = I[G_OQF]
    I[o_wc + w * NWC + C_WAKE] += 1
    floor = F[o_qf + I[o_wi + w * NWI + W_Q]] - I[G_CREDIT] * F[o_wf + w * NWF + F_WSCALE]
    if F[o_wf + w * NWF + F_VT] < floor:
        F[o_wf + w * NWF + F_VT] = floor
    make_runnable(I, F, H, w, now)
    if I[o_wi + w * NWI + W_QPOS] >= 0:
        preempt_for(I, F, H, w, now)


def running_vt(I, F, H, p, now):
    """Priority (virtual time) of the world running on p, counting its run time not yet settled."""
    o_pi = I[G_OPI]
    o_ci = I[G_OCI]
    o_wf = I[G_OWF]
    w = I[o_pi + p * NPI + P_WORLD]
    core = I[o_pi + p * NPI + P_CORE]
    rate = F[GF_FREQ]
    if I[G_TPC] - I[o_ci + core * NCI + K_NIDLE] > 1:
        rate = F[GF_HTCHARGE] * F[GF_FREQ]
    d = now - I[o_ci + core * NCI + K_LAST]
    return F[o_wf + w * NWF + F_VT] + d * rate * F[o_wf + w * NWF + F_WSCALE]


def preempt_for(I, F, H, w, now):
    """Wake-up preemption: READY w takes the PCPU of the lowest-priority running world, if far enough behind.

    The priority rule (CPU51 quoted in RACK, esxi-scheduler.md §1.3): the ratio consumed /
    entitlement is a world's priority, and a world that has consumed less than its entitlement
    "is considered high priority and will likely be chosen to run next"; the scheduler
    "handles priorities and preempts" (packtpub vSphere High Performance Cookbook, §1.3).
    So a world that wakes with a lower ``vt`` than a running world does not wait for that
    world's quantum to end. Among the PCPUs w may use (its home node's, or all; its affinity),
    the running world with the highest ``vt`` (then the lowest PCPU) is preempted if its ``vt``
    exceeds w's by more than ``G_WAKEGRAN`` µs of w's charged time (SchedParams.wake_preempt_us,
    [UNDOC]; the same guard as CFS's wake-up granularity, so near-equal worlds do not thrash).
    The preempted world is READY again and keeps its ``vt``.
    """
    o_wi = I[G_OWI]
    o_pi = I[G_OPI]
    o_wf = I[G_OWF]
    if I[o_wi + w * NWI + W_EXCL] >= 0:
        return  # latency sensitivity high: its own PCPU, which nobody else runs on
    lo, hi = queue_range(I, I[o_wi + w * NWI + W_Q])
    best_vt = F[o_wf + w * NWF + F_VT] + I[G_WAKEGRAN] * F[o_wf + w * NWF + F_WSCALE]
    victim_p = -1
    for p in range(lo, hi):
        if I[o_pi + p * NPI + P_WORLD] < 0 or not allowed(I, F, H, w, p):
            continue
        vt = running_vt(I, F, H, p, now)
        if vt > best_vt:
            best_vt = vt
            victim_p = p
    if victim_p < 0:
        return
    victim = undispatch(I, F, H, victim_p, now)
    set_state(I, F, H, victim, READY, 0, now)
    dequeue(I, F, H, w)
    dispatch(I, F, H, w, victim_p, now)
    make_runnable(I, F, H, victim, now)


def _next_burst(I, F, H, w, now):
    """Draw (idle µs, burst work) for w's next cycle, scaled by its VM's demand table."""
    o_wi = I[G_OWI]
    o_bb = I[G_OBB]
    o_ib = I[G_OIB]
    o_tb = I[G_OTB]
    o_ti = I[G_OTI]
    blk = I[G_BLOCK]
    cur = I[o_wi + w * NWI + W_CUR]
    I[o_wi + w * NWI + W_CUR] = cur + 1
    v = I[o_wi + w * NWI + W_VM]
    k = now // I[G_TSTEP]
    if k >= I[G_TSTEPS]:
        k = I[G_TSTEPS] - 1
    k = v * I[G_TSTEPS] + k
    busy = F[o_bb + w * blk + cur] * F[o_tb + k]
    idle = F[o_ib + w * blk + cur] * F[o_ti + k]
    return idle, busy


def _halt_until_wake(I, F, H, w, idle, busy, now):
    """Schedule w's wake after *idle* µs (at least 1) with *busy* work waiting."""
    o_wi = I[G_OWI]
    o_wf = I[G_OWF]
    F[o_wf + w * NWF + F_WORK] = busy
    di = int(idle + 0.5)
    if di < 1:
        di = 1
    gen = I[o_wi + w * NWI + W_WGEN] + 1
    I[o_wi + w * NWI + W_WGEN] = gen
    heap_push(I, F, H, now + di, EV_WAKE, w, gen)


def burst_done(I, F, H, p, now):
    """The world on p finished its work: continue with more, or halt (WAIT)."""
    o_wi = I[G_OWI]
    o_pi = I[G_OPI]
    o_wf = I[G_OWF]
    w = I[o_pi + p * NPI + P_WORLD]
    mode = I[o_wi + w * NWI + W_MODE]
    if mode == MODE_LOOP:
        idle, busy = _next_burst(I, F, H, w, now)
        if idle < 0.5 and busy >= 0.5:
            F[o_wf + w * NWF + F_WORK] = busy
            reslice(I, F, H, p, now)
            return
        _halt_until_wake(I, F, H, w, idle, busy, now)
    elif mode == MODE_PERIODIC and F[o_wf + w * NWF + F_PEND] > 0.0:
        F[o_wf + w * NWF + F_WORK] = F[o_wf + w * NWF + F_PEND]
        F[o_wf + w * NWF + F_PEND] = 0.0
        reslice(I, F, H, p, now)
        return
    else:
        F[o_wf + w * NWF + F_WORK] = 0.0
    undispatch(I, F, H, p, now)
    set_state(I, F, H, w, WAIT, 0, now)
    pull_next(I, F, H, p, now)


def throttle(I, F, H, v, now):
    """The VM used its limit for this period: hold its runnable vCPUs READY + MLMTD."""
    o_wi = I[G_OWI]
    o_vi = I[G_OVI]
    I[o_vi + v * NVI + V_THROT] = 1
    first = I[o_vi + v * NVI + V_FIRST]
    for s in range(first, first + I[o_vi + v * NVI + V_N]):
        st = I[o_wi + s * NWI + W_STATE]
        if st == RUN:
            p = I[o_wi + s * NWI + W_PCPU]
            undispatch(I, F, H, p, now)
            set_state(I, F, H, s, READY, 1, now)
            pull_next(I, F, H, p, now)
        elif st == READY and I[o_wi + s * NWI + W_QPOS] >= 0:
            dequeue(I, F, H, s)
            set_state(I, F, H, s, READY, 1, now)


def on_limit_period(I, F, H, now):
    o_wi = I[G_OWI]
    o_vi = I[G_OVI]
    o_vf = I[G_OVF]
    for v in range(I[G_NV]):
        if I[o_vi + v * NVI + V_LIMITED] == 0:
            continue
        F[o_vf + v * NVF + VF_SPENT] = 0.0
        if I[o_vi + v * NVI + V_THROT] == 0:
            continue
        I[o_vi + v * NVI + V_THROT] = 0
        first = I[o_vi + v * NVI + V_FIRST]
        for s in range(first, first + I[o_vi + v * NVI + V_N]):
            if I[o_wi + s * NWI + W_STATE] == READY and I[o_wi + s * NWI + W_MLMTD] != 0:
                make_runnable(I, F, H, s, now)
    heap_push(I, F, H, now + I[G_LIMPERIOD], EV_LIMIT, 0, 0)


def on_slice(I, F, H, p, now):
    o_wi = I[G_OWI]
    o_wc = I[G_OWC]
    o_pi = I[G_OPI]
    o_vi = I[G_OVI]
    o_wf = I[G_OWF]
    o_vf = I[G_OVF]
    settle_core(I, F, H, p, now)
    w = I[o_pi + p * NPI + P_WORLD]
    v = I[o_wi + w * NWI + W_VM]
    if F[o_wf + w * NWF + F_WORK] < 1e-6:
        burst_done(I, F, H, p, now)
        return
    if (
        I[o_vi + v * NVI + V_LIMITED] != 0
        and F[o_vf + v * NVF + VF_SPENT] >= F[o_vf + v * NVF + VF_BUDGET] - 1e-6
    ):
        throttle(I, F, H, v, now)
        return
    if I[o_vi + v * NVI + V_N] > 1 and skew_of(I, F, H, w, now) >= I[G_SKEW]:
        undispatch(I, F, H, p, now)
        set_state(I, F, H, w, COSTOP, 0, now)
        _costart_check_later(I, F, H, v, now)
        pull_next(I, F, H, p, now)
        return
    if now - I[o_pi + p * NPI + P_QSTART] >= I[G_QUANTUM]:
        I[o_wc + w * NWC + C_QEXP] += 1
        best = pick_ready(I, F, H, p)
        if best >= 0 and F[o_wf + best * NWF + F_VT] < F[o_wf + w * NWF + F_VT]:
            undispatch(I, F, H, p, now)
            set_state(I, F, H, w, READY, 0, now)
            dequeue(I, F, H, best)
            dispatch(I, F, H, best, p, now)
            make_runnable(I, F, H, w, now)
            return
        # The scheduler prefers whole idle cores (esxi-scheduler.md §1.6); a vCPU that keeps
        # running beside a busy sibling thread moves to a whole idle core at quantum expiry,
        # so two never-halting vCPUs do not stay paired on one core while cores sit idle.
        sib = I[o_pi + p * NPI + P_SIB]
        if sib >= 0 and I[o_pi + sib * NPI + P_WORLD] >= 0:
            t = find_idle_pcpu(I, F, H, w)
            if t >= 0:
                ts = I[o_pi + t * NPI + P_SIB]
                if ts < 0 or I[o_pi + ts * NPI + P_WORLD] < 0:
                    undispatch(I, F, H, p, now)
                    dispatch(I, F, H, w, t, now)
                    pull_next(I, F, H, p, now)
                    return
        I[o_pi + p * NPI + P_QSTART] = now
    reslice(I, F, H, p, now)


def on_costart(I, F, H, v, now):
    o_wi = I[G_OWI]
    o_vi = I[G_OVI]
    first = I[o_vi + v * NVI + V_FIRST]
    for s in range(first, first + I[o_vi + v * NVI + V_N]):
        if I[o_wi + s * NWI + W_STATE] == COSTOP and skew_of(I, F, H, s, now) <= I[G_COSTART]:
            make_runnable(I, F, H, s, now)
    if I[o_vi + v * NVI + V_NCOSTOP] > 0:
        _costart_check_later(I, F, H, v, now)


def on_tick(I, F, H, w, now):
    o_wi = I[G_OWI]
    o_wf = I[G_OWF]
    o_tb = I[G_OTB]
    v = I[o_wi + w * NWI + W_VM]
    k = now // I[G_TSTEP]
    if k >= I[G_TSTEPS]:
        k = I[G_TSTEPS] - 1
    F[o_wf + w * NWF + F_PEND] += F[o_wf + w * NWF + F_WORKPER] * F[o_tb + v * I[G_TSTEPS] + k]
    heap_push(I, F, H, now + I[o_wi + w * NWI + W_PERIOD], EV_TICK, w, 0)
    if I[o_wi + w * NWI + W_STATE] == WAIT and F[o_wf + w * NWF + F_PEND] >= 0.5:
        F[o_wf + w * NWF + F_WORK] = F[o_wf + w * NWF + F_PEND]
        F[o_wf + w * NWF + F_PEND] = 0.0
        wake(I, F, H, w, now)


def on_wake(I, F, H, w, now):
    o_wf = I[G_OWF]
    if F[o_wf + w * NWF + F_WORK] < 0.5:
        # an empty burst (demand 0 at this time of day): stay halted for the next idle time
        idle, busy = _next_burst(I, F, H, w, now)
        _halt_until_wake(I, F, H, w, idle, busy, now)
        return
    wake(I, F, H, w, now)


# =============================================================================================
# the loop
# =============================================================================================
def run_until(I, F, H, t_stop):
    """Process every event before t_stop; return DONE, or NEED_REFILL / NEED_HEAP to be called again.

    The next event is the lesser key of the event heap's top and the slice heap's top."""
    o_wi = I[G_OWI]
    o_pi = I[G_OPI]
    o_vi = I[G_OVI]
    o_sh = I[G_OSH]
    while True:
        if I[G_HSIZE] + 4 * I[G_NW] + 4 * I[G_NP] + 64 > I[G_HCAP]:
            return NEED_HEAP
        skey = I[o_sh]
        if skey < H[0]:  # a slice event (always current: moved in place, dropped at undispatch)
            t = skey >> SEQ_BITS
            if t >= t_stop:
                break
            x = I[o_sh + 1]
            w = I[o_pi + x * NPI + P_WORLD]
            # a LOOP world about to draw needs at least two draws left in its buffer
            # (the refill then always happens with exactly two left: the streams do not depend on when)
            if (
                I[o_wi + w * NWI + W_MODE] == MODE_LOOP
                and I[o_wi + w * NWI + W_CUR] >= I[o_wi + w * NWI + W_FILL] - 2
            ):
                I[G_REFILL] = w
                return NEED_REFILL
            slice_drop(I, F, H, x)
            I[G_NOW] = t
            I[o_pi + x * NPI + P_PENDT] = -1
            on_slice(I, F, H, x, t)
            continue
        t = H[0] >> SEQ_BITS
        if t >= t_stop:
            break
        val = H[1]
        k = val >> 56
        x = val & X_MASK
        gen = (val >> 24) & GEN_MASK
        if (
            k == EV_WAKE
            and I[o_wi + x * NWI + W_MODE] == MODE_LOOP
            and I[o_wi + x * NWI + W_CUR] >= I[o_wi + x * NWI + W_FILL] - 2
        ):
            I[G_REFILL] = x
            return NEED_REFILL
        heap_pop(I, F, H)
        I[G_NOW] = t
        if k == EV_WAKE:
            if (I[o_wi + x * NWI + W_WGEN] & GEN_MASK) == gen and I[o_wi + x * NWI + W_STATE] == WAIT:
                on_wake(I, F, H, x, t)
        elif k == EV_TICK:
            on_tick(I, F, H, x, t)
        elif k == EV_COSTART:
            if (I[o_vi + x * NVI + V_CSGEN] & GEN_MASK) == gen:
                on_costart(I, F, H, x, t)
        elif k == EV_SKEW:
            if (I[o_vi + x * NVI + V_SKGEN] & GEN_MASK) == gen:
                on_skew(I, F, H, x, t)
        elif k == EV_LIMIT:
            on_limit_period(I, F, H, t)
    I[G_NOW] = t_stop
    return DONE


def _borrow(a):
    """The state array itself; compiled, a view of it without a reference count (see run)."""
    return a


def run(I, F, H, t_stop):
    """run_until on borrowed views of the state: what vmksim.sched.engine calls.

    Compiled, every call between these functions reference-counts each array argument with
    an atomic add and subtract (numba's NRT_incref/NRT_decref): perf put ~48 % of case a's
    samples on those two instructions. ``_borrow`` (vmksim.sched.engine compiles it as an
    intrinsic) gives views with no reference count (a null meminfo), for which those calls
    return at once. The caller keeps I, F and H alive for the whole call."""
    return run_until(_borrow(I), _borrow(F), _borrow(H), t_stop)


def move_world(I, F, H, w, q, mask, now):
    """NUMA migration: give w a new run queue (home node) and affinity mask."""
    o_wi = I[G_OWI]
    o_pi = I[G_OPI]
    o_wf = I[G_OWF]
    o_qf = I[G_OQF]
    old_q = I[o_wi + w * NWI + W_Q]
    queued = I[o_wi + w * NWI + W_QPOS] >= 0
    if queued:
        dequeue(I, F, H, w)
    # keep the world's place relative to its new queue's clock
    F[o_wf + w * NWF + F_VT] += F[o_qf + q] - F[o_qf + old_q]
    I[o_wi + w * NWI + W_Q] = q
    I[o_wi + w * NWI + W_MASK] = mask
    st = I[o_wi + w * NWI + W_STATE]
    if queued:
        make_runnable(I, F, H, w, now)
    elif st == RUN:
        p = I[o_wi + w * NWI + W_PCPU]
        if not allowed(I, F, H, w, p) or (q < I[G_NODES] and I[o_pi + p * NPI + P_NODE] != q):
            undispatch(I, F, H, p, now)
            set_state(I, F, H, w, READY, 0, now)
            make_runnable(I, F, H, w, now)
            pull_next(I, F, H, p, now)


#: Functions the compiled engine inlines (numba ``inline="always"``): small leaves, and the helpers
#: of the commonest event paths (a compiled call copies three array headers and reference-counts
#: them). Inlining the big handlers too makes compilation take many minutes.
INLINE = (
    "queue_range",
    "heap_push",
    "heap_pop",
    "_sh_put",
    "_sh_up",
    "_sh_down",
    "_sh_place",
    "slice_set",
    "slice_drop",
    "lag_now",
    "skew_of",
    "allowed",
    "enqueue",
    "dequeue",
    "settle_core",
    "_count_idle",
    "_next_burst",
    "_halt_until_wake",
    "pull_next",
    "wake",
    "on_wake",
    "reslice",
    "set_state",
    "_first_idle",
)

#: Every function of this module, in definition order: what vmksim.sched.engine compiles.
FUNCTIONS = tuple(
    name
    for name, obj in list(globals().items())
    if isinstance(obj, type(run_until)) and getattr(obj, "__module__", None) == __name__
)
