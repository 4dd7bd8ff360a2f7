"""Run the scheduler core interpreted (Python lists) or compiled (numba, numpy arrays), same source.

ESXi counterpart: none; this is how vmksim executes vmksim.sched.core. The
compiled path needs numba (a core dependency); without it the interpreted path
gives the same results, only slower (tests/test_kernel.py checks equality).
vmksim.sched.reference is a third engine with the same interface
(:class:`SchedCore`): the readable specification.
``VMKSIM_ENGINE=python`` forces the interpreted path (environment read here only).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any, Protocol

import numpy as np

from vmksim.sched import core, schema
from vmksim.sched.schema import GLOBAL

__all__ = [
    "FLOAT_SECTIONS",
    "INT_SECTIONS",
    "CoreState",
    "SchedCore",
    "core_module",
    "default_jit",
    "numba_available",
]

#: Sections of the int array I and the float array F, in layout order (globals first, at offset 0),
#: with the slot of I holding each section's offset (declared in vmksim.sched.schema).
INT_SECTIONS: tuple[tuple[str, int], ...] = tuple(
    (name, GLOBAL.i(f"o{name}") if k else -1) for k, name in enumerate(schema.INT_SECTIONS)
)
FLOAT_SECTIONS: tuple[tuple[str, int], ...] = tuple(
    (name, GLOBAL.i(f"o{name}") if k else -1) for k, name in enumerate(schema.FLOAT_SECTIONS)
)
_JIT_MODULE: ModuleType | None = None


class SchedCore(Protocol):
    """What the kernel needs of a scheduler engine: CoreState (this module) or vmksim.sched.reference."""

    jit: bool

    def call(self, fn: str, *extra: Any) -> Any:
        """``heap_push(t, kind, x, gen)`` or ``move_world(w, queue, mask, now)``."""

    def get(self, name: str, i: int) -> Any:
        """Entry *i* of section *name*."""

    def view(self, name: str) -> np.ndarray:
        """Section *name* (vmksim.sched.schema) as a numpy array."""

    def run_until(self, t_stop: int, refill: Callable[[int], None]) -> None:
        """Process every event before *t_stop*."""


def numba_available() -> bool:
    return importlib.util.find_spec("numba") is not None


def default_jit() -> bool:
    """Compiled when numba is installed, unless VMKSIM_ENGINE=python."""
    return os.environ.get("VMKSIM_ENGINE", "").lower() != "python" and numba_available()


def core_module(jit: bool) -> ModuleType:
    """vmksim.sched.core itself, or a second copy of it with every function compiled by numba."""
    global _JIT_MODULE
    if not jit:
        return core
    if _JIT_MODULE is None:
        import numba

        name = "vmksim.sched._core_jit"
        spec = importlib.util.spec_from_file_location(name, core.__file__)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        setattr(module, "_borrow", _borrowed())  # noqa: B010 (a module attribute mypy cannot see)
        for fn in module.FUNCTIONS:
            if fn == "_borrow":
                continue
            if fn in module.INLINE:
                compiler = numba.njit(cache=True, nogil=True, inline="always")
            else:
                compiler = numba.njit(cache=True, nogil=True)
            setattr(module, fn, compiler(getattr(module, fn)))
        _JIT_MODULE = module
    return _JIT_MODULE


def _borrowed() -> Any:
    """A numba intrinsic: a view of a 1-d array with a null meminfo, so compiled calls passing it
    skip the atomic reference counting (vmksim.sched.core.run). The caller must keep the array
    alive while the view is used. numba's disk cache of core.py embeds this code and is keyed
    on core.py alone: after changing it, touch core.py (or clear its __pycache__)."""
    from numba.core import types
    from numba.extending import intrinsic

    @intrinsic
    def borrow(typingctx: Any, arr: Any) -> Any:
        if not isinstance(arr, types.Array):
            return None

        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            src = context.make_array(sig.args[0])(context, builder, args[0])
            dst = context.make_array(sig.return_type)(context, builder)
            context.populate_array(
                dst,
                data=src.data,
                shape=src.shape,
                strides=src.strides,
                itemsize=src.itemsize,
                meminfo=None,
                parent=None,
            )
            return dst._getvalue()

        return arr(arr), codegen

    return borrow


def _empty_heap(entries: int) -> np.ndarray:
    """Heap slots for *entries* entries, every key EMPTY (vmksim.sched.core.heap_pop relies on it)."""
    out = np.zeros(entries * core.NH, dtype=np.int64)
    out[0 :: core.NH] = core.EMPTY
    return out


class CoreState:
    """The scheduler state (I, F, H) and the loop that drives vmksim.sched.core.run_until.

    Built from one array per section (``"g"``, ``"wi"``, ...) and an empty heap of ``G_HCAP``
    entries; the sections are laid out one after the other in I (ints) and F (floats) and
    their offsets written into I. Interpreted, I, F and H are Python lists; compiled, numpy
    arrays.
    """

    __slots__ = ("F", "H", "I", "_mod", "_spans", "jit")

    def __init__(self, arrays: dict[str, np.ndarray], *, jit: bool) -> None:
        self.jit = jit
        self._mod = core_module(jit)
        self._spans: dict[str, tuple[bool, int, int]] = {}
        ints = self._layout(arrays, INT_SECTIONS, np.int64, is_int=True)
        floats = self._layout(arrays, FLOAT_SECTIONS, np.float64, is_int=False)
        for name, slot in INT_SECTIONS + FLOAT_SECTIONS:
            if slot >= 0:
                ints[slot] = self._spans[name][1]
        heap = _empty_heap(int(ints[core.G_HCAP]))
        self.I: Any = ints if jit else ints.tolist()
        self.F: Any = floats if jit else floats.tolist()
        self.H: Any = heap if jit else heap.tolist()

    def _layout(
        self,
        arrays: dict[str, np.ndarray],
        sections: tuple[tuple[str, int], ...],
        dtype: Any,
        *,
        is_int: bool,
    ) -> np.ndarray:
        parts = []
        at = 0
        for name, _ in sections:
            arr = np.ascontiguousarray(arrays[name], dtype=dtype).ravel()
            self._spans[name] = (is_int, at, len(arr))
            parts.append(arr)
            at += len(arr)
        return np.concatenate(parts)

    def offset(self, name: str) -> int:
        """Where section *name* starts in I or F."""
        return self._spans[name][1]

    def view(self, name: str) -> np.ndarray:
        """Section *name* as a numpy array (a view when compiled, a copy when interpreted)."""
        is_int, at, n = self._spans[name]
        arr = self.I if is_int else self.F
        return arr[at : at + n] if self.jit else np.asarray(arr[at : at + n])

    def get(self, name: str, i: int) -> Any:
        is_int, at, _ = self._spans[name]
        return (self.I if is_int else self.F)[at + i]

    def set(self, name: str, i: int, value: Any) -> None:
        is_int, at, _ = self._spans[name]
        (self.I if is_int else self.F)[at + i] = value

    def call(self, fn: str, *extra: Any) -> Any:
        return getattr(self._mod, fn)(self.I, self.F, self.H, *extra)

    def run_until(self, t_stop: int, refill: Callable[[int], None]) -> None:
        """Process all events before t_stop, refilling draw buffers and growing the heap as needed."""
        while True:
            code = self._mod.run(self.I, self.F, self.H, t_stop)
            if code == core.DONE:
                return
            if code == core.NEED_REFILL:
                refill(int(self.I[core.G_REFILL]))
            else:
                self._grow_heap()

    def _grow_heap(self) -> None:
        cap = int(self.I[core.G_HCAP])
        if self.jit:
            self.H = np.concatenate([self.H, _empty_heap(cap)])
        else:
            self.H.extend(_empty_heap(cap).tolist())
        self.I[core.G_HCAP] = cap * 2
