"""Run one fuzz case through the real CLI entry point in a forked child with time and memory caps.

The parent has imported vmksim once; each case forks (cheap: the child shares the
imported modules copy-on-write), sets its limits, points stdin/stdout/stderr at
files, calls :func:`vmksim.cli.main` with the case's arguments in a fresh work
folder and leaves with the exit code. An exception escaping ``main`` is printed
as a traceback and gives :data:`EXIT_TRACEBACK`. The parent then judges the
case (:func:`judge`): a documented exit code, no traceback, within the caps, and
no file left behind but the expected output of a successful run.
"""

from __future__ import annotations

import io
import os
import resource
import select
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Case", "Outcome", "judge", "run_cases"]

DOCUMENTED_EXITS = frozenset({0, 1, 3, 4})
"""0 success, 1 bad input (errors.py), 3/4 `elf check` verdicts (cli/elf.py)."""
EXIT_TRACEBACK = 70
"""What the child exits with when an exception escaped main (EX_SOFTWARE of sysexits.h)."""
CASE_SECONDS = int(os.environ.get("VMKSIM_FUZZ_SECONDS", "5"))
"""CPU-time cap per case (RLIMIT_CPU): far above what a passing case takes (milliseconds), so a
case that reaches it loops or is super-linear, on a loaded machine as on a quiet one."""
WALL_FACTOR = 3
"""Wall-clock cap = WALL_FACTOR x CASE_SECONDS (an alarm): what ends a case blocked without
using CPU (a FIFO with no writer), with room for a machine shared by other jobs."""
BLOCKED_CPU_SHARE = 0.1
"""A case stopped by the wall clock that used less CPU than this share of it was blocked, not slow."""
CASE_MEMORY = int(os.environ.get("VMKSIM_FUZZ_MEMORY_MB", "768")) << 20
"""Address space a case may add to what the parent has mapped (RLIMIT_AS)."""
CASE_FILE_SIZE = 1 << 30
"""Largest file a case may write (RLIMIT_FSIZE): outputs of the small inputs are far smaller."""
SPECIALS = ("directory", "fifo", "dev-zero", "symlink-loop", "empty", "missing", "symlink")
"""What an input path can be instead of a regular file (issue 11, "Special files")."""


@dataclass
class Case:
    """One run of the CLI: *argv* names files of *files* relative to the case's work folder."""

    parser: str
    index: int
    argv: list[str]
    files: dict[str, bytes | str] = field(default_factory=dict)
    """name -> contents, or one of SPECIALS (a symlink to the first regular file for "symlink")."""
    outputs: frozenset[str] = frozenset()
    """Files a successful run may create in the work folder."""
    image: tuple[int, list[tuple[int, bytes]]] | None = None
    """A sparse image written as "image.img": (size, [(offset, bytes)])."""


@dataclass
class Outcome:
    code: int | None
    """Exit code; None when the child was killed by a signal."""
    signal: int | None
    stderr: str
    seconds: float
    created: list[str]
    cpu: float = 0.0
    """CPU seconds the child used (user + system), what a quiet machine's wall time would be."""


def _address_space() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")


def _lay_out(case: Case, work: Path) -> None:
    regular = None
    for name, content in case.files.items():
        path = work / name
        if isinstance(content, bytes):
            path.write_bytes(content)
            regular = regular or path
    if case.image is not None:
        size, chunks = case.image
        with open(work / "image.img", "wb") as fh:
            fh.truncate(size)
            for offset, raw in chunks:
                if offset < size:
                    fh.seek(offset)
                    fh.write(raw[: size - offset])
    for name, content in case.files.items():
        path = work / name
        if content == "directory":
            path.mkdir()
        elif content == "fifo":
            os.mkfifo(path)
        elif content == "dev-zero":
            path.symlink_to("/dev/zero")
        elif content == "symlink-loop":
            path.symlink_to(name)
        elif content == "empty":
            path.write_bytes(b"")
        elif content == "symlink":
            path.symlink_to(regular or "/dev/null")


Entry = Callable[[list[str]], int]


def _cli_main(argv: list[str]) -> int:
    from vmksim.cli import main

    return main(argv)


