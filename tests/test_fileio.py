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


def test_dash_writes_to_standard_output(capsysbinary) -> None:
    with atomic_write("-") as fh:
        fh.write("text\n")
    with atomic_write("-", "wb") as fh:
        fh.write(b"\x00bytes")
    assert capsysbinary.readouterr().out == b"text\n\x00bytes"


def test_dangling_symlink_creates_its_target(tmp_path) -> None:
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "new.csv")
    with atomic_write(link) as fh:
        fh.write("x")
    assert link.is_symlink() and (tmp_path / "new.csv").read_text() == "x"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_device_is_one_clear_line() -> None:
    from vmksim.errors import InputError

    with (
        pytest.raises(InputError, match="/dev/full: cannot write: No space left"),
        atomic_write("/dev/full") as fh,
    ):
        fh.write("x" * 100_000)


def test_check_input_names_the_kind_of_special_file(tmp_path) -> None:
    from vmksim.errors import InputError
    from vmksim.fileio import check_input

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="fifo: cannot read: a FIFO, not a regular file"):
        check_input(fifo)
    with pytest.raises(InputError, match="cannot read: a device or socket"):
        check_input("/dev/null")
    (tmp_path / "f").write_text("abc")
    assert check_input(tmp_path / "f") == 3


def test_check_input_accepts_block_devices_only_when_asked() -> None:
    from vmksim.errors import InputError
    from vmksim.fileio import check_input

    block = next((f"/dev/{n}" for n in sorted(os.listdir("/dev")) if _is_block(f"/dev/{n}")), None)
    if block is None:
        pytest.skip("no block device visible")
    with pytest.raises(InputError, match="a device or socket, not a regular file"):
        check_input(block)
    assert check_input(block, block_devices=True) == 0
    with pytest.raises(InputError, match="a device or socket"):
        check_input("/dev/null", block_devices=True)  # a character device still is not a volume


def _is_block(path: str) -> bool:
    try:
        return stat.S_ISBLK(os.stat(path).st_mode)
    except OSError:
        return False
