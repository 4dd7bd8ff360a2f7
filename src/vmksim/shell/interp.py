"""The ESXi shell's interpreter: BusyBox ``ash`` syntax, parsed by bashlex, run over the simulated host.

ESXi counterpart: BusyBox ``ash`` as ESXi's login shell (vmfs-shell-elf-api.md §2.1). Scripts are
parsed by `bashlex <https://github.com/idank/bashlex>`_ (a port of bash's own grammar; ash's
syntax is a subset of it) into an AST this module walks: lists with ``;``, ``&&``, ``||``;
pipelines; ``if``/``elif``/``else``; ``for``; ``while``/``until``; ``{ ...; }``; assignments;
``$VAR``, ``${VAR}``, ``${VAR:-default}``, ``$?``, ``$(...)`` and backquotes; quoting; ``>``,
``>>``, ``<``, ``2>&1`` and ``2>/dev/null`` redirections into the shell's own file system.

Functions (``name() { ...; }``) with ``$1``..., ``$#``, ``$@``, ``return`` and ``shift``.
Commands are the BusyBox applets of :mod:`vmksim.shell.applets`, the builtins here (cd, pwd,
exit, export, return, shift, sleep, true, false, test/[, :, ``sh FILE``; ``./FILE`` runs a script
of the shell's file system), and the ESXi tools (esxcli, localcli, vim-cmd,
sched-stats, vsish, esxtop -b, vmware, uname). Anything else is ``-sh: NAME: not found`` with status 127,
as ash says it.

Simplifications: pipeline stages run one after the other on text (no concurrency, so an endless
producer would not end); no globbing, arrays or background jobs; bashlex 0.18 cannot build
arithmetic ``$((...))``, ``case`` or ``[[ ]]``, so those say "not supported" / syntax error.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import bashlex
import bashlex.errors

from vmksim.numa.plan import parse_esxi_version
from vmksim.shell import applets
from vmksim.shell.applets import Result
from vmksim.shell.esxcli import esxcli
from vmksim.shell.host import ShellHost
from vmksim.shell.tools import esxtop, esxtop_screen, sched_stats, uname, vmware, vsish
from vmksim.shell.vfs import VfsError, VirtualFs, host_files
from vmksim.shell.vimcmd import vim_cmd

__all__ = ["BUILTINS", "TOOLS", "Shell", "ShellExit"]

#: ash's status for a command that is not found / a syntax error.
NOT_FOUND, SYNTAX, NOT_PERMITTED = 127, 2, 126
#: Deepest function recursion the interpreter runs (ash has no limit but the C stack; Python's
#: recursion limit would end the session instead of the command).
MAX_FUNCTION_DEPTH = 64
IFS = " \t\n"


class ShellExit(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class _ExpansionError(Exception):
    """``${x?message}`` on an unset variable: the command is not run (ash: status 2)."""


class _Return(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@dataclass(slots=True)
class Io:
    """Where a command's output goes: two text sinks."""

    out: Callable[[str], Any]
    err: Callable[[str], Any]


@dataclass(slots=True)
class _Buf:
    parts: list[str] = field(default_factory=list)

    def write(self, text: str) -> None:
        self.parts.append(text)

    def text(self) -> str:
        return "".join(self.parts)


Tool = Callable[[ShellHost, list[str]], tuple[int, str]]
TOOLS: dict[str, Tool] = {
    "esxcli": esxcli,
    "localcli": esxcli,
    "vim-cmd": vim_cmd,
    "sched-stats": sched_stats,
    "vsish": vsish,
    "vmware": vmware,
    "uname": uname,
    "esxtop": esxtop,
}


