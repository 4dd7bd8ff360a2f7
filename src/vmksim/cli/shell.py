"""``vmksim shell``: the ESXi shell (BusyBox ash, esxcli, vim-cmd, sched-stats, vsish) on a simulated host."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from vmksim.cli._common import HelpFormatter, input_file

EPILOG = """\
examples:
  vmksim shell examples/nfv.toml                               interactive: [root@nfv-2x24-ht:~]
  vmksim shell examples/nfv.toml -c 'esxcli vm process list'   one command line, its exit status
  vmksim shell examples/nfv.toml --paused -c 'sleep 60; sched-stats -t numa-clients'
  vmksim shell examples/nfv.toml health.sh                     run a script against the host
  vmksim shell examples/nfv.toml --speed 10                    10 simulated seconds per real second
  vmksim shell examples/nfv.toml --datastore vmfs6.img -c 'esxcli storage filesystem list'
  vmksim shell examples/nfv.toml -c 'esxcli --formatter=csv --format-param=fields="WorldID,DisplayName" vm process list'

The simulation runs paced to the wall clock (--speed N for N times real time); with
--paused it only moves on `sleep N`. Commands: esxcli (hardware, system, vm, storage over
--datastore images), vim-cmd (vmsvc/getallvms, get.summary, get.config, power.getstate,
hostsvc/hostsummary, advopt/view), sched-stats -t, vsish -e get|ls, esxtop (-b anywhere,
the full screen at the prompt), vmware -v, uname, functions and the applets echo cat grep
head tail wc sort uniq cut ps date sleep ls cd pwd exit test sh. Power operations and
advanced-option changes are not simulated yet.
Needs the 'shell' extra: pip install 'vmksim[shell]'.
"""


def register(sub: Any) -> None:
    p = sub.add_parser(
        "shell",
        help="the ESXi shell on a simulated host: esxcli, vim-cmd, sched-stats, vsish, ash scripts",
        description=(
            "Log in to a simulated ESXi host: a BusyBox ash-like shell whose esxcli, vim-cmd,\n"
            "sched-stats and vsish answer from the running simulation of SCENARIO."
        ),
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    p.add_argument("scenario", metavar="SCENARIO", help="scenario TOML (the host and its VMs)")
    p.add_argument(
        "script", nargs="?", metavar="SCRIPT", help="run this script file, then exit with its status"
    )
    p.add_argument("-c", dest="command", metavar="CMD", help="run one command line and exit with its status")
    p.add_argument(
        "--datastore",
        action="append",
        metavar="IMG",
        help="attach a VMFS image read-only at /vmfs/volumes/LABEL (repeatable)",
    )
    p.add_argument("--paused", action="store_true", help="simulated time moves only on `sleep N`")
    p.add_argument(
        "--speed", type=float, default=1.0, help="simulated seconds per real second (default: %(default)s)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vmksim.errors import InputError, MissingExtraError
    from vmksim.scenario import load_scenario

    if args.speed <= 0:
        raise InputError(f"must be positive, got {args.speed:g}", source="--speed")
    if args.command is not None and args.script is not None:
        raise InputError("give a SCRIPT or -c CMD, not both", source="vmksim shell")
    try:
        from vmksim.shell.host import ShellHost
        from vmksim.shell.interp import Shell
        from vmksim.shell.session import interact, run_source
    except ImportError as exc:
        raise MissingExtraError("shell", f"vmksim shell ({exc.name})") from None
    script = _read_script(args.script) if args.script is not None else None
    scenario = load_scenario(input_file(args.scenario))
    datastores = tuple(_attach(path) for path in args.datastore or [])
    shell = Shell(ShellHost(scenario, speed=args.speed, paused=args.paused, datastores=datastores))
    if args.command is not None:
        return run_source(shell, args.command)
    if script is not None:
        return run_source(shell, script)
    if not sys.stdin.isatty():
        return run_source(shell, sys.stdin.read())
    return interact(shell)


def _attach(path: str) -> Any:
    """The one VMFS volume of image *path* (vmksim.vmfs; a bad image is a VmfsError naming it)."""
    from vmksim.fileio import check_input
    from vmksim.vmfs import Vmfs

    check_input(path, max_bytes=None, block_devices=True)
    return Vmfs.open([path])


def _read_script(path: str) -> str:
    from vmksim.errors import InputError

    input_file(path)
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except UnicodeDecodeError as exc:
        raise InputError(f"not a text script: byte {exc.start} is not UTF-8", source=path) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", source=path) from None
