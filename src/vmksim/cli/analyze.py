"""``vmksim analyze``: what is wrong in an esxtop batch capture, the evidence, and the fix."""

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
  vmksim analyze capture.csv                       # summary and findings in the terminal
  vmksim analyze capture.csv --json > findings.json
  vmksim analyze capture.csv --report capture.html # one self-contained HTML file with plots
  vmksim analyze capture.csv --threshold rdy=15 --threshold nl=70
  vmksim analyze --list-thresholds

CAPTURE is an `esxtop -b` batch CSV (take it with `esxtop -b -a -d 5 -n 360 >
capture.csv` for NUMA figures), or one written by `vmksim run`. Files re-saved
by a spreadsheet are read with a warning. Figures are per vCPU (a VM's group
value divided by its vCPUs), as the rules of thumb are stated: %RDY > 10,
%CSTP > 3, any %MLMTD, %SWPWT > 5, ballooning or swapping, N%L < 80.
"""


def _threshold_help() -> str:
    from vmksim.analyze.thresholds import Thresholds

    return "\n".join(f"  {name:<16} {default:>6g}  {doc}" for name, default, doc in Thresholds.describe())


def register(sub: Any) -> None:
    p = sub.add_parser(
        "analyze",
        help="find problems in an esxtop capture (%%RDY, %%CSTP, limits, swapping, NUMA) with fixes",
        description=(
            "Read an esxtop batch capture (real or simulated), state the host and VM facts, and report\n"
            "findings per VM and per host with evidence (when, how much, which vCPUs), the likely cause\n"
            "and the fix a VMware engineer would suggest."
        ),
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    p.add_argument("capture", nargs="?", metavar="CAPTURE.csv", help="esxtop batch CSV ('-': standard input)")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p.add_argument(
        "--report", metavar="OUT.html", help="write a self-contained HTML report (needs the 'report' extra)"
    )
    p.add_argument(
        "--threshold",
        action="append",
        metavar="NAME=VALUE",
        help="override a threshold, e.g. rdy=15 (repeatable; see --list-thresholds)",
    )
    p.add_argument(
        "--list-thresholds", action="store_true", help="print the thresholds, defaults and sources"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vmksim.analyze import Thresholds, analyze_file
    from vmksim.errors import InputError

    if args.list_thresholds:
        print(_threshold_help())
        return 0
    if not args.capture:
        raise InputError("give an esxtop batch CSV to analyze", source="vmksim analyze")
    thresholds = Thresholds().with_overrides(parse_key_values(args.threshold, "--threshold"))
    text_output(args.report, json_out=args.json)  # refuses --report - with --json before reading
    with capture_input(args.capture) as (path,):
        analysis = analyze_file(path, thresholds)
    analysis.data.source = shown_source(args.capture)
    # The analysis is printed before the report is written, so a missing 'report' extra still
    # leaves the user with the analysis (issue 10 item 1).
    with text_output(args.report, json_out=args.json):
        if args.json:
            print_json(analysis.to_json())
        else:
            from vmksim.analyze.text import print_analysis

            print_analysis(analysis)
    if args.report:
        from vmksim.report import write_analysis_report

        write_analysis_report(analysis, args.report)
        say_written("report", args.report, args.json)
    return 0
