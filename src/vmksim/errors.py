"""One exception tree for vmksim.

Every error a user can cause derives from :class:`VmksimError`; the CLI is the
only place that catches it, prints its one-line message and exits 1. Anything
else escaping is a bug and shows a traceback.

::

    VmksimError
    ├── InputError            a file or value the user gave is wrong (names file, place, problem)
    │   ├── VmxError          .vmx file
    │   ├── ScenarioError     scenario TOML
    │   ├── TopologyError     host topology (spec, preset, sysfs, hwloc, esxcli text)
    │   ├── CaptureError      esxtop batch CSV
    │   ├── VmfsError         VMFS image
    │   └── ElfError          binary given to `elf check`
    ├── PlacementError        a valid configuration ESXi would refuse (admission control, too wide)
    └── MissingExtraError     an optional extra (tui, report, data) is not installed

    InputWarning (a UserWarning, not an error): input that is used but probably not what the
    user meant (a misspelt .vmx key, a field that had to be assumed). Raised with
    ``warnings.warn``; the CLI prints each as one ``vmksim: warning:`` line on stderr.
"""

from __future__ import annotations

__all__ = [
    "CaptureError",
    "ElfError",
    "InputError",
    "InputWarning",
    "MissingExtraError",
    "PlacementError",
    "ScenarioError",
    "TopologyError",
    "VmfsError",
    "VmksimError",
    "VmxError",
]


class VmksimError(Exception):
    """Base of every error vmksim reports to a user as one line."""


class InputError(VmksimError):
    """A user-supplied file or value is wrong.

    The message reads ``FILE:PLACE: PROBLEM`` (place = line number, key or byte
    offset), or ``FILE: PROBLEM`` / ``PROBLEM`` when there is no file or place.
    """

    def __init__(self, problem: str, *, source: str | None = None, where: str | int | None = None):
        self.problem = problem
        self.source = source
        self.where = where
        prefix = ""
        if source is not None:
            prefix = f"{source}:{where}: " if where is not None else f"{source}: "
        elif where is not None:
            prefix = f"{where}: "
        super().__init__(prefix + problem)


class InputWarning(UserWarning):
    """Input that vmksim uses but the user should check; the message names the file and place."""


class VmxError(InputError):
    """A malformed or impossible .vmx file."""


class ScenarioError(InputError):
    """A malformed or impossible scenario file."""


class TopologyError(InputError):
    """A malformed or impossible host topology."""


class CaptureError(InputError):
    """A file that is not a readable esxtop batch capture."""


class VmfsError(InputError):
    """A VMFS image that cannot be read (bad magic, truncated, corrupt metadata)."""


class ElfError(InputError):
    """A file that `elf check` cannot examine."""


class PlacementError(VmksimError):
    """ESXi would refuse this configuration (e.g. admission control)."""


class MissingExtraError(VmksimError):
    """An optional extra is needed: says which and how to install it."""

    def __init__(self, extra: str, feature: str):
        super().__init__(f"{feature} needs the '{extra}' extra: pip install 'vmksim[{extra}]'")