class Shell:
    """One shell session on *host* (variables, working directory, last status, file system)."""

    def __init__(self, host: ShellHost, fs: VirtualFs | None = None) -> None:
        self.host = host
        self.fs = fs or host_files(host)
        self.cwd = "/"
        self.status = 0
        self.vars: dict[str, str] = {"HOME": "/", "PWD": "/", "HOSTNAME": host.hostname, "SHELL": "/bin/sh"}
        self.args: list[str] = []  # positional parameters $1...
        self.functions: dict[str, tuple[Any, str]] = {}  # name -> (body node, its source text)
        self._depth = 0  # function calls in progress
        self.terminal = False  # an interactive session on a terminal: full-screen esxtop can run
        self._src = ""

    # --- entry points --------------------------------------------------------------------------
    @property
    def prompt(self) -> str:
        """``[root@HOST:~]`` at home, ``[root@HOST:/path]`` elsewhere (ESXi's PS1)."""
        where = "~" if self.cwd == self.vars.get("HOME", "/") else self.cwd
        return f"[root@{self.host.hostname}:{where}] "

    def run(self, source: str, io: Io) -> int:
        """Run *source* (one line or a whole script); returns the last status. ``exit`` raises ShellExit."""
        if not source.strip():
            return self.status
        try:
            trees = bashlex.parse(source)
        except NotImplementedError as exc:  # bashlex knows the construct but cannot build it
            io.err(f"-sh: not supported by vmksim's shell yet: {exc}\n")
            self.status = SYNTAX
            return SYNTAX
        except bashlex.errors.ParsingError as exc:
            io.err(f"-sh: syntax error: {exc.message}\n")
            self.status = SYNTAX
            return SYNTAX
        except Exception:  # bashlex 0.18 itself crashes on some bad input (e.g. "` `")
            io.err("-sh: syntax error\n")
            self.status = SYNTAX
            return SYNTAX
        saved, self._src = self._src, source
        try:
            for tree in trees:
                self.status = self._exec(tree, "", io)
        finally:
            self._src = saved
        return self.status

    # --- nodes ---------------------------------------------------------------------------------
    def _exec(self, node: Any, stdin: str, io: Io) -> int:
        handler = getattr(self, f"_n_{node.kind}", None)
        if handler is None:
            io.err(f"-sh: {node.kind}: not supported by vmksim's shell yet\n")
            return SYNTAX
        status: int = handler(node, stdin, io)
        self.status = status
        return status

    def _n_list(self, node: Any, stdin: str, io: Io) -> int:
        status, skip = self.status, False
        for part in node.parts:
            if part.kind == "operator":
                if part.op == "&&":
                    skip = status != 0
                elif part.op == "||":
                    skip = status == 0
                else:
                    skip = False
                continue
            if not skip:
                status = self._exec(part, stdin, io)
        return status

    def _n_pipeline(self, node: Any, stdin: str, io: Io) -> int:
        stages = [p for p in node.parts if p.kind not in ("pipe", "reservedword")]
        negate = any(p.kind == "reservedword" and p.word == "!" for p in node.parts)
        text, status = stdin, 0
        for i, stage in enumerate(stages):
            if i == len(stages) - 1:
                status = self._exec(stage, text, io)
            else:
                buf = _Buf()
                status = self._exec(stage, text, Io(buf.write, io.err))
                text = buf.text()
        return int(status == 0) if negate else status

    def _n_compound(self, node: Any, stdin: str, io: Io) -> int:
        io = self._redirected(getattr(node, "redirects", []), io) or io
        status = self.status
        for part in node.list:
            if part.kind not in ("reservedword", "operator"):
                status = self._exec(part, stdin, io)
        return status

    def _n_if(self, node: Any, stdin: str, io: Io) -> int:
        parts = node.parts
        i = 0
        while i < len(parts):
            word = parts[i].word if parts[i].kind == "reservedword" else ""
            if word in ("if", "elif"):
                cond, body = parts[i + 1], parts[i + 3]
                if self._exec(cond, stdin, io) == 0:
                    return self._exec(body, stdin, io)
                i += 4
            elif word == "else":
                return self._exec(parts[i + 1], stdin, io)
            else:
                i += 1
        return 0

    def _n_for(self, node: Any, stdin: str, io: Io) -> int:
        parts = node.parts
        name = parts[1].word
        words = []
        if len(parts) > 2 and parts[2].kind == "reservedword" and parts[2].word == "in":
            for p in parts[3:]:
                if p.kind != "word":
                    break
                words += self._expand(p)
        body = next(p for p in reversed(parts) if p.kind not in ("reservedword",))
        status = 0
        for value in words:
            self.vars[name] = value
            status = self._exec(body, stdin, io)
        return status

    def _loop(self, node: Any, stdin: str, io: Io, until: bool) -> int:
        cond, body = node.parts[1], node.parts[3]
        status = 0
        while (self._exec(cond, stdin, io) == 0) != until:
            status = self._exec(body, stdin, io)
        return status

    def _n_while(self, node: Any, stdin: str, io: Io) -> int:
        return self._loop(node, stdin, io, until=False)

    def _n_until(self, node: Any, stdin: str, io: Io) -> int:
        return self._loop(node, stdin, io, until=True)

    def _n_function(self, node: Any, stdin: str, io: Io) -> int:
        self.functions[node.name.word] = (node.body, self._src)
        return 0

    def _run_function(self, name: str, args: list[str], stdin: str, io: Io) -> int:
        """A shell function: its body with $1... set to *args*; ``return N`` ends it."""
        if self._depth >= MAX_FUNCTION_DEPTH:
            io.err(f"-sh: {name}: function nesting deeper than {MAX_FUNCTION_DEPTH}\n")
            return SYNTAX
        body, src = self.functions[name]
        saved = self.args, self._src
        self.args, self._src = args, src
        self._depth += 1
        try:
            return self._exec(body, stdin, io)
        except _Return as ret:
            return ret.code
        finally:
            self.args, self._src = saved
            self._depth -= 1

    def _n_command(self, node: Any, stdin: str, io: Io) -> int:
        try:
            return self._command(node, stdin, io)
        except _ExpansionError as exc:
            io.err(f"-sh: {exc}\n")
            return SYNTAX

    def _command(self, node: Any, stdin: str, io: Io) -> int:
        argv: list[str] = []
        assigns: list[tuple[str, str]] = []
        redirects = []
        for p in node.parts:
            if p.kind == "assignment" and not argv:
                name, _, value = self._expand_text(p, split=False).partition("=")
                assigns.append((name, value))
            elif p.kind == "redirect":
                redirects.append(p)
            else:
                argv += self._expand(p)
        if not argv:
            self.vars.update(assigns)
            return 0
        target = self._redirected(redirects, io)
        if target is None:
            return 1
        if redirects and any(r.type == "<" for r in redirects):
            stdin = self._stdin_of(redirects, io)
        return self._call(argv, stdin, target)

    # --- redirection ---------------------------------------------------------------------------
    def _redirected(self, redirects: list[Any], io: Io) -> Io | None:
        out, err = io.out, io.err
        for r in redirects:
            fd = r.input if isinstance(r.input, int) else (0 if r.type == "<" else 1)
            if r.type == "<":
                continue
            if r.type == ">&" and isinstance(r.output, int):
                sink = out if r.output == 1 else err
            else:
                path = self.fs.resolve(self.cwd, self._expand_text(r.output, split=False))
                opened = self._file_sink(path, append=r.type == ">>", err=io.err)
                if opened is None:
                    return None
                sink = opened
            if fd == 2:
                err = sink
            elif fd == 1:
                out = sink  # other descriptors are created (the file exists) but nothing writes to them
        return Io(out, err)

    def _file_sink(
        self, path: str, *, append: bool, err: Callable[[str], Any]
    ) -> Callable[[str], Any] | None:
        if path == "/dev/null":
            return lambda text: None
        try:
            self.fs.write(path, "", append=bool(append))
        except VfsError as exc:
            err(f"-sh: can't create {path}: {exc}\n")
            return None
        return lambda text: self.fs.write(path, text, append=True)

    def _stdin_of(self, redirects: list[Any], io: Io) -> str:
        r = next(r for r in redirects if r.type == "<")
        path = self.fs.resolve(self.cwd, self._expand_text(r.output, split=False))
        try:
            return self.fs.read(path)
        except VfsError as exc:
            io.err(f"-sh: can't open {path}: {exc}\n")
            return ""

    # --- commands ------------------------------------------------------------------------------
    def _call(self, argv: list[str], stdin: str, io: Io) -> int:
        name, args = argv[0], argv[1:]
        if name in self.functions:
            return self._run_function(name, args, stdin, io)
        if "/" in name:
            return self.run_file(name, args, io, as_program=True)
        builtin = BUILTINS.get(name)
        if builtin is not None:
            result = builtin(self, args, stdin)
        elif name in applets.APPLETS:
            result = applets.APPLETS[name](self, args, stdin)
        elif name == "esxtop" and self.terminal and "-b" not in args:
            status, text = esxtop_screen(self.host, args)
            result = Result(status, text) if status == 0 else Result(status, err=text)
        elif name in TOOLS:
            status, text = TOOLS[name](self.host, args)
            result = Result(status, text) if status == 0 else Result(status, err=text)
        else:
            result = Result(NOT_FOUND, err=f"-sh: {name}: not found\n")
        if result.out:
            io.out(result.out)
        if result.err:
            io.err(result.err)
        return result.status

    def run_file(self, path: str, args: list[str], io: Io, *, as_program: bool = False) -> int:
        """Run a script of the shell's file system (``sh FILE``, ``./FILE``) with $1... = *args*.

        ESXi 8 runs a script as a program only when it starts with ``#!`` (otherwise
        execInstalledOnly refuses it: "-sh: x.sh: Operation not permitted", vmfs-shell-elf-api.md
        §2.1); ``sh FILE`` works on every release.
        """
        full = self.fs.resolve(self.cwd, path)
        try:
            text = self.fs.read(full)
        except VfsError:
            io.err(f"-sh: {path}: not found\n")
            return NOT_FOUND
        if (
            as_program
            and parse_esxi_version(self.host.scenario.esxi).at_least(8, 0)
            and not text.startswith("#!")
        ):
            io.err(f"-sh: {path}: Operation not permitted\n")
            return NOT_PERMITTED
        return self.run_with_args(text, args, io)

    def run_with_args(self, text: str, args: list[str], io: Io) -> int:
        """Run *text* as a child script (``sh FILE``, ``sh -c``): $1... = *args*; ``exit`` ends it only."""
        saved = self.args
        self.args = args
        try:
            return self.run(text, io)
        except ShellExit as done:
            return done.code
        finally:
            self.args = saved

    # --- expansion -----------------------------------------------------------------------------
    def _expand(self, word: Any) -> list[str]:
        return self._fields(word, split=True)

    def _expand_text(self, word: Any, *, split: bool) -> str:
        return " ".join(self._fields(word, split=split))

    def _fields(self, word: Any, *, split: bool) -> list[str]:
        """Quote removal, parameter and command substitution, then field splitting of unquoted results."""
        start, end = word.pos
        raw = self._src[start:end]
        parts = sorted(getattr(word, "parts", []) or [], key=lambda p: p.pos[0])
        chars: list[tuple[str, bool]] = []  # (char, may split here)
        quoted = False  # the word had quotes: an empty result is still one field
        state, i = "", 0
        while i < len(raw):
            at = start + i
            part = next((p for p in parts if p.pos[0] == at), None)
            if part is not None and state != "'":
                value = self._substitute(part)
                chars += [(ch, split and state == "") for ch in value]
                i = part.pos[1] - start
                continue
            ch = raw[i]
            if state == "'":
                state = "" if ch == "'" else state
                if ch != "'":
                    chars.append((ch, False))
            elif ch in "'\"" and (state == "" or (state == '"' and ch == '"')):
                quoted = True
                state = ch if state == "" else ""
            elif ch == "\\" and i + 1 < len(raw) and (state == "" or raw[i + 1] in '"\\$`'):
                chars.append((raw[i + 1], False))
                i += 1
            else:
                chars.append((ch, False))
            i += 1
        return _split(chars, quoted)

    def _substitute(self, part: Any) -> str:
        if part.kind == "parameter":
            return self._parameter(part.value)
        if part.kind == "commandsubstitution":
            buf = _Buf()
            self._exec(part.command, "", Io(buf.write, lambda t: None))
            return buf.text().rstrip("\n")
        if part.kind == "tilde":
            return self.vars.get("HOME", "/") + part.value[1:]
        return ""

    def _parameter(self, expr: str) -> str:
        # "$@" is joined like "$*" (one field when quoted): a simplification.
        special = {"?": str(self.status), "$": "1", "#": str(len(self.args)), "0": "-sh",
                   "@": " ".join(self.args), "*": " ".join(self.args)}  # fmt: skip
        if expr in special:
            return special[expr]
        if expr.isdigit():
            n = int(expr)
            return self.args[n - 1] if 0 < n <= len(self.args) else ""
        if expr.startswith("#"):
            return str(len(self._parameter(expr[1:])))
        m = re.fullmatch(r"(\w+)(:?[-=+?]|##?|%%?)(.*)", expr, re.DOTALL)
        if m is None:
            return self.vars.get(expr, "")
        name, op, word = m.groups()
        value = self.vars.get(name)
        if op[0] in "#%":
            return _trim(value or "", op, word)
        unset = value is None or (op.startswith(":") and value == "")
        if op.endswith("+"):
            return "" if unset else word
        if unset and op.endswith("?"):
            raise _ExpansionError(f"{name}: {word or 'parameter not set'}")
        if unset and op.endswith("="):
            self.vars[name] = word
        return word if unset else str(value)


