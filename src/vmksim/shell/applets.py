"""BusyBox applets of the ESXi shell over the virtual file system.

ESXi counterpart: the BusyBox applets public ESXi scripts rely on (vmfs-shell-elf-api.md §2.1:
grep, cut, sort, uniq, echo, wc, head, tail, ps, date, sleep, cat...). Each applet takes its
argv, standard input as text and returns (status, stdout, stderr), with BusyBox's option letters
parsed by :mod:`getopt`. Simplifications: ``grep`` patterns are Python regular expressions (BRE and
ERE agree on the common subset: literals, ``.``, ``*``, ``^``, ``$``, ``[...]``); no globbing.
"""

from __future__ import annotations

import getopt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vmksim.shell.vfs import VfsError

if TYPE_CHECKING:
    from vmksim.shell.interp import Shell

__all__ = ["APPLETS", "Result"]


@dataclass(frozen=True, slots=True)
class Result:
    status: int
    out: str = ""
    err: str = ""


Applet = Callable[["Shell", list[str], str], Result]


def _opts(name: str, argv: list[str], spec: str) -> tuple[dict[str, str], list[str]] | Result:
    try:
        pairs, rest = getopt.getopt(argv, spec)
    except getopt.GetoptError as exc:
        return Result(1, err=f"{name}: {exc.msg}\n")
    return {k.lstrip("-"): v for k, v in pairs}, rest


def _inputs(sh: Shell, name: str, files: list[str], stdin: str) -> tuple[str, str, int]:
    """The concatenated text of *files* (stdin when none or ``-``), error text, status."""
    if not files:
        return stdin, "", 0
    text, err, status = [], "", 0
    for f in files:
        if f == "-":
            text.append(stdin)
            continue
        try:
            text.append(sh.fs.read(sh.fs.resolve(sh.cwd, f)))
        except VfsError as exc:
            err += f"{name}: {f}: {exc}\n"
            status = 1
    return "".join(text), err, status


@dataclass(frozen=True, slots=True)
class _Filter:
    """A text filter's parsed options and its input (files or stdin)."""

    opts: dict[str, str]
    text: str
    err: str
    status: int


def _filter(sh: Shell, name: str, argv: list[str], spec: str, stdin: str) -> _Filter | Result:
    parsed = _opts(name, argv, spec)
    if isinstance(parsed, Result):
        return parsed
    o, rest = parsed
    return _Filter(o, *_inputs(sh, name, rest, stdin))


def _lines(text: str) -> list[str]:
    return text.splitlines()


def _join(lines: Iterable[str]) -> str:
    return "".join(line + "\n" for line in lines)


def cat(sh: Shell, argv: list[str], stdin: str) -> Result:
    text, err, status = _inputs(sh, "cat", argv, stdin)
    return Result(status, text, err)


def echo(sh: Shell, argv: list[str], stdin: str) -> Result:
    newline = True
    if argv and argv[0] == "-n":
        newline, argv = False, argv[1:]
    return Result(0, " ".join(argv) + ("\n" if newline else ""))


def grep(sh: Shell, argv: list[str], stdin: str) -> Result:
    parsed = _opts("grep", argv, "covivqEFe:")
    if isinstance(parsed, Result):
        return parsed
    o, rest = parsed
    if "e" in o:
        pattern = o["e"]
    elif rest:
        pattern, rest = rest[0], rest[1:]
    else:
        return Result(2, err="Usage: grep [-covivqEF] PATTERN [FILE]...\n")
    text, err, status = _inputs(sh, "grep", rest, stdin)
    try:
        rx = re.compile(re.escape(pattern) if "F" in o else pattern, re.IGNORECASE if "i" in o else 0)
    except re.error as exc:
        return Result(2, err=f"grep: bad regex '{pattern}': {exc}\n")
    invert = "v" in o
    hits = [line for line in _lines(text) if bool(rx.search(line)) != invert]
    found = 0 if hits else 1
    if "q" in o:
        return Result(found, err=err)
    if "c" in o:
        return Result(found if not status else 2, f"{len(hits)}\n", err)
    if "o" in o and not invert:
        out = _join(m.group(0) for line in hits for m in rx.finditer(line) if m.group(0))
        return Result(found, out, err)
    return Result(found if not status else 2, _join(hits), err)


def _count(name: str, argv: list[str]) -> tuple[int, list[str]] | Result:
    """``-n N``, ``-N`` or ``-nN`` → (N, files); BusyBox's head/tail default is 10. ``tail -n +N``
    (from line N on) comes back as -N."""
    if argv and re.fullmatch(r"-\d+", argv[0]):
        return int(argv[0][1:]), argv[1:]
    parsed = _opts(name, argv, "n:")
    if isinstance(parsed, Result):
        return parsed
    o, rest = parsed
    raw = o.get("n", "10")
    if not raw.lstrip("+-").isdigit():
        return Result(1, err=f"{name}: invalid number '{raw}'\n")
    return (-int(raw[1:]) if raw.startswith("+") else int(raw.lstrip("-"))), rest


def head(sh: Shell, argv: list[str], stdin: str) -> Result:
    parsed = _count("head", argv)
    if isinstance(parsed, Result):
        return parsed
    n, files = parsed
    text, err, status = _inputs(sh, "head", files, stdin)
    return Result(status, _join(_lines(text)[: abs(n)]), err)


def tail(sh: Shell, argv: list[str], stdin: str) -> Result:
    parsed = _count("tail", argv)
    if isinstance(parsed, Result):
        return parsed
    n, files = parsed
    text, err, status = _inputs(sh, "tail", files, stdin)
    lines = _lines(text)
    if n < 0:  # tail -n +N: from line N
        return Result(status, _join(lines[max(-n - 1, 0) :]), err)
    return Result(status, _join(lines[len(lines) - n :] if n else []), err)


