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

Implementation: the state is a set of flat arrays (fields at fixed strides,
constants below). The functions use only what numba's ``njit`` compiles, so the
same source runs interpreted on Python lists (vmksim.sched.engine, no numba
needed) or compiled on numpy arrays (the ``fast`` extra); a test checks that
both give identical counters.
"""

from __future__ import annotations

# ruff: noqa: SIM109
# mypy: ignore-errors
# (The functions take the state arrays positionally so numba can compile them;
# typing them with numpy annotations would not change the compiled code.)

# --- world states ------------------------------------------------------------------------------
RUN = 0
READY = 1
COSTOP = 2
WAIT = 3

# --- event kinds -------------------------------------------------------------------------------
EV_WAKE = 0  # x = world; gen = world's wake generation
EV_SLICE = 1  # x = pcpu; gen = pcpu generation
EV_TICK = 2  # x = world (periodic workloads)
EV_COSTART = 3  # x = vm; gen = vm co-start generation
EV_LIMIT = 4  # limit period boundary
EV_SKEW = 5  # x = vm; gen = vm skew-check generation

# --- workload modes (vmksim.workload.Mode) -----------------------------------------------------
MODE_NEVER = 0
MODE_LOOP = 1
MODE_PERIODIC = 2

# --- g: global ints ----------------------------------------------------------------------------
G_NOW = 0
G_HSIZE = 1
G_SEQ = 2
G_NW = 3
G_NP = 4
G_NV = 5
G_NODES = 6
G_TPC = 7  # threads per core
G_TPN = 8  # threads (PCPUs) per node
G_BLOCK = 9
G_TSTEPS = 10
G_TSTEP = 11
G_QUANTUM = 12
G_SKEW = 13
G_COSTART = 14
G_LIMPERIOD = 15
G_CREDIT = 16
G_REFILL = 17  # world whose draw buffer must be refilled (return code 1)
G_HCAP = 18
G_NLIMITED = 19
NG = 20

# --- gf: global floats -------------------------------------------------------------------------
GF_HTCHARGE = 0
GF_HTPCPU = 1
GF_HTPROGRESS = 2
GF_FREQ = 3
NGF = 4

# --- wi: world ints (stride NWI) ---------------------------------------------------------------
W_STATE = 0
W_PCPU = 1
W_LAST = 2
W_VM = 3
W_Q = 4  # run queue: home node, or NODES for "any node"
W_QPOS = 5
W_MASK = 6  # row of aff (0 = no restriction)
W_MLMTD = 7
W_SINCE = 8
W_MODE = 9
W_CUR = 10
W_PERIOD = 11
W_EXCL = 12  # exclusive PCPU (latency sensitivity high) or -1
W_WGEN = 13
NWI = 14

# --- wf: world floats --------------------------------------------------------------------------
F_VT = 0
F_WORK = 1
F_WSCALE = 2  # 1000 / weight_MHz
F_USED = 3
F_HTLOSS = 4
F_LAG = 5
F_PEND = 6
F_WORKPER = 7
NWF = 8

# --- wc: world counters (stride NWC), cumulative -----------------------------------------------
C_RUN = 0
C_READY = 1
C_COSTOP = 2
C_WAIT = 3
C_MLMTD = 4
C_SWTCH = 5
C_MIG = 6
C_QEXP = 7
C_WAKE = 8
NWC = 9

# --- pi: PCPU ints (stride NPI) ----------------------------------------------------------------
P_WORLD = 0
P_SIB = 1
P_NODE = 2
P_GEN = 3
P_QSTART = 4
P_EXCL = 5  # -1 shared; >= 0 owned by that world; -2 kept idle (sibling of an owned PCPU)
P_BUSY = 6
P_CORE = 7
P_PENDT = 8  # time of the pending (valid) slice event, -1 if none
NPI = 9

# --- ci: core ints (stride NCI) ----------------------------------------------------------------
K_LAST = 0
K_BUSY = 1
NCI = 2

# --- vi: VM ints (stride NVI) ------------------------------------------------------------------
V_FIRST = 0
V_N = 1
V_NSTALL = 2
V_THROT = 3
V_CSGEN = 4
V_LIMITED = 5
V_NRUN = 6
V_NCOSTOP = 7
V_SKGEN = 8
NVI = 9

# --- vf: VM floats -----------------------------------------------------------------------------
VF_BUDGET = 0
VF_SPENT = 1
NVF = 2

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

# --- return codes of run_until -----------------------------------------------------------------
DONE = 0
NEED_REFILL = 1
NEED_HEAP = 2

BIG = 1 << 62


# =============================================================================================
# event heap: binary heap keyed (time, sequence)
# =============================================================================================
def heap_push(g, hp, t, k, x, gen):
    i = g[G_HSIZE]
    g[G_HSIZE] = i + 1
    seq = g[G_SEQ]
    g[G_SEQ] = seq + 1
    key = (t << SEQ_BITS) | (seq & SEQ_MASK)
    val = (k << 56) | ((gen & GEN_MASK) << 24) | x
    while i > 0:  # sift the hole up
        parent = (i - 1) >> 1
        pkey = hp[parent * NH]
        if key < pkey:
            hp[i * NH] = pkey
            hp[i * NH + 1] = hp[parent * NH + 1]
            i = parent
        else:
            break
    hp[i * NH] = key
    hp[i * NH + 1] = val


def heap_pop(g, hp):
    """Remove the top entry (read it before calling)."""
    n = g[G_HSIZE] - 1
    g[G_HSIZE] = n
    if n == 0:
        return
    key = hp[n * NH]
    val = hp[n * NH + 1]
    i = 0
    while True:  # sift the hole down
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and hp[(c + 1) * NH] < hp[c * NH]:
            c += 1
        if hp[c * NH] < key:
            hp[i * NH] = hp[c * NH]
            hp[i * NH + 1] = hp[c * NH + 1]
            i = c
        else:
            break
    hp[i * NH] = key
    hp[i * NH + 1] = val


# =============================================================================================
# accounting
# =============================================================================================
def settle_core(g, gf, wi, wf, pi, pf, ci, vi, vf, p, now):
    """Charge both threads of p's core for the time since the core was last settled."""
    core = pi[p * NPI + P_CORE]
    d = now - ci[core * NCI + K_LAST]
    if d <= 0:
        return
    ci[core * NCI + K_LAST] = now
    tpc = g[G_TPC]
    first = core * tpc
    busy_threads = 0
    for t in range(tpc):
        if pi[(first + t) * NPI + P_WORLD] >= 0:
            busy_threads += 1
    if busy_threads == 0:
        return
    ci[core * NCI + K_BUSY] += d
    freq = gf[GF_FREQ]
    for t in range(tpc):
        q = first + t
        w = pi[q * NPI + P_WORLD]
        if w < 0:
            continue
        pi[q * NPI + P_BUSY] += d
        if busy_threads > 1:
            used = gf[GF_HTCHARGE] * freq * d
            progress = gf[GF_HTPROGRESS] * freq * d
            pf[q] += gf[GF_HTPCPU] * freq * d
            wf[w * NWF + F_HTLOSS] += (1.0 - gf[GF_HTCHARGE]) * freq * d
        else:
            used = freq * d
            progress = used
            pf[q] += freq * d
        wf[w * NWF + F_USED] += used
        wf[w * NWF + F_WORK] -= progress
        wf[w * NWF + F_VT] += used * wf[w * NWF + F_WSCALE]
        v = wi[w * NWI + W_VM]
        if vi[v * NVI + V_LIMITED] != 0:
            vf[v * NVF + VF_SPENT] += used


