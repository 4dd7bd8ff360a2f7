"""The compiled core's indexed slice heap keeps the heap order and its per-PCPU slot index.

vmksim.sched.core keeps each PCPU's pending decision point (slice event) in a binary heap
inside I (section ``sh``), with the PCPU's slot in ``P_HPOS`` so a re-slice moves the entry in
place and an undispatch removes it. Hypothesis drives random sets (earlier, later, new) and
drops against a model -- a dict PCPU -> key -- and checks after every step:

* the heap order: every entry's key is >= its parent's (the top is the least key);
* the index: ``P_HPOS`` of every queued PCPU names the slot holding it, -1 for the others;
* slots past the last entry hold the key EMPTY (``_sh_down`` relies on it);
* the keys are the model's: ``time << SEQ_BITS | sequence``, one fresh sequence number per set,
  so equal times fire in the order they were set (the (time, sequence) rule of the event loop).

Runs the interpreted core (Python lists): the same source numba compiles.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from vmksim.sched import core as C

NP = 9  # PCPUs: enough for three heap levels


def _state() -> list[int]:
    """Globals, then the PCPU records, then the slice heap's NP + 1 slots, as the kernel lays them."""
    o_pi = C.NG
    o_sh = o_pi + NP * C.NPI
    ints = [0] * (o_sh + 2 * (NP + 1))
    ints[C.G_OPI] = o_pi
    ints[C.G_OSH] = o_sh
    for p in range(NP):
        ints[o_pi + p * C.NPI + C.P_HPOS] = -1
    for i in range(NP + 1):
        ints[o_sh + 2 * i] = C.EMPTY
        ints[o_sh + 2 * i + 1] = -1
    return ints


def _check(ints: list[int], model: dict[int, int]) -> None:
    o_sh, o_pi, n = ints[C.G_OSH], ints[C.G_OPI], ints[C.G_SSIZE]
    assert n == len(model)
    held = {ints[o_sh + 2 * i + 1]: ints[o_sh + 2 * i] for i in range(n)}
    assert held == model
    for i in range(1, n):
        assert ints[o_sh + 2 * i] >= ints[o_sh + 2 * ((i - 1) // 2)], f"slot {i} above its parent"
    for i in range(n, NP + 1):
        assert ints[o_sh + 2 * i] == C.EMPTY
    for p in range(NP):
        slot = ints[o_pi + p * C.NPI + C.P_HPOS]
        if p in model:
            assert ints[o_sh + 2 * slot + 1] == p
        else:
            assert slot == -1


ops = st.lists(
    st.tuples(st.sampled_from(["set", "drop"]), st.integers(0, NP - 1), st.integers(0, 50)),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(ops)
def test_slice_heap_keeps_order_index_and_keys(steps: list[tuple[str, int, int]]) -> None:
    ints = _state()
    model: dict[int, int] = {}
    seq = 0
    for op, p, t in steps:
        if op == "set":
            C.slice_set(ints, None, None, p, t)
            model[p] = (t << C.SEQ_BITS) | seq
            seq += 1
        else:
            C.slice_drop(ints, None, None, p)
            model.pop(p, None)
        _check(ints, model)
    # draining by the top gives the keys in (time, sequence) order
    drained = []
    while ints[C.G_SSIZE]:
        top = ints[ints[C.G_OSH] + 1]
        drained.append(ints[ints[C.G_OSH]])
        C.slice_drop(ints, None, None, top)
    assert drained == sorted(model.values())