def _child(case: Case, work: Path, err_path: Path, memory: int, entry: Entry) -> None:
    """In the forked child: never returns."""
    code = EXIT_TRACEBACK
    try:
        os.chdir(work)
        for fd, target, flags in ((0, os.devnull, os.O_RDONLY), (1, os.devnull, os.O_WRONLY)):
            os.dup2(os.open(target, flags), fd)
        os.dup2(os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 2)
        # what a real process gets: stdout strict UTF-8, stderr backslash-replacing (PEP 538/540)
        sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding="utf-8")
        sys.stdout = io.TextIOWrapper(io.BufferedWriter(io.FileIO(1, "w", closefd=False)), encoding="utf-8")
        sys.stderr = io.TextIOWrapper(
            io.BufferedWriter(io.FileIO(2, "w", closefd=False)),
            encoding="utf-8",
            errors="backslashreplace",
            line_buffering=True,
        )
        os.environ.update({"VMKSIM_ENGINE": "python", "COLUMNS": "120", "TERM": "dumb"})
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (CASE_FILE_SIZE, CASE_FILE_SIZE))
        resource.setrlimit(resource.RLIMIT_CPU, (CASE_SECONDS, CASE_SECONDS + 1))
        signal.alarm(WALL_FACTOR * CASE_SECONDS)
        try:
            code = entry(case.argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = EXIT_TRACEBACK
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        try:
            traceback.print_exc()
            sys.stderr.flush()
        finally:
            os._exit(EXIT_TRACEBACK)
    os._exit(code)


def _listing(work: Path) -> set[str]:
    return {str(p.relative_to(work)) for p in work.rglob("*")} | {
        str(p.relative_to(work)) for p in work.rglob(".*")
    }


@dataclass
class _Running:
    case: Case
    pid: int
    pidfd: int
    work: Path
    err: Path
    before: set[str]
    start: float


def _start(case: Case, root: Path, memory: int, entry: Entry) -> _Running:
    work = root / f"{case.parser}-{case.index}"
    work.mkdir(parents=True)
    _lay_out(case, work)
    before = _listing(work)
    err = root / f"{case.parser}-{case.index}.err"
    sys.stdout.flush()
    sys.stderr.flush()
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        _child(case, work, err, memory, entry)
    return _Running(case, pid, os.pidfd_open(pid), work, err, before, start)


def _finish(run: _Running, status: int, cpu: float) -> Outcome:
    seconds = time.perf_counter() - run.start
    os.close(run.pidfd)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    stderr = run.err.read_text(errors="replace") if run.err.exists() else ""
    created = sorted(_listing(run.work) - run.before)
    shutil.rmtree(run.work, ignore_errors=True)
    run.err.unlink(missing_ok=True)
    return Outcome(code, sig, stderr, seconds, created, cpu)


def run_cases(
    cases: Iterable[Case], root: Path, jobs: int = 2, entry: Entry = _cli_main
) -> Iterator[tuple[Case, Outcome]]:
    """Run *cases* at most *jobs* at a time; yield each with its outcome, in completion order.

    *entry* is the CLI's main; the harness's own tests give it stand-ins that misbehave.
    """
    memory = _address_space() + CASE_MEMORY
    pending = iter(cases)
    running: dict[int, _Running] = {}
    exhausted = False
    while True:
        while not exhausted and len(running) < jobs:
            case = next(pending, None)
            if case is None:
                exhausted = True
                break
            run = _start(case, root, memory, entry)
            running[run.pidfd] = run
        if not running:
            return
        ready, _, _ = select.select(list(running), [], [], 1.0)
        for pidfd in ready:
            run = running.pop(pidfd)
            _pid, status, usage = os.wait4(run.pid, 0)
            yield run.case, _finish(run, status, usage.ru_utime + usage.ru_stime)
        now = time.perf_counter()
        for run in running.values():
            if now - run.start > WALL_FACTOR * CASE_SECONDS + 5:  # the child's own alarm did not end it
                os.kill(run.pid, signal.SIGKILL)


def judge(case: Case, out: Outcome) -> str | None:
    """None if the case passed, else what went wrong (one line)."""
    if out.signal is not None:
        name = signal.Signals(out.signal).name
        what = {
            "SIGALRM": f"wall-clock cap ({out.cpu:.1f} CPU s used: "
            f"{'slow' if out.cpu > BLOCKED_CPU_SHARE * out.seconds else 'blocked'})",
            "SIGXCPU": f"CPU time cap ({CASE_SECONDS} s)",
            "SIGKILL": "hang (killed)",
        }.get(name, name)
        return f"{what} after {out.seconds:.1f} s"
    if "Traceback (most recent call last)" in out.stderr:
        last = [ln for ln in out.stderr.strip().splitlines() if ln.strip()][-1]
        return f"traceback: {last[:160]}"
    if out.code not in DOCUMENTED_EXITS:
        return f"exit code {out.code}: {out.stderr.strip()[:160]!r}"
    stray = [p for p in out.created if out.code != 0 or p not in case.outputs]
    if stray:
        return f"exit {out.code} left {stray}"
    return None