def _trim(value: str, op: str, pattern: str) -> str:
    """``${v#p}`` / ``${v##p}`` remove the shortest / longest prefix matching the glob *p*,
    ``${v%p}`` / ``${v%%p}`` the suffix (POSIX "Parameter Expansion")."""
    rx = re.compile(fnmatch.translate(pattern))
    cuts = range(len(value) + 1)
    if op[0] == "#":
        order = reversed(cuts) if op == "##" else cuts
        return next((value[i:] for i in order if rx.match(value[:i])), value)
    order = cuts if op == "%%" else reversed(cuts)
    return next((value[:i] for i in order if rx.match(value[i:])), value)


def _split(chars: list[tuple[str, bool]], quoted: bool) -> list[str]:
    fields: list[str] = []
    cur: list[str] = []
    has = quoted
    for ch, may_split in chars:
        if may_split and ch in IFS:
            if cur or has:
                fields.append("".join(cur))
            cur, has = [], False
        else:
            cur.append(ch)
    if cur or has:
        fields.append("".join(cur))
    return fields


# --- builtins ------------------------------------------------------------------------------------
def _cd(sh: Shell, args: list[str], stdin: str) -> Result:
    back = args == ["-"]  # cd - : to $OLDPWD, printing it
    where = sh.vars.get("OLDPWD", sh.cwd) if back else (args[0] if args else sh.vars.get("HOME", "/"))
    target = sh.fs.resolve(sh.cwd, where)
    if not sh.fs.is_dir(target):
        return Result(2, err=f"-sh: cd: can't cd to {where}: No such file or directory\n")
    sh.vars["OLDPWD"], sh.cwd = sh.cwd, target
    sh.vars["PWD"] = target
    return Result(0, target + "\n" if back else "")


