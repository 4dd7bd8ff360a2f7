"""Where vmksim writes and reads files the user names: complete-or-absent outputs, checked inputs.

DESIGN.md "Errors": bad input never leaves a partial output file that looks
complete, and a bad path is one clear line, never a traceback or a hang.

Outputs (:func:`atomic_write`), the rules a shell redirection would follow:

- ``-`` is standard output (the stream is flushed, never closed);
- a symbolic link is followed: its regular target is replaced and the link
  kept (``realpath``); a link loop is an error;
- an existing path that is not a regular file (a character device such as
  ``/dev/null``, a FIFO, a socket) is opened and written in place: there is no
  file to replace, and renaming over it would swap the device for a file;
- a regular file, or a new one, is written to a temporary file beside it and
  renamed into place only when the whole content was written; a read-only
  file is refused, as a shell redirection would;
- a missing or unwritable folder, or a path that is a folder: one
  :class:`~vmksim.errors.InputError` line naming the path.

Inputs (:func:`check_input`): a path must name a regular file (or a symlink to
one) no larger than a cap, so a character device or a FIFO with no writer is
refused at once instead of being read until memory runs out or blocking.
``-`` is standard input (:func:`spooled_input`): it is copied whole to a private
temporary file first, since some readers go over a capture twice and a pipe
can be read once; messages name it "standard input".
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from typing import IO, Any

from vmksim.errors import InputError, VmksimError

__all__ = [
    "MAX_TEXT_INPUT_BYTES",
    "STDIN",
    "STDIN_NAME",
    "STDOUT",
    "atomic_write",
    "check_input",
    "check_output",
    "describe_output",
    "is_stdout",
    "read_text_input",
    "spooled_input",
]

#: The output path that means standard output (the POSIX utilities' convention).
STDOUT = "-"
#: The input path that means standard input (the same convention), and how messages name it.
STDIN = "-"
STDIN_NAME = "standard input"
#: Bytes copied per read while spooling standard input.
_SPOOL_CHUNK = 1 << 20

#: Largest configuration file (scenario TOML, .vmx, entity list, esxcli text, hwloc XML) read whole.
#: Real ones are a few kB to a few MB (an lstopo XML of a 4-socket host is ~1 MB); 64 MiB
#: leaves room for generated files while keeping a wrong path from filling memory.
MAX_TEXT_INPUT_BYTES = 64 * 1024 * 1024

#: Errors of a write itself (not of the path) that are the destination's fault, not vmksim's.
_WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EIO, errno.EROFS})


def is_stdout(path: str | os.PathLike[str] | None) -> bool:
    return path is not None and os.fspath(path) == STDOUT


def describe_output(path: str | os.PathLike[str]) -> str:
    """How messages name an output: the path, or 'standard output' for ``-``."""
    return "standard output" if is_stdout(path) else os.fspath(path)


def _problem(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _resolve_output(path: str) -> tuple[str, bool]:
    """(where to write, write in place?) for an output *path*; InputError if it cannot be written."""
    real = os.path.realpath(path)  # follows symlinks; a loop leaves a path that stat() refuses
    try:
        st = os.stat(real)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        what = "symbolic link loop" if exc.errno == errno.ELOOP else _problem(exc)
        raise InputError(f"cannot write: {what}", source=path) from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise InputError("cannot write: is a folder, give a file name", source=path)
    if st is not None and not stat.S_ISREG(st.st_mode):
        return real, True
    if st is not None and not os.access(real, os.W_OK):
        # Renaming over it would succeed (the folder is writable) but defeat the protection the
        # owner put on the file; a shell redirection refuses it too.
        raise InputError("cannot write: the file is read-only", source=path)
    folder = os.path.dirname(real) or "."
    if not os.path.isdir(folder):
        raise InputError(f"cannot write: the folder {folder} does not exist", source=path)
    return real, False


def check_output(path: str | os.PathLike[str]) -> None:
    """Fail now, with the line :func:`atomic_write` would give later, if *path* cannot be written.

    For commands that work a long time before they write (a what-if simulation): a mistyped
    folder is reported before the work, not after it. Writes nothing.
    """
    name = os.fspath(path)
    if name == STDOUT:
        return
    real, in_place = _resolve_output(name)
    target = real if in_place else os.path.dirname(real) or "."
    if not os.access(target, os.W_OK):
        what = "permission denied" if in_place else f"the folder {target} is not writable"
        raise InputError(f"cannot write: {what}", source=name)


@contextlib.contextmanager
def _stdout(mode: str) -> Iterator[IO[Any]]:
    stream: IO[Any] = sys.stdout.buffer if "b" in mode else sys.stdout
    yield stream
    stream.flush()


@contextlib.contextmanager
def _in_place(path: str, real: str, mode: str, **kwargs: Any) -> Iterator[IO[Any]]:
    try:
        fh = open(real, mode, **kwargs)  # noqa: SIM115 - closed below, errors become InputError
    except OSError as exc:
        raise InputError(f"cannot write: {_problem(exc)}", source=path) from None
    with fh:
        yield fh


@contextlib.contextmanager
def _replace(path: str, real: str, mode: str, **kwargs: Any) -> Iterator[IO[Any]]:
    name = os.path.basename(real)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=os.path.dirname(real) or ".")
    except OSError as exc:
        raise InputError(f"cannot write: {_problem(exc)}", source=path) from None
    os.close(fd)
    try:
        with open(tmp, mode, **kwargs) as fh:
            yield fh
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, real)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open *path* for writing by the rules of the module docstring (``-``, links, devices, temp+rename)."""
    name = os.fspath(path)
    if name == STDOUT:
        with _stdout(mode) as out:
            yield out
        return
    real, in_place = _resolve_output(name)
    opener = _in_place if in_place else _replace
    try:
        with opener(name, real, mode, **kwargs) as fh:
            yield fh
    except OSError as exc:
        if exc.errno in _WRITE_ERRNOS:
            raise InputError(f"cannot write: {_problem(exc)}", source=name) from None
        raise


