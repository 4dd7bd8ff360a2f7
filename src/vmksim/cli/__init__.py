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
import contextlib
import importlib
import os
import pkgutil
import signal
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from types import FrameType
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


#: Exit status after SIGTERM: 128 + signal number, the shell's convention (as `timeout` reports it).
SIGTERM_EXIT = 128 + signal.SIGTERM


class Terminated(BaseException):
    """SIGTERM arrived: unwinds like KeyboardInterrupt so partial outputs are removed (fileio)."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """While a command runs, SIGTERM raises Terminated instead of killing the process outright.

    Without this, `timeout vmksim run --batch x.csv` left the hidden temporary file behind
    (issue 11 item 17): the default action ends the process without running `finally` blocks.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = _parse(parser, list(sys.argv[1:] if argv is None else argv))
    except VmksimError as exc:  # an option's value out of its range (_common.Bounded): exit 1
        return _report_error(exc)
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


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """parse_args, with usage errors said by the (sub-)command they concern.

    argparse leaves two holes that a misspelling falls into: an unknown option of a sub-command
    is reported with the top-level usage (`vmksim run X --bacth y`), and an unknown command gets
    no suggestion (Python 3.11 has no ``suggest_on_error``). Here the command path is followed
    through argv first: an unknown command is refused with the nearest known one (difflib), and
    an unknown option with the usage of the innermost command and its nearest option.
    """
    from vmksim.cli._common import did_you_mean

    innermost = parser
    for token in argv:
        commands = _subcommands(innermost)
        if not commands:
            break
        if token.startswith("-"):
            continue
        if token not in commands:
            known = sorted(commands)
            innermost.error(
                f"unknown command '{token}'{did_you_mean(token, known)} (choose from {', '.join(known)})"
            )
        innermost = commands[token]
    args, extras = parser.parse_known_args(argv)
    if extras:
        options = [o for action in innermost._actions for o in action.option_strings]
        innermost.error(f"unrecognized arguments: {' '.join(extras)}{did_you_mean(extras[0], options)}")
    return args


def _run(args: argparse.Namespace) -> int:
    try:
        with _sigterm_unwinds():
            return int(args.func(args) or 0)
    except VmksimError as exc:
        return _report_error(exc)
    except KeyboardInterrupt:
        print("vmksim: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("vmksim: terminated", file=sys.stderr)
        return SIGTERM_EXIT
    except BrokenPipeError:
        return _reader_gone()


def _report_error(exc: VmksimError) -> int:
    from vmksim.console import escape_controls

    # Messages quote file names and names read from files: controls are shown escaped.
    print(f"vmksim: error: {escape_controls(exc)}", file=sys.stderr)
    return 1


def _reader_gone() -> int:
    """`vmksim ... | head -1`: the reader went away; not an error of ours, so exit 0 quietly.

    As docs.python.org "Note on SIGPIPE" (library/signal.html) says: point standard output at
    os.devnull, so the interpreter's final flush of what is still buffered cannot fail again
    (that would print "Exception ignored" and change the exit status).
    """
    with contextlib.suppress(OSError, ValueError):  # ValueError: no file descriptor (tests)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return 0
