"""The ``vmksim`` command: one entry point with sub-commands.

This is the only layer that prints errors and picks exit codes
(DESIGN.md "Errors"): a :class:`~vmksim.errors.VmksimError` becomes one line on
stderr and exit code 1; argparse usage errors exit 2.

Each sub-command lives in its own module here and exposes
``register(subparsers)``, which adds its parser and sets ``func`` (a callable
taking the parsed namespace and returning an exit code).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import warnings
from collections.abc import Sequence
from typing import Any

from vmksim import __version__
from vmksim.errors import InputWarning, VmksimError

__all__ = ["build_parser", "command_modules", "main"]

# Sub-command modules are discovered in this package (names not starting with "_");
# this tuple only sets the order shown in --help, the rest follow alphabetically.
COMMAND_ORDER: tuple[str, ...] = (
    "demo",
    "plan",
    "run",
    "top",
    "analyze",
    "whatif",
    "compare",
    "topology",
    "vmfs",
    "elf",
)


def command_modules() -> list[str]:
    found = {m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")}
    ordered = [name for name in COMMAND_ORDER if name in found]
    return ordered + sorted(found - set(ordered))


DESCRIPTION = """\
vmksim: the VMware ESXi VMkernel as a simulator and toolset.

Ask it how ESXi lays out a VM on a NUMA host (plan), inspect host topologies
(topology), read VMFS datastores (vmfs), or check whether a Linux binary can
run in the ESXi shell (elf). Run `vmksim COMMAND --help` for each command.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vmksim", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"vmksim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in command_modules():
        module = importlib.import_module(f"vmksim.cli.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    previous = warnings.showwarning

    def show(message: Warning | str, category: type[Warning], *rest: Any, **kw: Any) -> None:
        # InputWarnings (errors.py) are one line each; anything else prints as before.
        if issubclass(category, InputWarning):
            print(f"vmksim: warning: {message}", file=sys.stderr)
        else:
            previous(message, category, *rest, **kw)

    with warnings.catch_warnings():
        warnings.simplefilter("default", InputWarning)
        warnings.showwarning = show
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.func(args) or 0)
    except VmksimError as exc:
        print(f"vmksim: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("vmksim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `vmksim vmfs cat ... | head`: the reader went away; not an error of ours.
        sys.stderr.close()
        return 0