def check_input(
    path: str | os.PathLike[str], *, max_bytes: int | None = MAX_TEXT_INPUT_BYTES, block_devices: bool = False
) -> int:
    """Size of the regular file *path* (symlinks followed); InputError for anything else.

    Refuses, without opening it: a missing path, a folder, a device or FIFO (reading one could
    block for ever or never end), a symlink loop, a file over *max_bytes* (None: no cap).
    ``block_devices`` accepts a block device too (a VMFS volume on /dev/sdb1); its size is 0.
    """
    name = os.fspath(path)
    try:
        st = os.stat(name)
    except OSError as exc:
        what = "symbolic link loop" if exc.errno == errno.ELOOP else _problem(exc)
        raise InputError(f"cannot read: {what}", source=name) from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError("cannot read: is a folder, expected a file", source=name)
    if block_devices and stat.S_ISBLK(st.st_mode):
        return 0
    if not stat.S_ISREG(st.st_mode):
        kind = "a FIFO" if stat.S_ISFIFO(st.st_mode) else "a device or socket"
        raise InputError(f"cannot read: {kind}, not a regular file", source=name)
    if max_bytes is not None and st.st_size > max_bytes:
        raise InputError(
            f"cannot read: {st.st_size} bytes, more than the {max_bytes}-byte limit", source=name
        )
    return st.st_size


def read_text_input(path: str | os.PathLike[str], *, max_bytes: int = MAX_TEXT_INPUT_BYTES) -> str:
    """The whole text of a configuration file, after :func:`check_input`; UTF-8 errors are InputError."""
    check_input(path, max_bytes=max_bytes)
    name = os.fspath(path)
    try:
        with open(name, "rb") as fh:
            data = fh.read(max_bytes + 1)  # the file may have grown since stat()
    except OSError as exc:
        raise InputError(f"cannot read: {_problem(exc)}", source=name) from None
    if len(data) > max_bytes:
        raise InputError(f"cannot read: more than the {max_bytes}-byte limit", source=name)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason})", source=name, where=f"byte {exc.start}") from None


@contextlib.contextmanager
def spooled_input(path: str) -> Iterator[str]:
    """*path* itself, or for ``-`` a private temporary copy of standard input, removed afterwards.

    A terminal on standard input is refused (the command would wait for typing). Errors raised
    inside name "standard input" instead of the temporary file.
    """
    if path != STDIN:
        yield path
        return
    stream = sys.stdin.buffer if sys.stdin is not None else None
    if stream is None or sys.stdin.isatty():
        raise InputError(
            "standard input is a terminal: pipe the file into vmksim, or give its path", source=STDIN
        )
    folder = tempfile.mkdtemp(prefix="vmksim-stdin-")
    copy = os.path.join(folder, "stdin")
    try:
        try:
            with open(copy, "wb") as fh:
                shutil.copyfileobj(stream, fh, _SPOOL_CHUNK)
        except OSError as exc:
            raise InputError(f"cannot copy to a temporary file: {_problem(exc)}", source=STDIN_NAME) from None
        try:
            yield copy
        except VmksimError as exc:
            exc.args = tuple(str(a).replace(copy, STDIN_NAME) for a in exc.args)
            raise
    finally:
        shutil.rmtree(folder, ignore_errors=True)
