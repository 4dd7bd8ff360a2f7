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
from collections.abc import Sequence

from vmksim import __version__
from vmksim.errors import VmksimError

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

Ask how ESXi lays out a VM on a NUMA host (plan), simulate VMs on the CPU and
NUMA schedulers (run, top), read and diagnose esxtop captures (analyze,
compare, capture), predict a change on a captured host (whatif), inspect host
topologies (topology), read VMFS datastores (vmfs), or check whether a Linux
binary can run in the ESXi shell (elf). Every command is listed below; run
`vmksim COMMAND --help` for its options and examples.
"""

EPILOG = """\
examples:
  vmksim demo                                     the NFV tenant with and without preferHT
  vmksim plan --host nfv-2x24-ht --vcpus 48       how ESXi sizes a 48-vCPU VM
  vmksim run examples/nfv.toml --batch nfv.csv    simulate; write an esxtop batch CSV
  vmksim analyze nfv.csv                          findings in a capture
  vmksim top --replay nfv.csv                     esxtop's screens over a capture
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vmksim",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
