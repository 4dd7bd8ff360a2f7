"""The console every command prints through (rich), sized for terminals and pipes alike."""

from __future__ import annotations

from rich.console import Console

__all__ = ["PIPE_WIDTH", "make_console"]

#: Width of tables written to a pipe or file (rich would use 80 and squeeze columns).
PIPE_WIDTH = 160


def make_console(**kwargs: object) -> Console:
    """A console for command output: the terminal's width, or PIPE_WIDTH when not a terminal."""
    probe = Console(**kwargs)  # type: ignore[arg-type]
    if probe.is_terminal:
        return probe
    return Console(width=PIPE_WIDTH, **kwargs)  # type: ignore[arg-type]
