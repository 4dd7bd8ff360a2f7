"""``vmksim vmfs extract IMG PATH -``: the file streams to standard output (QA item 2).

README: ``-`` works wherever vmksim writes a file. A pipe cannot seek, so holes are written as
zeros, in order; there is no file to chmod or touch. Before the fix a pipe gave "Illegal seek"
and a redirection to a file wrote every byte and then failed with exit 1.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vmfs_synth import MIB, Synth
from vmksim.cli import main

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}


@pytest.fixture
def holey(tmp_path: Path) -> tuple[Path, bytes]:
    """An image with /indirect: 1 MiB of C, a 1 MiB hole, 100 bytes of D (the edge tests' layout)."""
    s = Synth()
    pb = s.pointer_block({0: s.data(12, b"C" * MIB), 2: s.data(13, b"D" * 100)})
    s.add_file("indirect", 2 * MIB + 100, 3, [pb])
    return s.write(tmp_path / "holey.img"), b"C" * MIB + bytes(MIB) + b"D" * 100


def test_extract_to_dash_writes_every_byte_to_stdout(holey, capfdbinary) -> None:
    img, expected = holey
    assert main(["vmfs", "extract", str(img), "/indirect", "-"]) == 0
    captured = capfdbinary.readouterr()
    assert captured.out == expected
    assert b"standard output" in captured.err


@pytest.mark.parametrize("into", ["pipe", "file"])
def test_extract_to_dash_through_a_pipe_or_a_redirection(holey, tmp_path: Path, into: str) -> None:
    img, expected = holey
    argv = [sys.executable, "-m", "vmksim", "vmfs", "extract", str(img), "/indirect", "-"]
    if into == "pipe":
        proc = subprocess.run(argv, capture_output=True, env=ENV, check=False)
        got = proc.stdout
    else:
        out = tmp_path / "redirected"
        with out.open("wb") as fh:
            proc = subprocess.run(argv, stdout=fh, stderr=subprocess.PIPE, env=ENV, check=False)
        got = out.read_bytes()
    assert proc.returncode == 0, proc.stderr
    assert got == expected and b"cannot write" not in proc.stderr


def test_extract_to_a_fifo_streams_instead_of_seeking(holey, tmp_path: Path) -> None:
    img, expected = holey
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    copy = tmp_path / "copy"
    with copy.open("wb") as sink:  # a file, not a pipe to us: the reader never waits on this test
        reader = subprocess.Popen(["cat", str(fifo)], stdout=sink)
        try:
            code = main(["vmfs", "extract", str(img), "/indirect", str(fifo)])
            reader.wait(timeout=30)
        finally:
            reader.kill()
    assert code == 0 and copy.read_bytes() == expected
