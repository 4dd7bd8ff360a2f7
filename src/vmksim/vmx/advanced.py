"""The host advanced settings vmksim models (``esxcli system settings advanced``), and the
warning for one it does not.

ESXi counterpart: the host's advanced options (``/Numa/PreferHT`` ...), given to vmksim as
``[host.settings]`` in a scenario or ``--host-setting KEY=VALUE`` to ``plan``. A key that is
not in :data:`MODELLED_HOST_SETTINGS` has no effect; rather than ignore it without a word
(a misspelling would silently change nothing), it gets one :class:`~vmksim.errors.InputWarning`
naming the nearest modelled setting, as a misspelt ``.vmx`` key does (vmx.config).
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Mapping

from vmksim.errors import InputWarning

__all__ = ["MODELLED_HOST_SETTINGS", "warn_unknown_host_settings"]

#: Host advanced settings some part of vmksim reads (the NUMA planner, numa/plan.py; the
#: scheduler parameters, sched/params.HOST_SETTING_FIELDS), with their ESXi defaults and
#: sources in esxi-scheduler.md (table of tunables: RM 5.5 attributes; Denneman 2016-12-12,
#: 2019-08-27).
MODELLED_HOST_SETTINGS = (
    "Numa.PreferHT",
    "Numa.FollowCoresPerSocket",
    "Numa.RebalanceEnable",
    "Numa.RebalancePeriod",
    "Numa.MigImbalanceThreshold",
)
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
