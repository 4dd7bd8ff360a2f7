"""Outputs are complete or absent, with ordinary permissions."""

from __future__ import annotations

import os
import stat

import pytest

from vmksim.fileio import atomic_write


def test_complete_file_gets_umask_permissions(tmp_path) -> None:
    target = tmp_path / "out.csv"
    old = os.umask(0o022)
    try:
        with atomic_write(target) as fh:
            fh.write("a,b\n")
    finally:
        os.umask(old)
    assert target.read_text() == "a,b\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_failure_leaves_no_file(tmp_path) -> None:
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError), atomic_write(target) as fh:
        fh.write("half")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
