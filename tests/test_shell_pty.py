"""`vmksim shell` on a real pseudo-terminal: the prompt, typing, completion, history, Ctrl-C, exit.

The shell runs as a subprocess whose terminal is the slave side of a pty (what an SSH session
gives ash); the test types into the master side and reads what the terminal shows.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

pytest.importorskip("bashlex")
pytest.importorskip("prompt_toolkit")
pty = pytest.importorskip("pty")

SRC = Path(__file__).resolve().parents[1] / "src"
#: Longest wait for the terminal to show something (boot + interpreter start-up included).
WAIT_S = 60.0
#: Escape sequences prompt_toolkit writes (cursor moves, colours, mode switches), ignored when matching.
#: A cursor position request and a terminal's answer (row 1, column 1).
CPR_REQUEST, CPR_ANSWER = "\x1b[6n", b"\x1b[1;1R"
ANSI = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07]*\x07|[()][0-9A-Za-z]|[=>])")


class Terminal:
    def __init__(self, argv: list[str]) -> None:
        self.master, slave = pty.openpty()
        # a 40 x 120 terminal (a fresh pty is 0 x 0, which full-screen programs cannot draw in)
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        env = {**os.environ, "PYTHONPATH": str(SRC), "VMKSIM_ENGINE": "python", "TERM": "xterm"}
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
        os.close(slave)
        self.seen = ""

    def expect(self, pattern: str) -> str:
        """Read until the screen text (escapes removed) since the last match holds *pattern*.

        Answers the cursor position requests prompt_toolkit sends, as a real terminal does.
        """
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            m = re.search(pattern, self.seen)
            if m:
                self.seen = self.seen[m.end() :]
                return m.group(0)
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    raw = os.read(self.master, 65536).decode("utf-8", "replace")
                except OSError:
                    break
                if CPR_REQUEST in raw:
                    os.write(self.master, CPR_ANSWER)
                self.seen += ANSI.sub("", raw).replace("\r", "")
        raise AssertionError(f"never saw {pattern!r}; screen: {self.seen!r}")

    def type(self, keys: str) -> None:
        for ch in keys:  # one key at a time, as a person types (completion is asynchronous)
            os.write(self.master, ch.encode())
            time.sleep(0.02)

    def close(self) -> int:
        try:
            return self.proc.wait(timeout=WAIT_S)
        finally:
            os.close(self.master)


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "lab.toml"
    path.write_text(
        '[host]\nname = "esx-pty"\nsockets = 1\ncores_per_socket = 2\nmemory_gb = 4\n'
        '[[vm]]\nname = "vm1"\nvcpus = 1\nmemory_gb = 1\n[vm.workload]\nkind = "constant"\ndemand_pct = 20\n'
    )
    return path


def test_interactive_session_on_a_pty(scenario: Path) -> None:
    term = Terminal([sys.executable, "-m", "vmksim", "shell", "--paused", str(scenario)])
    try:
        term.expect(r"\[root@esx-pty:~\]")
        term.type("esxcli vm process list | grep -c Worl\r")
        term.expect(r"\n1\n")
        term.expect(r"\[root@esx-pty:~\]")
        term.type("cd /vmfs/volumes\r")
        term.expect(r"\[root@esx-pty:/vmfs/volumes\]")
        term.type("ech\t")  # Tab completes the command
        term.expect(r"echo")
        term.type(" completed\r")
        term.expect(r"\ncompleted\n")
        term.expect(r"\[root@esx-pty:/vmfs/volumes\]")
        term.type("half a line\x03")  # Ctrl-C abandons the line
        term.expect(r"\[root@esx-pty:/vmfs/volumes\]")
        term.type("\x1b[A\r")  # Up arrow: history
        term.expect(r"\ncompleted\n")
        term.type("exit 4\r")
        assert term.close() == 4
    finally:
        if term.proc.poll() is None:
            term.proc.kill()


def test_esxtop_screen_runs_inside_the_shell_and_returns_to_the_prompt(scenario: Path) -> None:
    pytest.importorskip("textual")
    term = Terminal([sys.executable, "-m", "vmksim", "shell", "--paused", str(scenario)])
    try:
        term.expect(r"\[root@esx-pty:~\]")
        term.type("esxtop -d 2\r")
        term.expect(r"PCPU USED\(%\)")  # esxtop's CPU screen header
        term.expect(r"vm1")  # the VM's group row
        term.type("q")
        term.expect(r"\[root@esx-pty:~\]")
        term.type("esxcli system stats uptime get\r")
        # paused host: the screen moved the clock by -d per sample (at least the two it read first)
        uptime = int(term.expect(r"\n\d+\n").strip())
        assert uptime >= 4_000_000 and uptime % 2_000_000 == 0
        term.type("exit\r")
        assert term.close() == 0
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
