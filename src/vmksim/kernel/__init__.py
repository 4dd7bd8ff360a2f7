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
from vmksim.kernel.vmkernel import Kernel, ReferenceKernel, VmLayout, group_id
from vmksim.kernel.worlds import EsxHost, boot

__all__ = [
    "BaseObserver",
    "EsxHost",
    "Kernel",
    "ReferenceKernel",
    "SimObserver",
    "SimulationResult",
    "SnapshotObserver",
    "VmLayout",
    "boot",
    "build_kernel",
    "drive",
    "drive_iter",
    "group_id",
    "simulate",
    "step_lengths",
]
