"""The host advanced settings vmksim models (``esxcli system settings advanced``), their ranges,
and the warning for one it does not.

ESXi counterpart: the host's advanced options (``/Numa/PreferHT`` ...), given to vmksim as
``[host.settings]`` in a scenario or ``--host-setting KEY=VALUE`` to ``plan``. A key that is
not in :data:`MODELLED_HOST_SETTINGS` has no effect; rather than ignore it without a word
(a misspelling would silently change nothing), it gets one :class:`~vmksim.errors.InputWarning`
naming the nearest modelled setting, as a misspelt ``.vmx`` key does (vmx.config). A modelled
setting's value must be a whole number in its option's range, as ``esxcli system settings
advanced set`` requires of an integer option; a 0/1 option also takes an ESXi boolean word.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

from vmksim.errors import InputWarning

__all__ = [
    "ADVANCED_OPTIONS",
    "MODELLED_HOST_SETTINGS",
    "AdvancedOption",
    "host_setting_problem",
    "warn_unknown_host_settings",
]


@dataclass(frozen=True, slots=True)
class AdvancedOption:
    """A VMkernel advanced option the simulated kernel reads (esxi-scheduler.md §2 table)."""

    path: str
    default: int
    minimum: int  # unverified: as ESXi hosts list them, not re-checked in a public source
    maximum: int
    description: str

    @property
    def key(self) -> str:
        """The setting as a scenario or ``--host-setting`` names it: ``/Numa/PreferHT`` → ``Numa.PreferHT``."""
        return self.path.strip("/").replace("/", ".")


#: The options the kernel model understands (the NUMA planner, numa/plan.py; the scheduler
#: parameters, sched/params.HOST_SETTING_FIELDS): defaults from esxi-scheduler.md §2 "settings"
#: table (RM 5.5 attributes; Denneman 2016-12-12, 2019-08-27). The one table: the shell's
#: ``esxcli system settings advanced list`` shows it too.
ADVANCED_OPTIONS: tuple[AdvancedOption, ...] = (
    AdvancedOption("/Numa/FollowCoresPerSocket", 0, 0, 1, "Size vNUMA from cores per socket (legacy)"),
    AdvancedOption("/Numa/MigImbalanceThreshold", 10, 1, 200, "Minimum node load imbalance (%) to migrate"),
    AdvancedOption("/Numa/PreferHT", 0, 0, 1, "Size NUMA clients by threads rather than cores"),
    AdvancedOption("/Numa/RebalanceEnable", 1, 0, 1, "Enable NUMA placement and rebalancing"),
    AdvancedOption("/Numa/RebalancePeriod", 2000, 100, 60000, "Time between NUMA rebalances (ms)"),
)
MODELLED_HOST_SETTINGS = tuple(o.key for o in ADVANCED_OPTIONS)
_OPTION = {o.key.lower(): o for o in ADVANCED_OPTIONS}
#: ESXi's boolean words (as .vmx booleans, vmx.config) accepted for a 0/1 option.
_BOOLEAN_WORDS = {"true": 1, "yes": 1, "on": 1, "false": 0, "no": 0, "off": 0}


def host_setting_problem(key: str, value: str) -> str | None:
    """Why *value* is not valid for the modelled setting *key* (None if valid, or not modelled)."""
    option = _OPTION.get(key.lower())
    if option is None:
        return None
    text = str(value).strip()
    if option.maximum == 1 and text.lower() in _BOOLEAN_WORDS:
        return None
    try:
        number = int(text, 10)
    except ValueError:
        return f"must be a whole number from {option.minimum} to {option.maximum}, got {text[:40]!r}"
    if not option.minimum <= number <= option.maximum:
        return f"must be from {option.minimum} to {option.maximum}, got {number}"
    return None


_LOWER = {k.lower(): k for k in MODELLED_HOST_SETTINGS}
#: How alike a key must be to a modelled setting to be suggested (difflib ratio); below it the
#: warning lists every modelled setting instead (there are few).
SUGGEST_CUTOFF = 0.6


def warn_unknown_host_settings(settings: Mapping[str, object], where: str) -> None:
    """One InputWarning per key of *settings* that vmksim does not model.

    *where* names the place of the settings, the key is appended: ``"f.toml:host.settings."``
    or ``"--host-setting "``.
    """
    for key in settings:
        if key.lower() in _LOWER:
            continue
        near = difflib.get_close_matches(key.lower(), list(_LOWER), n=1, cutoff=SUGGEST_CUTOFF)
        hint = (
            f"did you mean '{_LOWER[near[0]]}'?"
            if near
            else "vmksim models " + ", ".join(MODELLED_HOST_SETTINGS)
        )
        warnings.warn(
            f"{where}{key}: unknown host advanced setting ({hint}); it has no effect",
            InputWarning,
            stacklevel=2,
        )
