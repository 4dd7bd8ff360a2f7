"""The ESXi shell on a simulated host: BusyBox ash, esxcli, vim-cmd, sched-stats, vsish (`vmksim shell`).

Layer: presentation (DESIGN.md), beside esxtop and analyze; imports the kernel, scenario and
topology, never the reverse. Modules: :mod:`~vmksim.shell.host` (the booted host and its clock),
:mod:`~vmksim.shell.formatters` and :mod:`~vmksim.shell.esxcli`, :mod:`~vmksim.shell.vimcmd`,
:mod:`~vmksim.shell.tools` (sched-stats, vsish, vmware, uname), :mod:`~vmksim.shell.vfs` and
:mod:`~vmksim.shell.applets` (the file system and BusyBox applets), :mod:`~vmksim.shell.interp`
(the ash interpreter over bashlex's AST) and :mod:`~vmksim.shell.session` (-c, scripts, prompt).
"""

from vmksim.shell.esxcli import esxcli
from vmksim.shell.host import ShellHost

__all__ = ["ShellHost", "esxcli"]