def _exit(sh: Shell, args: list[str], stdin: str) -> Result:
    if args and not args[0].lstrip("-").isdigit():
        return Result(2, err=f"-sh: exit: Illegal number: {args[0]}\n")
    raise ShellExit(int(args[0]) & 0xFF if args else sh.status)


def _export(sh: Shell, args: list[str], stdin: str) -> Result:
    for a in args:
        name, sep, value = a.partition("=")
        if sep:
            sh.vars[name] = value
    return Result(0)


def _return(sh: Shell, args: list[str], stdin: str) -> Result:
    if sh._depth == 0:
        return Result(2, err="-sh: return: not in a function\n")
    if args and not args[0].lstrip("-").isdigit():
        return Result(2, err=f"-sh: return: Illegal number: {args[0]}\n")
    raise _Return(int(args[0]) & 0xFF if args else sh.status)


def _shift(sh: Shell, args: list[str], stdin: str) -> Result:
    n = int(args[0]) if args and args[0].isdigit() else 1
    if n > len(sh.args):
        return Result(2, err="-sh: shift: can't shift that many\n")
    sh.args = sh.args[n:]
    return Result(0)


def _sleep(sh: Shell, args: list[str], stdin: str) -> Result:
    try:
        seconds = float(args[0]) if len(args) == 1 else -1.0
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        return Result(1, err=f"sleep: invalid number '{' '.join(args)}'\n")
    sh.host.sleep(seconds)
    return Result(0)


