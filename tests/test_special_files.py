"""Special files as inputs and outputs, through the real CLI (issue 11 item 10, 11, 17, "Must show").

Inputs: missing, empty, folder, no permission, character device, FIFO, symlink loop, symlink to a
regular file. Outputs: the same, plus '-' (standard output). Every case ends in one clear line and
exit code 1, or in the right result; never a traceback, a block or a replaced link. A FIFO with no
writer would block a reader for ever, so each case that could block runs in a subprocess with a
timeout.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT

CAPTURE = FIXTURES / "esxtop" / "names.csv"
#: Seconds a case may take before it counts as a hang (the CLI answers these in well under one).
TIMEOUT_S = 30
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
#: The Linux capabilities that let root ignore file modes (capabilities(7)); dropped for the
#: permission cases so they test what a user meets, also when the tests run as root.
DAC_CAPS = "-dac_override,-dac_read_search"


def _as_a_user() -> list[str]:
    """Command prefix under which file modes apply: nothing for a user; setpriv for root."""
    if not IS_ROOT:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root, and setpriv (util-linux) is missing to drop the override")
    return [setpriv, f"--inh-caps={DAC_CAPS}", f"--bounding-set={DAC_CAPS}"]


def _cli(*argv: str, stdin: str = "", prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [*prefix, sys.executable, "-m", "vmksim", *argv],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=TIMEOUT_S,
        env=env,
        check=False,
    )


def _one_clear_line(proc: subprocess.CompletedProcess[str], path: str, words: str) -> None:
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("vmksim: error: ") and path in lines[0] and words in lines[0], lines[0]


# --- inputs -------------------------------------------------------------------------------------

#: (command line with {} for the input, kind of input) — every command that reads a named file.
INPUT_COMMANDS = [
    ("run {} --no-progress", "scenario"),
    ("plan {}", "vmx"),
    ("top {} --batch -n 1", "scenario"),
    ("top --replay {} --batch", "capture"),
    ("top --import-entity {} --batch -n 1 " + str(ROOT / "examples" / "nfv.toml"), "entities"),
    ("analyze {}", "capture"),
    ("compare {} {}", "capture"),
    ("capture columns {}", "capture"),
    ("whatif {}", "capture"),
]


def _argv(template: str, path: str) -> list[str]:
    return [path if part == "{}" else part for part in template.split()]


def _special_inputs(tmp_path: Path) -> dict[str, tuple[str, str]]:
    """name -> (path, words the error line must contain)."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    (tmp_path / "loop-a").symlink_to(tmp_path / "loop-b")
    (tmp_path / "loop-b").symlink_to(tmp_path / "loop-a")
    (tmp_path / "folder").mkdir()
    return {
        "missing": (str(tmp_path / "nothere"), "No such file"),
        "folder": (str(tmp_path / "folder"), "is a folder"),
        "device": ("/dev/zero", "device"),
        "fifo": (str(fifo), "FIFO"),
        "loop": (str(tmp_path / "loop-a"), "symbolic link loop"),
    }


@pytest.mark.skipif(not hasattr(os, "mkfifo") or not os.path.exists("/dev/zero"), reason="POSIX only")
@pytest.mark.parametrize(
    "template,kind", INPUT_COMMANDS, ids=[t.split()[0] + ":" + k for t, k in INPUT_COMMANDS]
)
@pytest.mark.parametrize("case", ["missing", "folder", "device", "fifo", "loop"])
def test_special_input_is_one_clear_line(
    run_cli, tmp_path: Path, template: str, kind: str, case: str
) -> None:
    path, words = _special_inputs(tmp_path)[case]
    if case == "fifo":  # a regression would block: run it where a timeout can stop it
        _one_clear_line(_cli(*_argv(template, path)), path, words)
        return
    code, _, err = run_cli(*_argv(template, path))
    _one_clear_line(subprocess.CompletedProcess([], code, "", err), path, words)


def test_empty_inputs_are_one_clear_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    for argv in (["analyze", str(empty)], ["capture", "columns", str(empty)], ["run", str(empty)]):
        _one_clear_line(_cli(*argv), str(empty), "")


def test_unreadable_input_is_one_clear_line(tmp_path: Path) -> None:
    prefix = tuple(_as_a_user())
    locked = tmp_path / "locked.csv"
    shutil.copy(CAPTURE, locked)
    locked.chmod(0)
    for argv in (["analyze", str(locked)], ["run", str(locked)], ["plan", str(locked)]):
        _one_clear_line(_cli(*argv, prefix=prefix), str(locked), "Permission denied")


