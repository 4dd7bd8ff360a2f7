"""Shared fixtures: paths to the repository's fixtures and to ../shared."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmksim.cli import main

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SHARED = ROOT.parent / "shared"


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]):
    """Run the vmksim CLI in-process; return (exit code, stdout, stderr)."""

    def _run(*argv: str) -> tuple[int, str, str]:
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse usage errors and --help
            code = int(exc.code or 0)
        out = capsys.readouterr()
        return code, out.out, out.err

    return _run