_NUM_OPS = {"-eq": int.__eq__, "-ne": int.__ne__, "-lt": int.__lt__, "-le": int.__le__,
            "-gt": int.__gt__, "-ge": int.__ge__}  # fmt: skip


def _sh(sh: Shell, args: list[str], stdin: str) -> Result:
    if not args:
        return Result(2, err="-sh: sh: interactive sub-shells are not simulated; give a script\n")
    out: list[str] = []
    err: list[str] = []
    io = Io(out.append, err.append)
    if args[0] == "-c":  # sh -c CMD [NAME [ARGS...]]: CMD with $1... = ARGS, as ash runs it
        if len(args) < 2:
            return Result(2, err="-sh: sh: -c requires an argument\n")
        status = sh.run_with_args(args[1], args[3:], io)
    else:
        status = sh.run_file(args[0], args[1:], io)
    return Result(status, "".join(out), "".join(err))


def _test_expr(sh: Shell, a: list[str]) -> bool:
    if a and a[0] == "!":
        return not _test_expr(sh, a[1:])
    if len(a) == 1:
        return a[0] != ""
    if len(a) == 2:
        path = sh.fs.resolve(sh.cwd, a[1])
        unary = {"-z": a[1] == "", "-n": a[1] != "", "-e": sh.fs.exists(path), "-d": sh.fs.is_dir(path),
                 "-f": sh.fs.exists(path) and not sh.fs.is_dir(path)}  # fmt: skip
        if a[0] in unary:
            return unary[a[0]]
    if len(a) == 3:
        if a[1] in ("=", "=="):
            return a[0] == a[2]
        if a[1] == "!=":
            return a[0] != a[2]
        if a[1] in _NUM_OPS:
            return bool(_NUM_OPS[a[1]](int(a[0]), int(a[2])))
    raise ValueError(" ".join(a))


def _test(sh: Shell, args: list[str], stdin: str) -> Result:
    try:
        return Result(0 if _test_expr(sh, args) else 1)
    except ValueError as exc:
        return Result(2, err=f"-sh: test: syntax error or bad number: {exc}\n")


def _bracket(sh: Shell, args: list[str], stdin: str) -> Result:
    if not args or args[-1] != "]":
        return Result(2, err="-sh: [: missing ]\n")
    return _test(sh, args[:-1], stdin)


BUILTINS: dict[str, Callable[[Shell, list[str], str], Result]] = {
    ":": lambda sh, a, s: Result(0),
    "true": lambda sh, a, s: Result(0),
    "false": lambda sh, a, s: Result(1),
    "pwd": lambda sh, a, s: Result(0, sh.cwd + "\n"),
    "cd": _cd,
    "exit": _exit,
    "export": _export,
    "return": _return,
    "sh": _sh,
    "ash": _sh,
    "shift": _shift,
    "sleep": _sleep,
    "test": _test,
    "[": _bracket,
}