def is_stalled(state):
    return state == READY or state == COSTOP


def lag_now(wi, wf, w, now):
    lag = wf[w * NWF + F_LAG]
    st = wi[w * NWI + W_STATE]
    if st == READY or st == COSTOP:
        lag += now - wi[w * NWI + W_SINCE]
    return lag


def skew_of(wi, wf, vi, w, now):
    """Progress lead of w over its slowest sibling (µs); 0 for 1-vCPU VMs."""
    v = wi[w * NWI + W_VM]
    n = vi[v * NVI + V_N]
    if n < 2:
        return 0.0
    first = vi[v * NVI + V_FIRST]
    worst = 0.0
    for s in range(first, first + n):
        lag = lag_now(wi, wf, s, now)
        if lag > worst:
            worst = lag
    return worst - lag_now(wi, wf, w, now)


def set_state(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, hp, w, new, mlmtd, now):
    """Move w to state *new* (with MLMTD flag), charging the time spent in the old state."""
    old = wi[w * NWI + W_STATE]
    d = now - wi[w * NWI + W_SINCE]
    wc[w * NWC + old] += d
    if old == READY and wi[w * NWI + W_MLMTD] != 0:
        wc[w * NWC + C_MLMTD] += d
    was_stalled = old == READY or old == COSTOP
    if was_stalled:
        wf[w * NWF + F_LAG] += d
    wi[w * NWI + W_STATE] = new
    wi[w * NWI + W_MLMTD] = mlmtd
    wi[w * NWI + W_SINCE] = now
    v = wi[w * NWI + W_VM]
    if old == COSTOP:
        vi[v * NVI + V_NCOSTOP] -= 1
    if new == COSTOP:
        vi[v * NVI + V_NCOSTOP] += 1
    stalled = new == READY or new == COSTOP
    if stalled == was_stalled:
        return
    n = vi[v * NVI + V_N]
    first = vi[v * NVI + V_FIRST]
    if stalled:
        vi[v * NVI + V_NSTALL] += 1
        if n > 1:
            # a sibling fell behind: the running vCPUs' skew now grows; check them in time.
            _skew_check_later(g, wi, wf, vi, hp, v, now)
    else:
        vi[v * NVI + V_NSTALL] -= 1
        if vi[v * NVI + V_NSTALL] == 0:
            # nobody is behind: the VM is in step again; lags restart from zero.
            for s in range(first, first + n):
                wf[s * NWF + F_LAG] = 0.0


