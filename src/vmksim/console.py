"""The console every command prints through (rich), sized for terminals and pipes alike."""

from __future__ import annotations

import os
import re
import sys
from typing import Any

from rich.console import Console
from rich.text import Text

__all__ = [
    "PIPE_WIDTH",
    "OutputConsole",
    "ProgressObserver",
    "escape_controls",
    "make_console",
    "pipe_width",
    "progress_bar",
    "user_text",
]

#: Width of tables written to a pipe or file when COLUMNS is not set (rich would use 80 and
#: squeeze columns). COLUMNS, the POSIX variable for the output's width, wins when set.
PIPE_WIDTH = 160


class OutputConsole(Console):
    """rich's Console for command output, with two changes for pipes.

    - No trailing blanks in a pipe or file: rich pads every line to the console width, which a
      terminal hides but `grep`, `diff` and editors show.
    - A reader that went away (``| head``) raises BrokenPipeError for the CLI's one handler
      (cli.main, docs.python.org "Note on SIGPIPE"); rich's own handler would exit 1.
    """

    def _render_buffer(self, buffer: Any) -> str:
        text: str = super()._render_buffer(buffer)
        if self.is_terminal:
            return text
        # Line by line: linear in the text (a regex for "blanks before a newline" backtracks over
        # every long run of blanks inside a line, quadratic on a hostile name).
        return "\n".join(line.rstrip(" \t") for line in text.split("\n"))

    def on_broken_pipe(self) -> None:
        raise BrokenPipeError


def pipe_width() -> int | None:
    """COLUMNS when set to a positive whole number, else None."""
    raw = os.environ.get("COLUMNS", "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else None


def make_console(**kwargs: object) -> Console:
    """A console for command output: the terminal's width; in a pipe, COLUMNS or PIPE_WIDTH."""
    probe = OutputConsole(**kwargs)  # type: ignore[arg-type]
    if probe.is_terminal:
        return probe
    return OutputConsole(width=pipe_width() or PIPE_WIDTH, **kwargs)  # type: ignore[arg-type]


#: Characters that must not reach a terminal raw from names read out of files (issue 11 item 18):
#: C0 and C1 controls and DEL (escape sequences, a newline that forges an extra line), the Unicode
#: line and paragraph separators, and the bidirectional overrides/isolates that reorder what is shown
#: (Unicode TR#36 §2.3 "Bidirectional Text Spoofing", https://www.unicode.org/reports/tr36/).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
#: The short C escapes people know; every other unsafe character is shown as \xNN or \uNNNN.
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\e"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _SHORT_ESCAPES.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def escape_controls(value: object) -> str:
    """*value* as text with every control character visible as an escape (``\\n``, ``\\e``, ``\\x00``)."""
    return _UNSAFE.sub(_escape, str(value))


def user_text(value: object, style: str = "") -> Text:
    """User data (a name read from a file) for rich: controls escaped, never markup, never highlighted.

    Printing a plain ``str`` lets rich interpret ``[bold]`` in it as markup and run its regex
    highlighter over it, which is quadratic in the length (a 20,000-character displayName took
    6 s in `vmksim plan`, issue 11 item 15); a :class:`rich.text.Text` is printed as it is.
    """
    return Text(escape_controls(value), style=style)


def progress_bar(total: int, label: str = "simulating") -> tuple[Any, Any] | None:
    """A transient progress bar on stderr, started: (Progress, task id); None when stderr is no terminal."""
    if not sys.stderr.isatty():
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    bar.start()
    return bar, bar.add_task(label, total=total)


class ProgressObserver:
    """A progress bar as an observer of the simulation driver (vmksim.kernel.simulate.SimObserver).

    The CLI and the demo pass one in; the kernel itself never draws. Nothing is shown when stderr
    is not a terminal or the run is open-ended (no total).
    """

    def __init__(self, label: str = "simulating") -> None:
        self.label = label
        self._bar: tuple[Any, Any] | None = None

    def started(self, source: object, total: int | None) -> None:
        self._bar = progress_bar(total, self.label) if total else None

    def stepped(self, source: object, index: int) -> None:
        if self._bar is not None:
            self._bar[0].update(self._bar[1], advance=1)

    def finished(self, source: object) -> None:
        """Nothing to do: the bar is removed in closed()."""

    def closed(self) -> None:
        if self._bar is not None:
            self._bar[0].stop()
            self._bar = None
