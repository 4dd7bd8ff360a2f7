"""``vmksim compare``: two esxtop captures (or simulated runs) side by side."""

from __future__ import annotations

import argparse
from typing import Any

from vmksim.cli._common import (
    HelpFormatter,
    capture_input,
    parse_key_values,
    print_json,
    say_written,
    shown_source,
    text_output,
)

EPILOG = """\
examples:
  vmksim compare before.csv after.csv                  # host and per-VM figures, findings gone/new
  vmksim compare before.csv after.csv --report diff.html
  vmksim compare prod.csv simulated.csv --labels prod,sim --json
  vmksim run examples/nfv.toml --batch a.csv && vmksim compare a.csv b.csv

VMs are matched by name (group IDs change across power cycles). Figures are
per vCPU (group value / vCPUs), means over each capture; findings use the same
thresholds as `vmksim analyze` (override with --threshold NAME=VALUE).
"""


def register(sub: Any) -> None:
    p = sub.add_parser(
        "compare",
        help="compare two esxtop captures or runs: host, per-VM %%RDY/%%CSTP/N%%L, findings gone and new",
        description=(
            "Put two esxtop batch captures (real or simulated) side by side: host utilisation, per-VM\n"
            "figures and their differences, and which findings one has that the other has not."
        ),
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    p.add_argument("a", metavar="A.csv", help="first capture (before; '-': standard input)")
    p.add_argument("b", metavar="B.csv", help="second capture (after; '-': standard input)")
    p.add_argument(
        "--labels", default="A,B", metavar="A,B", help="names for the two captures (default: %(default)s)"
    )
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p.add_argument(
        "--report", metavar="OUT.html", help="write a self-contained HTML report (needs the 'report' extra)"
    )
    p.add_argument(
        "--threshold", action="append", metavar="NAME=VALUE", help="override a threshold (see analyze)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vmksim.analyze import Thresholds, analyze_file
    from vmksim.analyze.compare import compare
    from vmksim.errors import InputError

    labels = tuple(x.strip() for x in args.labels.split(","))
    if len(labels) != 2 or not all(labels):
        raise InputError(f"expected two names separated by a comma, got {args.labels!r}", source="--labels")
    thresholds = Thresholds().with_overrides(parse_key_values(args.threshold, "--threshold"))
    text_output(args.report, json_out=args.json)  # refuses --report - with --json before reading
    with capture_input(args.a, args.b) as (a, b):
        sides = analyze_file(a, thresholds), analyze_file(b, thresholds)
    for side, given in zip(sides, (args.a, args.b), strict=True):
        side.data.source = shown_source(given)
    comparison = compare(*sides)
    with text_output(args.report, json_out=args.json):
        if args.json:
            print_json({"labels": list(labels), **comparison.to_json()})
        else:
            from vmksim.analyze.text import print_comparison

            print_comparison(comparison, labels=(labels[0], labels[1]))
    if args.report:
        from vmksim.report import write_compare_report

        write_compare_report(comparison, args.report, (labels[0], labels[1]))
        say_written("report", args.report, args.json)
    return 0