# =============================================================================================
# run queues
# =============================================================================================
def enqueue(g, wi, rq, rqn, w):
    q = wi[w * NWI + W_Q]
    nw = g[G_NW]
    pos = rqn[q]
    rq[q * nw + pos] = w
    rqn[q] = pos + 1
    wi[w * NWI + W_QPOS] = pos


def dequeue(g, wi, rq, rqn, w):
    q = wi[w * NWI + W_Q]
    nw = g[G_NW]
    pos = wi[w * NWI + W_QPOS]
    last = rqn[q] - 1
    moved = rq[q * nw + last]
    rq[q * nw + pos] = moved
    wi[moved * NWI + W_QPOS] = pos
    rqn[q] = last
    wi[w * NWI + W_QPOS] = -1


def allowed(g, wi, pi, aff, w, p):
    excl = pi[p * NPI + P_EXCL]
    if excl != -1:
        return excl == w
    mask = wi[w * NWI + W_MASK]
    if mask == 0:
        return True
    return aff[mask * g[G_NP] + p] != 0


def pick_ready(g, wi, wf, pi, rq, rqn, aff, p):
    """The READY world with the lowest vt (then lowest id) that may run on p, or -1."""
    if pi[p * NPI + P_EXCL] != -1:
        return -1
    nw = g[G_NW]
    best = -1
    best_vt = 0.0
    node = pi[p * NPI + P_NODE]
    for q in (node, g[G_NODES]):
        base = q * nw
        for i in range(rqn[q]):
            w = rq[base + i]
            if not allowed(g, wi, pi, aff, w, p):
                continue
            vt = wf[w * NWF + F_VT]
            if best < 0 or vt < best_vt or (vt == best_vt and w < best):
                best = w
                best_vt = vt
    return best


def find_idle_pcpu(g, wi, pi, aff, w):
    """An idle PCPU for w: last PCPU on an idle core, an idle core, last PCPU, any idle thread; or -1."""
    excl = wi[w * NWI + W_EXCL]
    if excl >= 0:
        return excl if pi[excl * NPI + P_WORLD] < 0 else -1
    q = wi[w * NWI + W_Q]
    if q < g[G_NODES]:
        lo = q * g[G_TPN]
        hi = lo + g[G_TPN]
    else:
        lo = 0
        hi = g[G_NP]
    last = wi[w * NWI + W_LAST]
    last_ok = lo <= last < hi and pi[last * NPI + P_WORLD] < 0 and allowed(g, wi, pi, aff, w, last)
    if last_ok:
        sib = pi[last * NPI + P_SIB]
        if sib < 0 or pi[sib * NPI + P_WORLD] < 0:
            return last
    half = -1
    for p in range(lo, hi):
        if pi[p * NPI + P_WORLD] >= 0 or not allowed(g, wi, pi, aff, w, p):
            continue
        sib = pi[p * NPI + P_SIB]
        if sib < 0 or (pi[sib * NPI + P_WORLD] < 0 and pi[sib * NPI + P_EXCL] != -2):
            return p
        if half < 0:
            half = p
    if last_ok:
        return last
    return half


