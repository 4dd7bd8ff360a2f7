"""The console every command prints through (rich), sized for terminals and pipes alike."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console

__all__ = ["PIPE_WIDTH", "make_console", "progress_bar"]

#: Width of tables written to a pipe or file (rich would use 80 and squeeze columns).
PIPE_WIDTH = 160


def make_console(**kwargs: object) -> Console:
    """A console for command output: the terminal's width, or PIPE_WIDTH when not a terminal."""
    probe = Console(**kwargs)  # type: ignore[arg-type]
    if probe.is_terminal:
        return probe
    return Console(width=PIPE_WIDTH, **kwargs)  # type: ignore[arg-type]


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
