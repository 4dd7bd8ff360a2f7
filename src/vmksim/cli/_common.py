"""Helpers shared by sub-commands: key=value options, JSON output, help formatting."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from vmksim.errors import InputError
from vmksim.fileio import (
    MAX_TEXT_INPUT_BYTES,
    STDIN,
    STDIN_NAME,
    check_input,
    check_output,
    is_stdout,
    spooled_input,
)

__all__ = [
    "SECONDS",
    "Bounded",
    "HelpFormatter",
    "capture_input",
    "check_number",
    "input_file",
    "parse_key_values",
    "print_json",
    "say_written",
    "shown_source",
    "text_output",
]


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keep the hand-made line breaks of descriptions and example epilogs."""


def check_number(
    value: float, option: str, *, low: float | None = None, low_open: bool = False, high: float | None = None
) -> None:
    """InputError ``OPTION: must be ..., got VALUE`` unless *value* is finite and within the bounds.

    A value that is not a number at all is argparse's usage error (exit 2); a number out of range
    is a bad value (exit 1), DESIGN.md "Errors". NaN and infinities are never a count, a seed or a
    length of time, so every bounded option refuses them.
    """
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"must be a finite number, got {value}", where=option)
    if low is not None and (value <= low if low_open else value < low):
        side = "above" if low_open else "at least"
        raise InputError(f"must be {side} {low:g}, got {value:g}", where=option)
    if high is not None and value > high:
        raise InputError(f"must be at most {high:g}, got {value:g}", where=option)


class _Checked(argparse.Action):
    """An option whose parsed value is checked by :meth:`check` (an InputError: exit 1)."""

    def check(self, value: Any, option: str) -> None:
        raise NotImplementedError

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        self.check(values, option_string or self.dest)
        setattr(namespace, self.dest, values)


class Bounded(_Checked):
    """A numeric option checked against its range as it is parsed (:func:`check_number`).

    ``p.add_argument("--seed", type=int, action=Bounded, low=0)``: the range is part of the option,
    so every command refuses a negative seed or a NaN delay the same way, before any work starts.
    """

    def __init__(
        self,
        option_strings: Sequence[str],
        dest: str,
        *,
        low: float | None = None,
        low_open: bool = False,
        high: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(option_strings, dest, **kwargs)
        self.low, self.low_open, self.high = low, low_open, high

    def check(self, value: Any, option: str) -> None:
        check_number(value, option, low=self.low, low_open=self.low_open, high=self.high)


class OneOf(_Checked):
    """An option whose value must be one of ``allowed``; any other is a bad value (exit 1).

    argparse's ``choices=`` makes it a usage error (exit 2) while `plan --esxi 9.0` exits 1: the
    convention is DESIGN.md "Errors", usage errors 2 (unknown option, missing argument, not a
    number), bad values 1. The line names the option, the value, the choices and the nearest one.
    """

    def __init__(
        self, option_strings: Sequence[str], dest: str, *, allowed: Sequence[str], **kwargs: Any
    ) -> None:
        super().__init__(option_strings, dest, **kwargs)
        self.allowed = tuple(allowed)

    def check(self, value: Any, option: str) -> None:
        if value not in self.allowed:
            hint = did_you_mean(str(value), self.allowed)
            raise InputError(
                f"unknown value {value!r}, expected one of {', '.join(self.allowed)}{hint}", where=option
            )


#: How alike (difflib ratio, 0-1) a word must be to a known one to be suggested: difflib's own
#: default cutoff for get_close_matches.
SUGGEST_CUTOFF = 0.6


def did_you_mean(word: str, known: Sequence[str]) -> str:
    """``"; did you mean 'run'?"`` for the nearest of *known* (difflib), or "" when none is close."""
    import difflib

    close = difflib.get_close_matches(word, known, n=1, cutoff=SUGGEST_CUTOFF)
    return f"; did you mean '{close[0]}'?" if close else ""


#: Shortest time an option may give, in seconds: the scenario file's own floor for [run]
#: duration_s and interval_s (scenario.py, "must be at least 1 ms"); the kernel counts whole
#: microseconds, and a step that rounds to 0 µs would divide by zero.
MIN_SECONDS = 0.001

#: ``add_argument`` keywords of an option that is a length of time: a finite number of seconds.
SECONDS: dict[str, Any] = {"type": float, "action": Bounded, "low": MIN_SECONDS, "metavar": "SECONDS"}


def input_file(path: str, *, capture: bool = False) -> str:
    """*path*, once checked to be a regular file (vmksim.fileio.check_input); returns it for chaining.

    Configuration files (scenario, .vmx, entity list) are capped at MAX_TEXT_INPUT_BYTES; esxtop
    captures are streamed, so any size is fine, but a device or FIFO is refused like any input.
    """
    check_input(path, max_bytes=None if capture else MAX_TEXT_INPUT_BYTES)
    return path


@contextlib.contextmanager
def capture_input(*paths: str) -> Iterator[list[str]]:
    """The esxtop captures *paths*, checked (:func:`input_file`); ``-`` is standard input, spooled.

    Captures may be read twice (what-if reads one to infer and again to calibrate), so standard
    input is copied to a temporary file for the duration of the block (fileio.spooled_input).
    Only one of *paths* can be ``-``: standard input can be read once.
    """
    if sum(1 for p in paths if p == STDIN) > 1:
        raise InputError("only one input can come from standard input ('-')")
    with contextlib.ExitStack() as stack:
        yield [input_file(stack.enter_context(spooled_input(p)), capture=True) for p in paths]


def shown_source(path: str) -> str:
    """How output names an input: its path, or "standard input" for ``-``."""
    return STDIN_NAME if path == STDIN else path


def parse_key_values(items: list[str] | None, option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"expected KEY=VALUE, got '{item}'", source=option)
        out[key.strip()] = value.strip()
    return out


def text_output(
    *outputs: str | os.PathLike[str] | None, json_out: bool = False
) -> contextlib.AbstractContextManager[Any]:
    """Where a command's printed text goes while it also writes *outputs*.

    Standard output, unless one output file is ``-`` (standard output carries that file, so the
    text goes to standard error). Two things cannot share standard output: two ``-`` outputs, or
    ``-`` with ``--json``; that is an InputError.
    """
    claims = sum(1 for o in outputs if is_stdout(o)) + int(json_out)
    if claims > 1:
        raise InputError("only one output can go to standard output ('-' or --json)")
    for output in outputs:
        if output is not None:
            check_output(output)  # a bad path is said before the work, not after it
    if any(is_stdout(o) for o in outputs):
        return contextlib.redirect_stdout(sys.stderr)
    return contextlib.nullcontext()


def say_written(what: str, path: str | None, json_out: bool = False) -> None:
    """'WHAT written to PATH' (on stderr beside --json); nothing when the file went to standard output."""
    if path and not is_stdout(path):
        print(f"{what} written to {path}", file=sys.stderr if json_out else sys.stdout)


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")