# =============================================================================================
# slices
# =============================================================================================
def reslice(g, gf, wi, wf, pi, pf, ci, vi, vf, hp, p, now):
    """Schedule the next decision point of the world running on p (replacing the pending one)."""
    settle_core(g, gf, wi, wf, pi, pf, ci, vi, vf, p, now)
    w = pi[p * NPI + P_WORLD]
    sib = pi[p * NPI + P_SIB]
    rate = gf[GF_FREQ]
    prog = gf[GF_FREQ]
    if sib >= 0 and pi[sib * NPI + P_WORLD] >= 0:
        rate = gf[GF_HTCHARGE] * gf[GF_FREQ]
        prog = gf[GF_HTPROGRESS] * gf[GF_FREQ]
    work = wf[w * NWF + F_WORK]
    d = BIG
    if work > 0.0:
        need = work / prog
        dw = int(need)
        if dw < need:
            dw += 1
        d = dw
    else:
        d = 0
    dq = pi[p * NPI + P_QSTART] + g[G_QUANTUM] - now
    if dq < d:
        d = dq
    v = wi[w * NWI + W_VM]
    if vi[v * NVI + V_LIMITED] != 0:
        left = vf[v * NVF + VF_BUDGET] - vf[v * NVF + VF_SPENT]
        nrun = vi[v * NVI + V_NRUN]
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
    pend = pi[p * NPI + P_PENDT]
    if 0 <= pend <= now + d:
        return  # an earlier decision point is already queued; it re-slices when it fires
    gen = pi[p * NPI + P_GEN] + 1
    pi[p * NPI + P_GEN] = gen
    pi[p * NPI + P_PENDT] = now + d
    heap_push(g, hp, now + d, EV_SLICE, p, gen)


def dispatch(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, hp, qf, w, p, now):
    settle_core(g, gf, wi, wf, pi, pf, ci, vi, vf, p, now)
    pi[p * NPI + P_WORLD] = w
    wi[w * NWI + W_PCPU] = p
    last = wi[w * NWI + W_LAST]
    if last >= 0 and last != p:
        wc[w * NWC + C_MIG] += 1
    wi[w * NWI + W_LAST] = p
    wc[w * NWC + C_SWTCH] += 1
    pi[p * NPI + P_QSTART] = now
    q = wi[w * NWI + W_Q]
    if wf[w * NWF + F_VT] > qf[q]:
        qf[q] = wf[w * NWF + F_VT]
    v = wi[w * NWI + W_VM]
    vi[v * NVI + V_NRUN] += 1
    set_state(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, hp, w, RUN, 0, now)
    reslice(g, gf, wi, wf, pi, pf, ci, vi, vf, hp, p, now)
    sib = pi[p * NPI + P_SIB]
    if sib >= 0 and pi[sib * NPI + P_WORLD] >= 0:
        reslice(g, gf, wi, wf, pi, pf, ci, vi, vf, hp, sib, now)
    if vi[v * NVI + V_LIMITED] != 0:
        _reslice_vm(g, gf, wi, wf, pi, pf, ci, vi, vf, hp, v, w, now)


def _reslice_vm(g, gf, wi, wf, pi, pf, ci, vi, vf, hp, v, skip, now):
    first = vi[v * NVI + V_FIRST]
    for s in range(first, first + vi[v * NVI + V_N]):
        if s != skip and wi[s * NWI + W_STATE] == RUN:
            reslice(g, gf, wi, wf, pi, pf, ci, vi, vf, hp, wi[s * NWI + W_PCPU], now)


def undispatch(g, gf, wi, wf, pi, pf, ci, vi, vf, hp, p, now):
    """Take the world off p (caller sets its new state)."""
    settle_core(g, gf, wi, wf, pi, pf, ci, vi, vf, p, now)
    w = pi[p * NPI + P_WORLD]
    pi[p * NPI + P_WORLD] = -1
    pi[p * NPI + P_GEN] += 1
    pi[p * NPI + P_PENDT] = -1
    wi[w * NWI + W_PCPU] = -1
    v = wi[w * NWI + W_VM]
    vi[v * NVI + V_NRUN] -= 1
    sib = pi[p * NPI + P_SIB]
    if sib >= 0 and pi[sib * NPI + P_WORLD] >= 0:
        reslice(g, gf, wi, wf, pi, pf, ci, vi, vf, hp, sib, now)
    return w


