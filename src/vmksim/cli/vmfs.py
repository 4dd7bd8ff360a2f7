"""``vmksim vmfs``: read VMFS5 / VMFS6 / VMFS-L datastore images (info, ls, stat, tree, cat, extract).

A thin front end over :mod:`vmksim.vmfs`; format facts and their sources are in
/work/shared/reference/vmfs-shell-elf-api.md §1 (``info`` follows the shape of
``vmkfstools -Ph``, §1.8).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import stat
import sys
from collections.abc import Callable
from typing import Any

from vmksim.console import escape_controls
from vmksim.errors import VmfsError
from vmksim.fileio import atomic_write, describe_output, is_stdout
from vmksim.vmfs import FileDescriptor, FileType, Vmfs, open_volumes
from vmksim.vmfs.source import Progress

DESCRIPTION = """\
Read a VMFS datastore from an image, without ESXi: volume facts like
`vmkfstools -Ph`, directory listings, file contents. VMFS5, VMFS6 and VMFS-L
(ESXi's OSDATA) are read, on ESXi's LVM or bare, from raw partition images,
whole-disk images with a GPT (the VMFS partition is found), gzip-compressed
images (inflated once per command to a temporary file) or block devices. Nothing is ever
written to the image.

A datastore spanning several devices (extents) needs every device image:
`info` takes them all as arguments; the other commands take the first as IMG
and the rest with -e/--extent.
"""

EPILOG = """\
examples:
  vmksim vmfs info datastore1.bin                 label, UUID, version, capacity, extents
  vmksim vmfs info --json disk1.img disk2.img     a spanned volume, as JSON
  vmksim vmfs ls datastore1.bin /vm1 -l           like `ls -l`
  vmksim vmfs ls --json datastore1.bin /vm1       [{"name", "type", "size", "mode", ...}]
  vmksim vmfs stat datastore1.bin /vm1/vm1.vmx    one file's descriptor
  vmksim vmfs tree datastore1.bin                 everything, with sizes
  vmksim vmfs cat datastore1.bin /vm1/vm1.vmx     raw bytes to stdout
  vmksim vmfs extract datastore1.bin /vm1/vm1-flat.vmdk ./vm1-flat.vmdk
                                                  sparse output for thin disks
  vmksim vmfs ls -e /dev/sdc1 /dev/sdb1 /         a volume spanning two devices
"""

_KIND_CHAR = {"dir": "d", "symlink": "l", "file": "-", "rdm": "-"}
_PROGRESS_MIN = 64 << 20
MAX_SYMLINK_HOPS = 40
"""Links followed before giving up: Linux's MAXSYMLINKS (include/linux/namei.h), what ELOOP means there."""


def register(sub: Any) -> None:
    p = sub.add_parser(
        "vmfs",
        help="read VMFS5/VMFS6 datastore images (info, ls, stat, tree, cat, extract)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmds = p.add_subparsers(dest="vmfs_command", metavar="SUBCOMMAND")
    cmds.required = True

    def add(name: str, help_: str, func: Callable[[argparse.Namespace], int], epilog: str) -> Any:
        sp = cmds.add_parser(
            name, help=help_, description=help_[0].upper() + help_[1:] + ".", epilog="example:\n" + epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )  # fmt: skip
        sp.set_defaults(func=func)
        return sp

    def extent_opt(sp: Any) -> None:
        sp.add_argument(
            "-e", "--extent", action="append", default=[], metavar="IMG",
            help="another device image of a volume that spans several devices (repeatable)",
        )  # fmt: skip

    sp = add("info", "show volume facts like `vmkfstools -Ph`", _info, "  vmksim vmfs info vmfs6.bin.gz\n")
    sp.add_argument("images", nargs="+", metavar="IMG", help="image(s) or device(s); all extents of a volume")
    sp.add_argument("--json", action="store_true", help="print a JSON list, one object per volume")

    sp = add("ls", "list a directory", _ls, "  vmksim vmfs ls -l vmfs6.bin.gz /directory\n")
    sp.add_argument("image", metavar="IMG")
    sp.add_argument("path", nargs="?", default="/", metavar="PATH", help="directory or file (default /)")
    sp.add_argument("-l", "--long", action="store_true", help="long listing: mode, links, owner, size, time")
    sp.add_argument("-a", "--all", action="store_true", help="also show the .sf system files of the root")
    sp.add_argument(
        "--json", action="store_true", help="print a JSON list of {name, type, size, mode[, target]}"
    )
    extent_opt(sp)

    sp = add(
        "stat", "show one file's descriptor", _stat, "  vmksim vmfs stat vmfs6.bin.gz /directory/symlink\n"
    )
    sp.add_argument("image", metavar="IMG")
    sp.add_argument("path", metavar="PATH")
    sp.add_argument("--json", action="store_true", help="print a JSON object")
    extent_opt(sp)

    sp = add("tree", "show every file below a directory", _tree, "  vmksim vmfs tree vmfs6.bin.gz\n")
    sp.add_argument("image", metavar="IMG")
    sp.add_argument("path", nargs="?", default="/", metavar="PATH", help="directory (default /)")
    extent_opt(sp)

    sp = add(
        "cat", "write a file's bytes to stdout", _cat, "  vmksim vmfs cat vmfs6.bin.gz /directory/file4\n"
    )
    sp.add_argument("image", metavar="IMG")
    sp.add_argument("path", metavar="PATH")
    extent_opt(sp)

    sp = add(
        "extract", "copy a file out of the volume (sparse where the source is)", _extract,
        "  vmksim vmfs extract vmfs6.bin.gz /directory/file5 ./file5\n"
        "  vmksim vmfs extract vmfs6.bin.gz /directory/file5 - | sha256sum\n"
        "DEST may be a directory, or '-' for standard output (every byte in order, holes\n"
        "as zeros). The copy appears only when complete; an existing file is replaced\n"
        "only with --force.\n",
    )  # fmt: skip
    sp.add_argument("image", metavar="IMG")
    sp.add_argument("path", metavar="PATH")
    sp.add_argument("dest", metavar="DEST", help="output file, existing directory, or '-' (stdout)")
    sp.add_argument("-f", "--force", action="store_true", help="overwrite DEST if it exists")
    extent_opt(sp)


# --------------------------------------------------------------------- helpers
def _open(args: argparse.Namespace) -> Vmfs:
    with _Inflating() as progress:
        return Vmfs.open([args.image, *args.extent], progress)


class _Inflating:
    """Progress of gzip images being inflated: a transient bar and a note line, on a terminal only.

    Each image is inflated once per command (into a sparse temporary file, see
    :mod:`vmksim.vmfs.source`); every read afterwards goes to that file.
    """

    def __init__(self) -> None:
        self.bar: Any = None
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> Progress | None:
        return self if sys.stderr.isatty() else None

    def __call__(self, image: str, done: int, total: int) -> None:
        if self.bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

            self.bar = Progress(
                TextColumn("inflating {task.description}"), BarColumn(), DownloadColumn(),
                console=Console(stderr=True), transient=True,
            )  # fmt: skip
            self.bar.start()
        if image not in self.tasks:
            self.tasks[image] = self.bar.add_task(os.path.basename(image), total=total)
        self.bar.update(self.tasks[image], completed=done)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()
        for image in self.tasks:
            print(
                f"vmksim: note: {image} is gzip-compressed; inflated once to a temporary file",
                file=sys.stderr,
            )


def _mode_string(fd: FileDescriptor) -> str:
    return stat.filemode(fd.st_mode)


def _time(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _size(n: int | None) -> str:
    if n is None:
        return "unknown"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" or n == int(n) else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    raise AssertionError


def _resolve(fs: Vmfs, path: str, fd: FileDescriptor) -> FileDescriptor:
    """Follow symbolic links (relative to their directory) up to MAX_SYMLINK_HOPS hops."""
    start = path
    for _ in range(MAX_SYMLINK_HOPS):
        if fd.type is not FileType.SYMLINK:
            return fd
        target = fs.readlink(fd)
        base = path.rsplit("/", 1)[0]
        path = target if target.startswith("/") else f"{base}/{target}"
        fd = fs.lookup(path)
    if fd.type is not FileType.SYMLINK:
        return fd
    raise VmfsError(
        f"too many levels of symbolic links (more than {MAX_SYMLINK_HOPS}; a loop?)",
        source=fs.name,
        where=start,
    )


def _entry_json(fs: Vmfs, name: str, fd: FileDescriptor) -> dict[str, Any]:
    item: dict[str, Any] = {"name": name, "type": fd.kind, "size": fd.size, "mode": f"{fd.mode & 0o7777:04o}"}
    if fd.type is FileType.SYMLINK:
        item["target"] = fs.readlink(fd)
    return item


def _dump(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")


# --------------------------------------------------------------------- commands
def _info(args: argparse.Namespace) -> int:
    with _Inflating() as progress:
        vols = open_volumes(args.images, progress)
    infos = [(fs, fs.info()) for fs in vols]
    if args.json:
        _dump(
            [
                {
                    "label": i.label, "uuid": i.uuid, "type": i.fs_type, "version": fs.version_text,
                    "major": i.major, "minor": i.minor, "block_size": i.block_size,
                    "sub_block_size": i.sub_block_size, "capacity": i.capacity, "free": i.free,
                    "created": i.created.isoformat(), "md_alignment": i.md_alignment,
                    "logical_volume": i.lv_uuid or None,
                    "extents": [
                        {"image": img, "device": dev or None, "physical_offset": phys,
                         "logical_offset": log, "length": length}
                        for img, dev, phys, log, length in i.extents
                    ],
                }
                for fs, i in infos
            ]
        )  # fmt: skip
        return 0
    for n, (fs, i) in enumerate(infos):
        if n:
            print()
        spans = len(i.extents)
        print(f"{fs.version_text} (Raw Major Version: {i.major}) file system spanning {spans} partitions.")
        print(f"File system label (if any): {escape_controls(i.label)}")
        print(
            f"Capacity {_size(i.capacity)}, {_size(i.free)} available, "
            f"file block size {_size(i.block_size)}, sub-block size {_size(i.sub_block_size)}"
        )
        print(f"Volume Creation Time: {i.created:%a %b %d %H:%M:%S %Y} UTC")
        print(f"UUID: {i.uuid}")
        if i.lv_uuid:
            print(f"Logical device: {i.lv_uuid}")
        print("Partitions spanned" + (' (on "lvm"):' if i.lv_uuid else ":"))
        for img, dev, phys, log, length in i.extents:
            name = dev or "(bare volume)"
            print(f"\t{name}  image {img}, offset {phys:#x}, volume offset {log:#x}, {_size(length)}")
    return 0


def _ls(args: argparse.Namespace) -> int:
    fs = _open(args)
    fd = fs.lookup(args.path)
    if fd.type is FileType.DIRECTORY:
        base = args.path.rstrip("/")
        rows = [(e.name, fs.fd(e.address, where=escape_controls(f"{base}/{e.name}"))) for e in fs.listdir(fd)]
        if not args.all and fd.address == fs.root.address:
            rows = [(n, f) for n, f in rows if f.type is not FileType.SYSTEM]
        rows.sort(key=lambda r: r[0])
    else:
        rows = [(args.path.rstrip("/").rsplit("/", 1)[-1], fd)]
    if args.json:
        _dump([_entry_json(fs, name, f) for name, f in rows])
        return 0
    for raw_name, f in rows:
        name = escape_controls(raw_name)
        if not args.long:
            print(escape_controls(name))
            continue
        tail = f" -> {escape_controls(fs.readlink(f))}" if f.type is FileType.SYMLINK else ""
        print(
            escape_controls(
                f"{_mode_string(f)} {f.links:3d} {f.uid:5d} {f.gid:5d} {f.size:14d} {_time(f.mtime)} {name}{tail}"
            )
        )
    return 0


def _stat(args: argparse.Namespace) -> int:
    fs = _open(args)
    fd = fs.lookup(args.path)
    data = _entry_json(fs, args.path.rstrip("/").rsplit("/", 1)[-1] or "/", fd)
    data.update(
        {
            "path": args.path, "fd_address": f"{fd.address:#x}", "generation": fd.generation,
            "links": fd.links, "uid": fd.uid, "gid": fd.gid, "mtime": fd.mtime, "ctime": fd.ctime,
            "atime": fd.atime, "block_size": fd.block_size, "blocks": fd.num_blocks, "zla": fd.zla,
            "fd_type": fd.type.name.lower(),
        }
    )  # fmt: skip
    if fd.type is FileType.RDM:
        data["rdm_mapping"] = fd.resident.hex() if fd.resident else None
    if args.json:
        _dump(data)
        return 0
    width = max(len(k) for k in data)
    for key, value in data.items():
        if key in ("mtime", "ctime", "atime"):
            value = f"{_time(value)} UTC ({value})"
        print(f"{key:>{width}}: {escape_controls(str(value))}")
    return 0


def _tree(args: argparse.Namespace) -> int:
    fs = _open(args)
    top = fs.lookup(args.path)
    print(escape_controls(args.path))
    # an explicit stack: a crafted image may nest directories deeper than Python recurses
    stack: list[tuple[FileDescriptor, str, str, frozenset[int]]] = [
        (top, args.path.rstrip("/"), "", frozenset({top.address}))
    ]
    while stack:
        fd, path, prefix, ancestors = stack.pop()
        children = _tree_lines(fs, fd, path, prefix)
        for child, child_path, child_prefix in reversed(children):
            if child.address in ancestors:
                raise VmfsError("directory cycle", source=fs.name, where=escape_controls(child_path))
            stack.append((child, child_path, child_prefix, ancestors | {child.address}))
    return 0


def _tree_lines(
    fs: Vmfs, fd: FileDescriptor, path: str, prefix: str
) -> list[tuple[FileDescriptor, str, str]]:
    """Print the entries of directory *fd*; return its subdirectories with their path and prefix."""
    entries = sorted(fs.listdir(fd), key=lambda e: e.name)
    subdirs = []
    for i, entry in enumerate(entries):
        last = i == len(entries) - 1
        child_path = f"{path}/{entry.name}"
        child = fs.fd(entry.address, where=escape_controls(child_path))
        name = escape_controls(entry.name)
        tail = f" -> {escape_controls(fs.readlink(child))}" if child.type is FileType.SYMLINK else ""
        label = f"{name}/" if child.type is FileType.DIRECTORY else f"{name}  {child.size}{tail}"
        print(prefix + ("└── " if last else "├── ") + label)
        if child.type is FileType.DIRECTORY:
            subdirs.append((child, child_path, prefix + ("    " if last else "│   ")))
    return subdirs


def _regular(fs: Vmfs, path: str) -> FileDescriptor:
    fd = _resolve(fs, path, fs.lookup(path))
    if fd.type is FileType.DIRECTORY:
        raise VmfsError("is a directory", source=fs.name, where=path)
    return fd


def _cat(args: argparse.Namespace) -> int:
    fs = _open(args)
    fd = _regular(fs, args.path)
    _check_streamable(fs, fd, args.path)
    _stream(fd, sys.stdout.buffer)
    return 0


def _check_streamable(fs: Vmfs, fd: FileDescriptor, path: str) -> None:
    """Refuse, before the first byte, to stream a file that claims more than the volume holds.

    A thin file may claim more than the volume holds; its holes would stream as zeros for as long
    as it claims (issue 11 item 16). A stream (stdout, a pipe) cannot skip holes; a file can.
    """
    if fd.size > fs.volume_size:
        raise VmfsError(
            f"file claims {fd.size} bytes, more than the volume's capacity ({fs.volume_size} bytes); "
            "`vmksim vmfs extract` copies it sparse into a file",
            source=fs.name,
            where=path,
        )


def _stream(fd: FileDescriptor, out: Any) -> None:
    """Every byte of *fd* in order, holes as zeros: for outputs that cannot seek (stdout, a pipe)."""
    hole = bytes(1 << 20)
    for _off, piece in fd.iter_chunks():
        if isinstance(piece, int):
            while piece > 0:
                n = min(piece, len(hole))
                out.write(hole[:n])
                piece -= n
        else:
            out.write(piece)
    out.flush()


def _is_stream(dest: str) -> bool:
    """True when *dest* cannot hold holes: ``-`` (stdout, maybe a pipe), a FIFO or a device."""
    if is_stdout(dest):
        return True
    try:
        mode = os.stat(dest).st_mode
    except OSError:
        return False  # a new file (or a bad path, which atomic_write reports)
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _extract(args: argparse.Namespace) -> int:
    fs = _open(args)
    fd = _regular(fs, args.path)
    dest = args.dest
    if _is_stream(dest):
        # README: '-' works wherever vmksim writes a file. A stream gets every byte in order
        # (no sparse seeking on a pipe) and has no mode or times to set.
        _check_streamable(fs, fd, args.path)
        with atomic_write(dest, "wb") as out:
            _stream(fd, out)
        print(f"{describe_output(dest)}: {fd.size} bytes", file=sys.stderr)
        return 0
    if os.path.isdir(dest):
        dest = os.path.join(dest, args.path.rstrip("/").rsplit("/", 1)[-1])
    if os.path.lexists(dest) and not args.force:
        raise VmfsError("exists; give --force to overwrite it", source=dest)
    show = sys.stderr.isatty() and fd.size >= _PROGRESS_MIN
    written = extract_file(fd, dest, progress=show)
    print(f"{dest}: {fd.size} bytes ({written} bytes of data, the rest sparse)", file=sys.stderr)
    return 0


def extract_file(fd: FileDescriptor, dest: str, progress: bool = False) -> int:
    """Write *fd*'s contents to *dest* atomically, leaving holes sparse; returns bytes of data written."""
    bar: Any = None
    if progress:
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

        bar = Progress(
            "[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
            console=Console(stderr=True), transient=True,
        )  # fmt: skip
        bar.start()
        task = bar.add_task(os.path.basename(dest), total=fd.size)
    written = 0
    try:
        try:
            with atomic_write(dest, "wb") as out:
                for off, piece in fd.iter_chunks():
                    if isinstance(piece, int):
                        n = piece
                    else:
                        n = len(piece)
                        if piece.count(0) != n:  # all-zero data blocks stay holes too
                            out.seek(off)
                            out.write(piece)
                            written += n
                    if bar is not None:
                        bar.advance(task, n)
                out.truncate(fd.size)
                os.chmod(out.name, (fd.mode & 0o777) | 0o600)
        except OSError as exc:
            raise VmfsError(f"cannot write: {exc.strerror}", source=dest) from None
        os.utime(dest, (fd.atime, fd.mtime))
    finally:
        if bar is not None:
            bar.stop()
    return written
