"""The README's `vmksim shell` session prints what the README shows (a runnable, checked example)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

pytest.importorskip("bashlex")

ROOT = Path(__file__).resolve().parents[1]


def _session() -> tuple[list[str], str]:
    """(argv after `vmksim`, expected output) of the console block in the shell section."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The ESXi shell: `vmksim shell`", 1)[1]
    block = re.search(r"```console\n(.*?)```", section, re.DOTALL)
    assert block, "the shell section has no console block"
    text = block.group(1)
    # the command is `$ vmksim ...` up to its closing quote (a multi-line -c argument)
    m = re.match(r"\$ vmksim (.*?'\n)", text, re.DOTALL)
    assert m
    return shlex.split(m.group(1)), text[m.end() :]


@pytest.mark.slow
def test_readme_shell_session(run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    argv, expected = _session()
    code, out, err = run_cli(*argv)
    # the session ends with a failing kill and `echo "status $?"`, so the status is 0
    assert code == 0 and err.startswith("Error: not simulated yet") and len(err.splitlines()) == 1
    assert _merged(out, err) == expected


def _merged(out: str, err: str) -> str:
    """stdout with the error lines where the session printed them (before the last line)."""
    lines = out.splitlines(keepends=True)
    return "".join(lines[:-1]) + err + "".join(lines[-1:])


def test_the_session_is_found() -> None:
    argv, expected = _session()
    assert argv[:2] == ["shell", "examples/nfv.toml"] and expected.endswith("status 1\n")
