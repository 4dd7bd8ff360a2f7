"""Host topology: the model, presets, and importers (sysfs, hwloc XML, esxcli text)."""

from vmksim.topology.model import DEFAULT_MHZ, HostTopology, PCpu
from vmksim.topology.presets import PRESETS, preset_names
from vmksim.topology.spec import host_from_mapping, resolve_host

__all__ = [
    "DEFAULT_MHZ",
    "PRESETS",
    "HostTopology",
    "PCpu",
    "host_from_mapping",
    "preset_names",
    "resolve_host",
]
