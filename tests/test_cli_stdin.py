"""``-`` as an input: a capture piped into vmksim (QA item 3).

`vmksim run ... --batch - | vmksim analyze -` used to say "-: cannot read". Standard input is
spooled to a private temporary file (captures are read twice by some commands), removed when
the command ends; messages and output name it "standard input".
"""

from __future__ import annotations

import io
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIMITS = str(ROOT / "examples" / "limits.toml")


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short simulated capture (examples/limits.toml, 10 s)."""
    from vmksim.cli import main

    path = tmp_path_factory.mktemp("stdin") / "limits.csv"
    argv = ["run", LIMITS, "--batch", str(path), "--duration", "10", "--no-progress", "--engine", "python"]
    assert main(argv) == 0
    return path


@pytest.fixture
def stdin_from(monkeypatch: pytest.MonkeyPatch):
    """Make standard input carry *data* (bytes), as a pipe would (not a terminal)."""

    def _set(data: bytes) -> None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))

    return _set


def _spools() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("vmksim-stdin-*")}


@pytest.mark.parametrize(
    "argv",
    [
        ["analyze", "{}", "--json"],
        ["capture", "columns", "{}"],
        ["top", "--replay", "{}", "--batch"],
        ["compare", "{}", "{other}", "--json"],
    ],
)
def test_a_piped_capture_reads_like_the_file(run_cli, stdin_from, capture: Path, argv: list[str]) -> None:
    def fill(name: str) -> list[str]:
        return [a.format(name, other=str(capture)) for a in argv]

    code, from_file, _ = run_cli(*fill(str(capture)))
    assert code == 0
    before = _spools()
    stdin_from(capture.read_bytes())
    code, from_stdin, err = run_cli(*fill("-"))
    assert code == 0, err
    assert from_stdin == from_file.replace(str(capture), "standard input", 1 if "compare" in argv else -1)
    assert _spools() == before  # the temporary copy is gone


def test_whatif_reads_a_piped_capture(run_cli, stdin_from, capture: Path) -> None:
    import json

    stdin_from(capture.read_bytes())
    code, out, err = run_cli("whatif", "-", "--duration", "2", "--engine", "python", "--json")
    assert code == 0, err
    assert json.loads(out)["calibration"]


def test_a_bad_piped_capture_is_named_standard_input(run_cli, stdin_from) -> None:
    stdin_from(b"not,a,capture\n")
    code, out, err = run_cli("analyze", "-")
    assert code == 1 and out == "" and err.count("\n") == 1
    assert err.startswith("vmksim: error: standard input: ") and "vmksim-stdin" not in err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["compare", "-", "-"], "only one input can come from standard input"),
        (["top", "--replay", "-"], "add --batch"),
    ],
)
def test_what_standard_input_cannot_do_is_one_line(run_cli, stdin_from, capture, argv, needle) -> None:
    stdin_from(capture.read_bytes())
    code, _, err = run_cli(*argv)
    assert code == 1 and err.count("\n") == 1 and needle in err


def test_a_terminal_on_standard_input_is_refused_not_waited_on(run_cli, monkeypatch) -> None:
    class Terminal(io.TextIOWrapper):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal(io.BytesIO(b"")))
    code, _, err = run_cli("analyze", "-")
    assert code == 1 and "standard input is a terminal" in err
