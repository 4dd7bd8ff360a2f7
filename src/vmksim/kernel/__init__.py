"""The simulated VMkernel: one host's worlds, schedulers and counters, and the ``simulate`` API."""

from vmksim.kernel.simulate import SimulationResult, simulate
from vmksim.kernel.vmkernel import Kernel, VmLayout, group_id
from vmksim.kernel.worlds import EsxHost, boot

__all__ = ["EsxHost", "Kernel", "SimulationResult", "VmLayout", "boot", "group_id", "simulate"]