def pull_next(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, rq, rqn, qf, hp, aff, p, now):
    best = pick_ready(g, wi, wf, pi, rq, rqn, aff, p)
    if best >= 0:
        dequeue(g, wi, rq, rqn, best)
        dispatch(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, hp, qf, best, p, now)


def make_runnable(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, rq, rqn, qf, hp, aff, w, now):
    """w has work: run it on an idle PCPU, or queue it READY (or COSTOP / max-limited)."""
    v = wi[w * NWI + W_VM]
    if vi[v * NVI + V_THROT] != 0:
        set_state(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, hp, w, READY, 1, now)
        return
    if vi[v * NVI + V_N] > 1 and skew_of(wi, wf, vi, w, now) > g[G_SKEW]:
        set_state(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, hp, w, COSTOP, 0, now)
        _costart_check_later(g, wi, wf, vi, hp, v, now)
        return
    p = find_idle_pcpu(g, wi, pi, aff, w)
    if p >= 0:
        dispatch(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, hp, qf, w, p, now)
    else:
        if wi[w * NWI + W_STATE] != READY or wi[w * NWI + W_MLMTD] != 0:
            set_state(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, hp, w, READY, 0, now)
        enqueue(g, wi, rq, rqn, w)


def _skew_check_later(g, wi, wf, vi, hp, v, now):
    """Schedule the VM's co-stop check for when the leading running vCPU's skew reaches the threshold.

    A running vCPU's skew grows only through its stalled siblings' lag (1 µs per µs); the
    leader is the running vCPU with the least lag.
    """
    first = vi[v * NVI + V_FIRST]
    stalled_max = -1.0  # grows 1 µs per µs
    static_max = 0.0  # running or halted siblings: constant
    least = -1.0
    for s in range(first, first + vi[v * NVI + V_N]):
        lag = lag_now(wi, wf, s, now)
        st = wi[s * NWI + W_STATE]
        if st == READY or st == COSTOP:
            if lag > stalled_max:
                stalled_max = lag
        elif lag > static_max:
            static_max = lag
        if st == RUN and (least < 0.0 or lag < least):
            least = lag
    if least < 0.0 or stalled_max < 0.0:
        return
    if static_max - least >= g[G_SKEW]:
        d = 1
    else:
        left = g[G_SKEW] - (stalled_max - least)
        d = int(left)
        if d < left:
            d += 1
        if d < 1:
            d = 1
    gen = vi[v * NVI + V_SKGEN] + 1
    vi[v * NVI + V_SKGEN] = gen
    heap_push(g, hp, now + d, EV_SKEW, v, gen)


def on_skew(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, rq, rqn, qf, hp, aff, v, now):
    """Co-stop every running vCPU of v whose lead over the slowest sibling reached the threshold."""
    first = vi[v * NVI + V_FIRST]
    stopped = False
    for s in range(first, first + vi[v * NVI + V_N]):
        if wi[s * NWI + W_STATE] == RUN and skew_of(wi, wf, vi, s, now) >= g[G_SKEW]:
            p = wi[s * NWI + W_PCPU]
            undispatch(g, gf, wi, wf, pi, pf, ci, vi, vf, hp, p, now)
            set_state(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, hp, s, COSTOP, 0, now)
            pull_next(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, rq, rqn, qf, hp, aff, p, now)
            stopped = True
    if stopped:
        _costart_check_later(g, wi, wf, vi, hp, v, now)
    if vi[v * NVI + V_NSTALL] > 0:
        _skew_check_later(g, wi, wf, vi, hp, v, now)


def _costart_check_later(g, wi, wf, vi, hp, v, now):
    """Schedule the VM's next co-start check at the earliest time a co-stopped skew can fall enough."""
    first = vi[v * NVI + V_FIRST]
    soonest = BIG
    for s in range(first, first + vi[v * NVI + V_N]):
        if wi[s * NWI + W_STATE] == COSTOP:
            excess = skew_of(wi, wf, vi, s, now) - g[G_COSTART]
            d = int(excess)
            if d < excess:
                d += 1
            if d < soonest:
                soonest = d
    if soonest == BIG:
        return
    if soonest < 1:
        soonest = 1
    gen = vi[v * NVI + V_CSGEN] + 1
    vi[v * NVI + V_CSGEN] = gen
    heap_push(g, hp, now + soonest, EV_COSTART, v, gen)