def wc(sh: Shell, argv: list[str], stdin: str) -> Result:
    f = _filter(sh, "wc", argv, "lwc", stdin)
    if isinstance(f, Result):
        return f
    o, text, err, status = f.opts, f.text, f.err, f.status
    counts = {"l": text.count("\n"), "w": len(text.split()), "c": len(text.encode())}
    chosen = [k for k in "lwc" if k in o] or ["l", "w", "c"]
    width = 1 if len(chosen) == 1 else 7  # BusyBox pads to 7 when it prints several counts
    return Result(status, " ".join(f"{counts[k]:>{width}}" for k in chosen) + "\n", err)


def sort(sh: Shell, argv: list[str], stdin: str) -> Result:
    f = _filter(sh, "sort", argv, "nru", stdin)
    if isinstance(f, Result):
        return f
    o, text, err, status = f.opts, f.text, f.err, f.status
    lines = _lines(text)

    def number(line: str) -> float:
        m = re.match(r"\s*-?\d+(\.\d+)?", line)
        return float(m.group(0)) if m else 0.0

    lines.sort(key=number if "n" in o else None, reverse="r" in o)
    if "u" in o:
        lines = list(dict.fromkeys(lines))
    return Result(status, _join(lines), err)


def uniq(sh: Shell, argv: list[str], stdin: str) -> Result:
    f = _filter(sh, "uniq", argv, "c", stdin)
    if isinstance(f, Result):
        return f
    o, text, err, status = f.opts, f.text, f.err, f.status
    runs: list[list[object]] = []
    for line in _lines(text):
        if runs and runs[-1][0] == line:
            runs[-1][1] = int(str(runs[-1][1])) + 1
        else:
            runs.append([line, 1])
    if "c" in o:
        return Result(status, _join(f"{n:>7} {line}" for line, n in runs), err)
    return Result(status, _join(str(line) for line, _ in runs), err)


def _fields(spec: str) -> set[int] | None:
    out: set[int] = set()
    for part in spec.split(","):
        lo, sep, hi = part.partition("-")
        if not (lo or hi) or not (lo or "1").isdigit() or not (hi or "9999").isdigit():
            return None
        out.update(range(int(lo or 1), int(hi or 9999) + 1) if sep else {int(lo)})
    return out


def cut(sh: Shell, argv: list[str], stdin: str) -> Result:
    parsed = _opts("cut", argv, "d:f:c:")
    if isinstance(parsed, Result):
        return parsed
    o, rest = parsed
    spec = o.get("f") or o.get("c")
    wanted = _fields(spec) if spec else None
    if wanted is None:
        return Result(1, err="cut: you must specify a list of bytes, characters, or fields\n")
    text, err, status = _inputs(sh, "cut", rest, stdin)
    out = []
    for line in _lines(text):
        if "c" in o:
            out.append("".join(ch for i, ch in enumerate(line, 1) if i in wanted))
            continue
        delim = o.get("d", "\t")
        parts = line.split(delim)
        out.append(delim.join(p for i, p in enumerate(parts, 1) if i in wanted) if len(parts) > 1 else line)
    return Result(status, _join(out), err)


def ls(sh: Shell, argv: list[str], stdin: str) -> Result:
    parsed = _opts("ls", argv, "la1")
    if isinstance(parsed, Result):
        return parsed
    _, rest = parsed
    out, err, status = [], "", 0
    for target in rest or ["."]:
        path = sh.fs.resolve(sh.cwd, target)
        if sh.fs.is_dir(path):
            out += sh.fs.listdir(path)
        elif sh.fs.exists(path):
            out.append(target)
        else:
            err += f"ls: {target}: No such file or directory\n"
            status = 1
    return Result(status, _join(out), err)


def ps(sh: Shell, argv: list[str], stdin: str) -> Result:
    """ESXi's ps lists worlds: WID, CID (the VM's VMX cartel; user worlds are their own cartel;
    kernel worlds none, 0) and the world name. Columns unverified (§2.1 names only the flags)."""
    host = sh.host
    host.sync()
    esx = host.esx
    cartel = {vm.group_id: vm.world_id for vm in host.vms}
    rows = [("WID", "CID", "WorldName")]
    for w in esx.worlds:
        g = esx.groups[w.group]
        cid = cartel.get(g.group_id, w.world_id if "." in g.name and not g.is_vm else 0)
        rows.append((str(w.world_id), str(cid), w.name))
    return Result(0, _join(f"{a:<10} {b:<10} {c}" for a, b, c in rows))


def date(sh: Shell, argv: list[str], stdin: str) -> Result:
    """BusyBox date: ``Sun Nov 29 19:07:17 UTC 2026``, or ``date +FORMAT`` (strftime); -u is a no-op
    (the host's clock is UTC, as ESXi's is)."""
    sh.host.sync()
    now = sh.host.wall_time()
    fmt = next((a[1:] for a in argv if a.startswith("+")), "%a %b %e %H:%M:%S UTC %Y")
    bad = [a for a in argv if not a.startswith("+") and a != "-u"]
    if bad:
        return Result(1, err=f"date: invalid date '{bad[0]}'\n")
    return Result(0, now.strftime(fmt) + "\n")


APPLETS: dict[str, Applet] = {
    "cat": cat,
    "cut": cut,
    "date": date,
    "echo": echo,
    "grep": grep,
    "head": head,
    "ls": ls,
    "ps": ps,
    "sort": sort,
    "tail": tail,
    "uniq": uniq,
    "wc": wc,
}
