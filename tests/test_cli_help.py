"""Help as a newcomer meets it: `vmksim --help` and every sub-command's help, each with examples that parse.

The sub-commands are discovered from the parser the CLI builds (vmksim.cli.build_parser), including
nested ones such as `vmfs ls` or `capture convert`, so a new command is covered without editing
this file. An example counts only if it is a `vmksim ...` line that the real parser accepts.
"""

from __future__ import annotations

import argparse
import re
import shlex
from collections.abc import Iterator

import pytest

from vmksim.cli import build_parser, command_modules


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _walk(child, (*path, name))


COMMAND_PATHS = list(_walk(build_parser()))


def _examples(help_text: str) -> list[str]:
    """The `vmksim ...` command lines of the help's example section(s), without comments or pipes."""
    lines: list[str] = []
    in_examples = False
    for line in help_text.splitlines():
        if re.match(r"^examples?:\s*$", line):
            in_examples = True
            continue
        if in_examples and line and not line[0].isspace():
            in_examples = False
        stripped = line.strip()
        if in_examples and stripped.startswith("vmksim "):
            # Up to the comment: two or more spaces, '#', or a shell redirection/pipe.
            command = re.split(r"\s{2,}|\s#|\s[|>]", stripped, maxsplit=1)[0]
            lines.append(command)
    return lines


def _parses(command: str) -> bool:
    try:
        build_parser().parse_args(shlex.split(command)[1:])
    except SystemExit:
        return False
    return True


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_top_level_help_lists_every_command_with_examples(run_cli, flag: str) -> None:
    code, out, err = run_cli(flag)
    assert code == 0 and err == "" and out.startswith("usage: vmksim")
    listed = {m.group(1) for m in re.finditer(r"^ {4}(\w+)\s", out, re.MULTILINE)}
    assert set(command_modules()) <= listed
    examples = _examples(out)
    assert len(examples) >= 3 and all(_parses(e) for e in examples), examples


@pytest.mark.parametrize("path", [p for p in COMMAND_PATHS if p], ids=" ".join)
def test_every_command_has_help_with_examples(run_cli, path: tuple[str, ...]) -> None:
    code, out, err = run_cli(*path, "--help")
    assert code == 0 and err == "", err
    assert out.startswith("usage: vmksim " + " ".join(path))
    own = [e for e in _examples(out) if e.split()[1 : 1 + len(path)] == list(path)]
    assert own, f"`vmksim {' '.join(path)} --help` shows no example of itself"
    bad = [e for e in own if not _parses(e)]
    assert not bad, f"examples the parser refuses: {bad}"


def test_example_parser_rejects_what_argparse_rejects() -> None:
    """The check above can fail: a made-up option is not an example that parses."""
    assert _parses("vmksim topology list")
    assert not _parses("vmksim topology list --no-such-option")
    assert _examples("examples:\n  vmksim run a.toml   # note\nother\n  vmksim x\n") == ["vmksim run a.toml"]