def wake(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, rq, rqn, qf, hp, aff, w, now):
    wc[w * NWC + C_WAKE] += 1
    floor = qf[wi[w * NWI + W_Q]] - g[G_CREDIT] * wf[w * NWF + F_WSCALE]
    if wf[w * NWF + F_VT] < floor:
        wf[w * NWF + F_VT] = floor
    make_runnable(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, rq, rqn, qf, hp, aff, w, now)


def _next_burst(g, wi, wf, bb, ib, tb, ti, w, now):
    """Draw (idle µs, burst work) for w's next cycle, scaled by its VM's demand table."""
    blk = g[G_BLOCK]
    cur = wi[w * NWI + W_CUR]
    wi[w * NWI + W_CUR] = cur + 1
    v = wi[w * NWI + W_VM]
    k = now // g[G_TSTEP]
    if k >= g[G_TSTEPS]:
        k = g[G_TSTEPS] - 1
    k = v * g[G_TSTEPS] + k
    busy = bb[w * blk + cur] * tb[k]
    idle = ib[w * blk + cur] * ti[k]
    return idle, busy


def _halt_until_wake(g, wi, wf, hp, w, idle, busy, now):
    """Schedule w's wake after *idle* µs (at least 1) with *busy* work waiting."""
    wf[w * NWF + F_WORK] = busy
    di = int(idle + 0.5)
    if di < 1:
        di = 1
    gen = wi[w * NWI + W_WGEN] + 1
    wi[w * NWI + W_WGEN] = gen
    heap_push(g, hp, now + di, EV_WAKE, w, gen)


def burst_done(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, rq, rqn, qf, hp, aff, bb, ib, tb, ti, p, now):
    """The world on p finished its work: continue with more, or halt (WAIT)."""
    w = pi[p * NPI + P_WORLD]
    mode = wi[w * NWI + W_MODE]
    if mode == MODE_LOOP:
        idle, busy = _next_burst(g, wi, wf, bb, ib, tb, ti, w, now)
        if idle < 0.5 and busy >= 0.5:
            wf[w * NWF + F_WORK] = busy
            reslice(g, gf, wi, wf, pi, pf, ci, vi, vf, hp, p, now)
            return
        _halt_until_wake(g, wi, wf, hp, w, idle, busy, now)
    elif mode == MODE_PERIODIC and wf[w * NWF + F_PEND] > 0.0:
        wf[w * NWF + F_WORK] = wf[w * NWF + F_PEND]
        wf[w * NWF + F_PEND] = 0.0
        reslice(g, gf, wi, wf, pi, pf, ci, vi, vf, hp, p, now)
        return
    else:
        wf[w * NWF + F_WORK] = 0.0
    undispatch(g, gf, wi, wf, pi, pf, ci, vi, vf, hp, p, now)
    set_state(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, hp, w, WAIT, 0, now)
    pull_next(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, rq, rqn, qf, hp, aff, p, now)


def throttle(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, rq, rqn, qf, hp, aff, v, now):
    """The VM used its limit for this period: hold its runnable vCPUs READY + MLMTD."""
    vi[v * NVI + V_THROT] = 1
    first = vi[v * NVI + V_FIRST]
    for s in range(first, first + vi[v * NVI + V_N]):
        st = wi[s * NWI + W_STATE]
        if st == RUN:
            p = wi[s * NWI + W_PCPU]
            undispatch(g, gf, wi, wf, pi, pf, ci, vi, vf, hp, p, now)
            set_state(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, hp, s, READY, 1, now)
            pull_next(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, rq, rqn, qf, hp, aff, p, now)
        elif st == READY and wi[s * NWI + W_QPOS] >= 0:
            dequeue(g, wi, rq, rqn, s)
            set_state(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, hp, s, READY, 1, now)


def on_limit_period(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, rq, rqn, qf, hp, aff, now):
    for v in range(g[G_NV]):
        if vi[v * NVI + V_LIMITED] == 0:
            continue
        vf[v * NVF + VF_SPENT] = 0.0
        if vi[v * NVI + V_THROT] == 0:
            continue
        vi[v * NVI + V_THROT] = 0
        first = vi[v * NVI + V_FIRST]
        for s in range(first, first + vi[v * NVI + V_N]):
            if wi[s * NWI + W_STATE] == READY and wi[s * NWI + W_MLMTD] != 0:
                make_runnable(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, rq, rqn, qf, hp, aff, s, now)
    heap_push(g, hp, now + g[G_LIMPERIOD], EV_LIMIT, 0, 0)