def test_input_through_a_symlink_reads_its_target(tmp_path: Path) -> None:
    link = tmp_path / "link.csv"
    link.symlink_to(CAPTURE)
    direct, linked = _cli("capture", "columns", str(CAPTURE)), _cli("capture", "columns", str(link))
    assert linked.returncode == 0 and linked.stdout == direct.stdout and direct.stdout


def test_oversized_configuration_is_refused_before_reading(tmp_path: Path, monkeypatch) -> None:
    from vmksim import fileio
    from vmksim.errors import InputError

    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * 1000)
    with pytest.raises(InputError, match="more than the 999-byte limit"):
        fileio.read_text_input(big, max_bytes=999)
    assert fileio.read_text_input(big, max_bytes=1000) == "#" * 1000


# --- outputs ------------------------------------------------------------------------------------


def _convert(out: str) -> subprocess.CompletedProcess[str]:
    return _cli("capture", "convert", str(CAPTURE), "--csv", out)


#: Every option that writes a file (issue 11 item 11), with {} for the output path.
WRITERS = [
    "run " + str(ROOT / "examples" / "limits.toml") + " -n 1 --no-progress --engine python --batch {}",
    "analyze " + str(CAPTURE) + " --report {}",
    "compare " + str(CAPTURE) + " " + str(CAPTURE) + " --report {}",
    "capture convert " + str(CAPTURE) + " --csv {}",
    "capture convert " + str(CAPTURE) + " --parquet {}",
    "top --replay " + str(CAPTURE) + " --batch -o {}",
    "top --export-entity {} " + str(ROOT / "examples" / "limits.toml"),
    "whatif " + str(CAPTURE) + " --duration 1 --engine python --write-scenario {}",
    "whatif " + str(CAPTURE) + " --duration 1 --engine python --report {}",
]


@pytest.mark.parametrize(
    "template", WRITERS, ids=[" ".join(w.split()[:1] + w.split()[-2:-1]) for w in WRITERS]
)
@pytest.mark.parametrize("case", ["missing folder", "folder", "link loop"])
def test_every_writer_refuses_a_bad_output_path(run_cli, tmp_path: Path, template: str, case: str) -> None:
    if case == "link loop":
        (tmp_path / "a").symlink_to(tmp_path / "b")
        (tmp_path / "b").symlink_to(tmp_path / "a")
    path, words = {
        "missing folder": (str(tmp_path / "no" / "out"), "does not exist"),
        "folder": (str(tmp_path), "is a folder"),
        "link loop": (str(tmp_path / "a"), "symbolic link loop"),
    }[case]
    before = sorted(p.name for p in tmp_path.iterdir())
    code, _, err = run_cli(*_argv(template, path))
    _one_clear_line(subprocess.CompletedProcess([], code, "", err), path, words)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing half-written left


def test_output_in_a_missing_folder(tmp_path: Path) -> None:
    out = str(tmp_path / "no" / "x.csv")
    _one_clear_line(_convert(out), out, "does not exist")


def test_output_that_is_a_folder(tmp_path: Path) -> None:
    _one_clear_line(_convert(str(tmp_path)), str(tmp_path), "is a folder")
    assert list(tmp_path.iterdir()) == []


def test_output_in_a_folder_nobody_may_write() -> None:
    # /sys refuses new files even to root, so this case runs on any Linux.
    if not os.path.isdir("/sys/kernel"):
        pytest.skip("needs Linux sysfs")
    _one_clear_line(_convert("/sys/kernel/vmksim-test.csv"), "/sys/kernel/vmksim-test.csv", "cannot write")


def test_output_in_a_read_only_folder(tmp_path: Path) -> None:
    prefix = tuple(_as_a_user())
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    out = str(folder / "x.csv")
    try:
        proc = _cli("capture", "convert", str(CAPTURE), "--csv", out, prefix=prefix)
        _one_clear_line(proc, out, "is not writable")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o700)


def test_read_only_output_file_is_not_replaced(tmp_path: Path) -> None:
    prefix = tuple(_as_a_user())
    out = tmp_path / "kept.csv"
    out.write_text("precious")
    out.chmod(0o444)
    proc = _cli("capture", "convert", str(CAPTURE), "--csv", str(out), prefix=prefix)
    _one_clear_line(proc, str(out), "read-only")
    assert out.read_text() == "precious" and sorted(p.name for p in tmp_path.iterdir()) == ["kept.csv"]


