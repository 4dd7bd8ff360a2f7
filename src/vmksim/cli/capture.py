"""``vmksim capture``: look into and convert esxtop batch captures.

ESXi counterpart: what people do with ``esxtop -b`` files in Excel, Perfmon or
esxplot (esxtop.md §6): find columns, cut a huge capture down to the columns
that matter, load it into pandas/polars. The reader streams the file, so
hundreds of MB and 50,000+ columns are fine.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import Any, TextIO, cast

from vmksim.cli._common import capture_input, shown_source, text_output
from vmksim.console import escape_controls
from vmksim.errors import VmksimError
from vmksim.fileio import atomic_write, describe_output

COLUMNS_EPILOG = r"""
examples:
  vmksim capture columns host.csv                      every column, one per line
  vmksim capture columns host.csv -s 'Group Cpu(*)\% Ready'
"""

CONVERT_EPILOG = r"""
examples:
  vmksim capture convert host.csv --parquet host.parquet
  vmksim capture convert host.csv --csv vms.csv -s 'Group Cpu(*)' -s 'Vcpu(*)\% Ready'
  vmksim capture convert host.csv --csv - -s 'Group Cpu(*)' | head    '-' is standard output
"""

EPILOG = (
    COLUMNS_EPILOG
    + CONVERT_EPILOG.removeprefix("\nexamples:\n")
    + r"""
Column patterns are OBJECT[(INSTANCE)][\COUNTER] with * and ? globs, matched
against the counter path without the host, e.g. 'Vcpu(*web*)\% CoStop'.
The Parquet file is the long (tidy) form: time, object, instance, counter, value.
"""
)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "capture",
        help="list or convert the columns of an esxtop batch CSV",
        description="Inspect and convert esxtop batch captures (esxtop -b output, or vmksim top --batch).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    cols = actions.add_parser(
        "columns",
        help="list the columns (counter paths) of a capture",
        epilog=COLUMNS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    conv = actions.add_parser(
        "convert",
        help="write selected columns to Parquet and/or esxtop CSV",
        epilog=CONVERT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for q in (cols, conv):
        q.add_argument("capture", help="esxtop batch CSV file ('-': standard input)")
        q.add_argument(
            "-s", "--select", action="append", default=[], metavar="PATTERN", help="column glob (repeat)"
        )
    conv.add_argument(
        "--parquet", metavar="FILE", help="write the long (tidy) table as Parquet ('-': stdout)"
    )
    conv.add_argument(
        "--csv", metavar="FILE", help="write the selected columns as an esxtop batch CSV ('-': stdout)"
    )
    conv.add_argument("--strict", action="store_true", help="refuse a capture whose last row is cut short")
    p.set_defaults(func=run)


def open_capture(path: str, select: list[str], strict: bool = False, *, name: str | None = None) -> Any:
    """A CaptureReader whose damage warnings go to stderr as one line each, naming *name* (or *path*)."""
    from vmksim.esxtop.reader import CaptureReader, CaptureWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CaptureWarning)
        reader = CaptureReader(path, select, strict=strict)
    for message in reader.warnings:
        print(escape_controls(f"vmksim: warning: {name or path}: {message}"), file=sys.stderr)
    return reader


def run(args: argparse.Namespace) -> int:
    with capture_input(args.capture) as (path,):  # '-': standard input, spooled
        return _run(args, path)


def _run(args: argparse.Namespace, path: str) -> int:
    name = shown_source(args.capture)
    reader = open_capture(path, args.select, getattr(args, "strict", False), name=name)
    seen = len(reader.warnings)
    if args.action == "columns":
        for column in reader.columns:
            print(escape_controls(column.path(reader.host)))
        print(f"{len(reader.columns)} of {len(reader.all_columns)} columns", file=sys.stderr)
        return 0
    if not args.parquet and not args.csv:
        raise VmksimError("convert needs --parquet FILE and/or --csv FILE")
    text_output(args.parquet, args.csv)  # refuses two outputs on standard output
    from vmksim.esxtop.reader import CaptureWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CaptureWarning)
        if args.parquet:
            rows = reader.to_parquet(args.parquet)
            print(f"wrote {rows} rows to {describe_output(args.parquet)}", file=sys.stderr)
        if args.csv:
            from vmksim.esxtop.writer import write_batch

            with atomic_write(args.csv, "w", newline="") as fh:
                rows = write_batch(reader, cast(TextIO, fh))
            where = describe_output(args.csv)
            print(f"wrote {rows} samples x {len(reader.columns)} columns to {where}", file=sys.stderr)
    for message in reader.warnings[seen:]:
        print(escape_controls(f"vmksim: warning: {name}: {message}"), file=sys.stderr)
    return 0