def on_slice(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, rq, rqn, qf, hp, aff, bb, ib, tb, ti, p, now):
    settle_core(g, gf, wi, wf, pi, pf, ci, vi, vf, p, now)
    w = pi[p * NPI + P_WORLD]
    v = wi[w * NWI + W_VM]
    if wf[w * NWF + F_WORK] < 1e-6:
        burst_done(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, rq, rqn, qf, hp, aff, bb, ib, tb, ti, p, now)
        return
    if vi[v * NVI + V_LIMITED] != 0 and vf[v * NVF + VF_SPENT] >= vf[v * NVF + VF_BUDGET] - 1e-6:
        throttle(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, rq, rqn, qf, hp, aff, v, now)
        return
    if vi[v * NVI + V_N] > 1 and skew_of(wi, wf, vi, w, now) >= g[G_SKEW]:
        undispatch(g, gf, wi, wf, pi, pf, ci, vi, vf, hp, p, now)
        set_state(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, hp, w, COSTOP, 0, now)
        _costart_check_later(g, wi, wf, vi, hp, v, now)
        pull_next(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, rq, rqn, qf, hp, aff, p, now)
        return
    if now - pi[p * NPI + P_QSTART] >= g[G_QUANTUM]:
        wc[w * NWC + C_QEXP] += 1
        best = pick_ready(g, wi, wf, pi, rq, rqn, aff, p)
        if best >= 0 and wf[best * NWF + F_VT] < wf[w * NWF + F_VT]:
            undispatch(g, gf, wi, wf, pi, pf, ci, vi, vf, hp, p, now)
            set_state(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, hp, w, READY, 0, now)
            dequeue(g, wi, rq, rqn, best)
            dispatch(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, hp, qf, best, p, now)
            make_runnable(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, rq, rqn, qf, hp, aff, w, now)
            return
        pi[p * NPI + P_QSTART] = now
    reslice(g, gf, wi, wf, pi, pf, ci, vi, vf, hp, p, now)


def on_costart(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, rq, rqn, qf, hp, aff, v, now):
    first = vi[v * NVI + V_FIRST]
    for s in range(first, first + vi[v * NVI + V_N]):
        if wi[s * NWI + W_STATE] == COSTOP and skew_of(wi, wf, vi, s, now) <= g[G_COSTART]:
            make_runnable(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, rq, rqn, qf, hp, aff, s, now)
    if vi[v * NVI + V_NCOSTOP] > 0:
        _costart_check_later(g, wi, wf, vi, hp, v, now)


def on_tick(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, rq, rqn, qf, hp, aff, tb, w, now):
    v = wi[w * NWI + W_VM]
    k = now // g[G_TSTEP]
    if k >= g[G_TSTEPS]:
        k = g[G_TSTEPS] - 1
    wf[w * NWF + F_PEND] += wf[w * NWF + F_WORKPER] * tb[v * g[G_TSTEPS] + k]
    heap_push(g, hp, now + wi[w * NWI + W_PERIOD], EV_TICK, w, 0)
    if wi[w * NWI + W_STATE] == WAIT and wf[w * NWF + F_PEND] >= 0.5:
        wf[w * NWF + F_WORK] = wf[w * NWF + F_PEND]
        wf[w * NWF + F_PEND] = 0.0
        wake(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, rq, rqn, qf, hp, aff, w, now)


def on_wake(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, rq, rqn, qf, hp, aff, bb, ib, tb, ti, w, now):
    if wf[w * NWF + F_WORK] < 0.5:
        # an empty burst (demand 0 at this time of day): stay halted for the next idle time
        idle, busy = _next_burst(g, wi, wf, bb, ib, tb, ti, w, now)
        _halt_until_wake(g, wi, wf, hp, w, idle, busy, now)
        return
    wake(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, rq, rqn, qf, hp, aff, w, now)


