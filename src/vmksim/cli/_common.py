"""Helpers shared by sub-commands: key=value options, JSON output, help formatting."""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from vmksim.errors import InputError

__all__ = ["HelpFormatter", "parse_key_values", "print_json", "printable"]

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """*text* read from a user's file, its control characters escaped (``\\n``, ``\\x1b``...).

    A name holding an escape sequence or a newline would otherwise recolour the terminal or
    forge a line of the output (issue 11 item 18). JSON output needs no help: it escapes them.
    """
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keep the hand-made line breaks of descriptions and example epilogs."""


def parse_key_values(items: list[str] | None, option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"expected KEY=VALUE, got '{item}'", source=option)
        out[key.strip()] = value.strip()
    return out


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")
