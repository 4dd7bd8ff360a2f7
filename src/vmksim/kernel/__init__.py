"""The simulated VMkernel: one host's worlds, schedulers and counters, the one simulation driver."""

from vmksim.kernel.simulate import (
    BaseObserver,
    SimObserver,
    SimulationResult,
    SnapshotObserver,
    build_kernel,
    drive,
    drive_iter,
    simulate,
    step_lengths,
)
from vmksim.kernel.vmkernel import Kernel, VmLayout, group_id

__all__ = [
    "BaseObserver",
    "Kernel",
    "SimObserver",
    "SimulationResult",
    "SnapshotObserver",
    "VmLayout",
    "build_kernel",
    "drive",
    "drive_iter",
    "group_id",
    "simulate",
    "step_lengths",
]
