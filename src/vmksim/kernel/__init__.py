"""The simulated VMkernel: one host's worlds, schedulers and counters, and the ``simulate`` API."""

from vmksim.kernel.simulate import SimulationResult, simulate
from vmksim.kernel.vmkernel import Kernel, ReferenceKernel, VmLayout, group_id

__all__ = ["Kernel", "ReferenceKernel", "SimulationResult", "VmLayout", "group_id", "simulate"]