def test_output_symlink_loop(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    _one_clear_line(_convert(str(tmp_path / "a")), str(tmp_path / "a"), "symbolic link loop")


def test_output_symlink_keeps_the_link_and_replaces_the_target(tmp_path: Path) -> None:
    target = tmp_path / "real.csv"
    target.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    proc = _convert(str(link))
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text().startswith('"(PDH-CSV 4.0)')
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.csv", "real.csv"]


def test_output_to_a_character_device_writes_in_place() -> None:
    before = os.stat(os.devnull)
    proc = _convert(os.devnull)
    after = os.stat(os.devnull)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISCHR(after.st_mode) and (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)


def test_output_to_a_symlink_to_a_device_keeps_both(tmp_path: Path) -> None:
    link = tmp_path / "stdout-link"
    link.symlink_to(os.devnull)
    assert _convert(str(link)).returncode == 0
    assert link.is_symlink() and stat.S_ISCHR(os.stat(link).st_mode)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX only")
def test_output_to_a_fifo_streams_through_it(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    proc = _convert(str(fifo))
    reader.join(TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    regular = tmp_path / "regular.csv"
    assert _convert(str(regular)).returncode == 0
    assert received == [regular.read_bytes()]


def test_dash_is_standard_output_for_every_writer(tmp_path: Path) -> None:
    on_disk = tmp_path / "x.csv"
    assert _convert(str(on_disk)).returncode == 0
    proc = _convert("-")
    assert proc.returncode == 0 and proc.stdout.encode() == on_disk.read_bytes().replace(b"\r\n", b"\n")
    assert "standard output" in proc.stderr and not (tmp_path / "-").exists()
    top = _cli("top", "--replay", str(CAPTURE), "--batch", "-o", "-")
    assert top.returncode == 0 and top.stdout.startswith('"(PDH-CSV 4.0)')
    run = _cli("run", str(ROOT / "examples" / "nfv.toml"), "-n", "1", "--no-progress", "--batch", "-")
    # the CSV alone is on standard output; the per-VM table went to standard error
    assert run.returncode == 0 and run.stdout.startswith('"(PDH-CSV 4.0)') and "%RDY" in run.stderr


def test_two_outputs_cannot_share_standard_output() -> None:
    proc = _cli("capture", "convert", str(CAPTURE), "--csv", "-", "--parquet", "-")
    _one_clear_line(proc, "standard output", "only one output")


def test_sigterm_during_batch_run_leaves_no_partial_file(tmp_path: Path) -> None:
    out = tmp_path / "run.csv"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "VMKSIM_ENGINE": "python"}
    argv = [sys.executable, "-m", "vmksim", "run", str(ROOT / "examples" / "nfv.toml")]
    proc = subprocess.Popen(
        [*argv, "--duration", "36000", "--no-progress", "--batch", str(out)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Wait until the temporary file exists, then terminate as `timeout` would.
    deadline = TIMEOUT_S * 10
    for _ in range(deadline):
        if any(p.name.endswith(".part") for p in tmp_path.iterdir()):
            break
        try:
            proc.wait(0.1)
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"vmksim ended before it was terminated: {proc.stderr.read() if proc.stderr else ''}")
    proc.terminate()
    _, err = proc.communicate(timeout=TIMEOUT_S)
    assert proc.returncode == 143 and "terminated" in err
    assert list(tmp_path.iterdir()) == []


def test_dash_report_puts_the_html_on_stdout_and_the_text_on_stderr(run_cli, tmp_path: Path) -> None:
    from vmksim.analyze.synth import VmScript, write_scripted_capture
    from vmksim.topology import resolve_host

    capture = tmp_path / "c.csv"
    write_scripted_capture(capture, resolve_host("tiny-1x4"), [VmScript("vm-a", 1, ready=20)], samples=3)
    for argv in (["analyze", str(capture)], ["compare", str(capture), str(capture)]):
        code, out, err = run_cli(*argv, "--report", "-")
        assert code == 0, err
        assert out.startswith("<!DOCTYPE html>") and out.rstrip().endswith("</html>")
        assert "vm-a" in err and "report written" not in err + out[-200:]
    code, _, err = run_cli("analyze", str(capture), "--report", "-", "--json")
    assert code == 1 and "only one output" in err