# =============================================================================================
# the loop
# =============================================================================================
def run_until(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, rq, rqn, qf, hp, aff, bb, ib, tb, ti, t_stop):
    """Process every event before t_stop; return DONE, or NEED_REFILL / NEED_HEAP to be called again."""
    blk = g[G_BLOCK]
    while g[G_HSIZE] > 0:
        if g[G_HSIZE] + 4 * g[G_NW] + 4 * g[G_NP] + 64 > g[G_HCAP]:
            return NEED_HEAP
        t = hp[0] >> SEQ_BITS
        if t >= t_stop:
            break
        val = hp[1]
        k = val >> 56
        x = val & X_MASK
        gen = (val >> 24) & GEN_MASK
        # a LOOP world about to draw needs at least two draws left in its buffer
        w = -1
        if k == EV_SLICE and (pi[x * NPI + P_GEN] & GEN_MASK) == gen:
            w = pi[x * NPI + P_WORLD]
        elif k == EV_WAKE:
            w = x
        if w >= 0 and wi[w * NWI + W_MODE] == MODE_LOOP and wi[w * NWI + W_CUR] >= blk - 2:
            g[G_REFILL] = w
            return NEED_REFILL
        heap_pop(g, hp)
        g[G_NOW] = t
        if k == EV_SLICE:
            if (pi[x * NPI + P_GEN] & GEN_MASK) == gen:
                pi[x * NPI + P_PENDT] = -1
                on_slice(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, rq, rqn, qf, hp, aff, bb, ib, tb, ti, x, t)
        elif k == EV_WAKE:
            if (wi[x * NWI + W_WGEN] & GEN_MASK) == gen and wi[x * NWI + W_STATE] == WAIT:
                on_wake(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, rq, rqn, qf, hp, aff, bb, ib, tb, ti, x, t)
        elif k == EV_TICK:
            on_tick(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, rq, rqn, qf, hp, aff, tb, x, t)
        elif k == EV_COSTART:
            if (vi[x * NVI + V_CSGEN] & GEN_MASK) == gen:
                on_costart(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, rq, rqn, qf, hp, aff, x, t)
        elif k == EV_SKEW:
            if (vi[x * NVI + V_SKGEN] & GEN_MASK) == gen:
                on_skew(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, rq, rqn, qf, hp, aff, x, t)
        elif k == EV_LIMIT:
            on_limit_period(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, rq, rqn, qf, hp, aff, t)
    g[G_NOW] = t_stop
    return DONE


def move_world(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, rq, rqn, qf, hp, aff, bb, ib, tb, ti, w, q, mask, now):
    """NUMA migration: give w a new run queue (home node) and affinity mask."""
    old_q = wi[w * NWI + W_Q]
    queued = wi[w * NWI + W_QPOS] >= 0
    if queued:
        dequeue(g, wi, rq, rqn, w)
    # keep the world's place relative to its new queue's clock
    wf[w * NWF + F_VT] += qf[q] - qf[old_q]
    wi[w * NWI + W_Q] = q
    wi[w * NWI + W_MASK] = mask
    st = wi[w * NWI + W_STATE]
    if queued:
        make_runnable(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, rq, rqn, qf, hp, aff, w, now)
    elif st == RUN:
        p = wi[w * NWI + W_PCPU]
        if not allowed(g, wi, pi, aff, w, p) or (q < g[G_NODES] and pi[p * NPI + P_NODE] != q):
            undispatch(g, gf, wi, wf, pi, pf, ci, vi, vf, hp, p, now)
            set_state(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, hp, w, READY, 0, now)
            make_runnable(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, rq, rqn, qf, hp, aff, w, now)
            pull_next(g, gf, wi, wf, wc, pi, pf, ci, vi, vf, rq, rqn, qf, hp, aff, p, now)


#: Small leaf functions the compiled engine inlines (numba ``inline="always"``): a numba call
#: passes every array argument with reference counting, which costs more than these bodies.
INLINE = ("heap_push", "heap_pop", "lag_now", "skew_of", "allowed", "enqueue", "dequeue", "is_stalled")

FUNCTIONS = (
    "heap_push",
    "heap_pop",
    "settle_core",
    "is_stalled",
    "lag_now",
    "skew_of",
    "set_state",
    "enqueue",
    "dequeue",
    "allowed",
    "pick_ready",
    "find_idle_pcpu",
    "reslice",
    "dispatch",
    "_reslice_vm",
    "undispatch",
    "pull_next",
    "make_runnable",
    "_costart_check_later",
    "_skew_check_later",
    "on_skew",
    "wake",
    "_next_burst",
    "_halt_until_wake",
    "burst_done",
    "throttle",
    "on_limit_period",
    "on_slice",
    "on_costart",
    "on_tick",
    "on_wake",
    "run_until",
    "move_world",
)
