"""Run the scheduler core interpreted (Python lists) or compiled (numba, numpy arrays), same source.

ESXi counterpart: none; this is how vmksim executes vmksim.sched.core. The
compiled path is the ``fast`` extra (numba); without it the interpreted path
gives the same results, only slower (tests/test_kernel.py checks equality).
``VMKSIM_ENGINE=python`` forces the interpreted path (environment read here only).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from vmksim.sched import core

__all__ = ["ARRAYS", "CoreState", "core_module", "default_jit", "numba_available"]

#: Order of the state arrays passed to every core function, with their dtype.
ARRAYS: tuple[tuple[str, str], ...] = (
    ("g", "i"),
    ("gf", "f"),
    ("wi", "i"),
    ("wf", "f"),
    ("wc", "i"),
    ("pi", "i"),
    ("pf", "f"),
    ("ci", "i"),
    ("vi", "i"),
    ("vf", "f"),
    ("rq", "i"),
    ("rqn", "i"),
    ("qf", "f"),
    ("hp", "i"),
    ("aff", "i"),
    ("bb", "f"),
    ("ib", "f"),
    ("tb", "f"),
    ("ti", "f"),
)
_INDEX = {name: i for i, (name, _) in enumerate(ARRAYS)}
_JIT_MODULE: ModuleType | None = None


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
        for fn in module.FUNCTIONS:
            if fn in module.INLINE:
                compiler = numba.njit(cache=True, nogil=True, inline="always")
            else:
                compiler = numba.njit(cache=True, nogil=True)
            setattr(module, fn, compiler(getattr(module, fn)))
        _JIT_MODULE = module
    return _JIT_MODULE


class CoreState:
    """The scheduler state arrays and the loop that drives vmksim.sched.core.run_until."""

    __slots__ = ("_mod", "arrays", "jit")

    def __init__(self, arrays: dict[str, np.ndarray], *, jit: bool) -> None:
        self.jit = jit
        self._mod = core_module(jit)
        ordered: list[Any] = []
        for name, kind in ARRAYS:
            arr = np.ascontiguousarray(arrays[name], dtype=np.int64 if kind == "i" else np.float64)
            ordered.append(arr if jit else arr.tolist())
        self.arrays = ordered

    def __getitem__(self, name: str) -> Any:
        return self.arrays[_INDEX[name]]

    def view(self, name: str) -> np.ndarray:
        """A numpy copy/view of one array (for snapshots)."""
        arr = self.arrays[_INDEX[name]]
        return arr if self.jit else np.asarray(arr)

    def call(self, fn: str, *extra: Any) -> Any:
        return getattr(self._mod, fn)(*self.arrays, *extra)

    def run_until(self, t_stop: int, refill: Callable[[int], None]) -> None:
        """Process all events before t_stop, refilling draw buffers and growing the heap as needed."""
        g = self["g"]
        while True:
            code = self._mod.run_until(*self.arrays, t_stop)
            if code == core.DONE:
                return
            if code == core.NEED_REFILL:
                refill(int(g[core.G_REFILL]))
            else:
                self._grow_heap()

    def _grow_heap(self) -> None:
        i = _INDEX["hp"]
        old = self.arrays[i]
        g = self["g"]
        cap = int(g[core.G_HCAP])
        if self.jit:
            self.arrays[i] = np.concatenate([old, np.zeros(cap * core.NH, dtype=np.int64)])
        else:
            old.extend([0] * (cap * core.NH))
        g[core.G_HCAP] = cap * 2
