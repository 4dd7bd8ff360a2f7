"""Running the shell: one command line (``-c``), a script, or the interactive prompt.

ESXi counterpart: logging in to a host over SSH (``[root@HOST:~]`` prompt, ash's line editing and
history). The interactive prompt uses prompt_toolkit (line editing, in-memory history, tab
completion of commands, esxcli namespaces/commands/options and vim-cmd commands); it is the
optional ``shell`` extra, with bashlex, the parser of the script syntax.
"""

from __future__ import annotations

import sys
from typing import Any

from vmksim.shell.applets import APPLETS
from vmksim.shell.esxcli import COMMANDS, NAMESPACES
from vmksim.shell.interp import BUILTINS, TOOLS, Io, Shell, ShellExit
from vmksim.shell.vimcmd import COMMANDS as VIM_COMMANDS

__all__ = ["completion_tree", "interact", "run_source"]

#: ash's exit status after Ctrl-C interrupted a command (128 + SIGINT).
INTERRUPTED = 130


def run_source(shell: Shell, source: str, io: Io | None = None) -> int:
    """Run *source* (a ``-c`` line or a script) to its end or to ``exit``; returns the status."""
    io = io or Io(sys.stdout.write, sys.stderr.write)
    try:
        return shell.run(source, io)
    except ShellExit as done:
        return done.code


def completion_tree() -> dict[str, Any]:
    """Nested words for tab completion: every command, esxcli's tree and options, vim-cmd's commands."""
    esx: dict[str, Any] = {"--formatter=": None, "--format-param=": None, "--help": None}
    for ns in NAMESPACES:
        node = esx
        for word in ns.split("."):
            node = node.setdefault(word, {})
    for cmd in COMMANDS:
        node = esx
        for word in cmd.namespace.split("."):
            node = node[word]
        node[cmd.name] = {
            alias: None for p in cmd.params for alias in p.aliases if alias.startswith("--")
        } or None
    tree: dict[str, Any] = {name: None for name in (*BUILTINS, *APPLETS, *TOOLS)}
    tree["esxcli"] = esx
    tree["localcli"] = esx
    tree["vim-cmd"] = {name: None for name in VIM_COMMANDS}
    tree["sched-stats"] = {"-t": None}
    tree["vsish"] = {"-e": {"get": None, "ls": None}}
    return tree


def interact(shell: Shell, *, input: Any = None, output: Any = None) -> int:
    """The interactive prompt until ``exit`` or Ctrl-D; Ctrl-C abandons the line or the command."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.completion import NestedCompleter
    from prompt_toolkit.history import InMemoryHistory

    shell.terminal = sys.stdin.isatty() and sys.stdout.isatty()
    session: PromptSession[str] = PromptSession(
        history=InMemoryHistory(),
        completer=NestedCompleter.from_nested_dict(completion_tree()),
        input=input,
        output=output,
    )
    while True:
        try:
            line = session.prompt(shell.prompt)
        except KeyboardInterrupt:
            continue
        except EOFError:
            return shell.status
        try:
            shell.run(line, Io(sys.stdout.write, sys.stderr.write))
        except ShellExit as done:
            return done.code
        except KeyboardInterrupt:
            shell.status = INTERRUPTED
            sys.stdout.write("\n")
        sys.stdout.flush()
