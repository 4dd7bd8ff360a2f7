"""``vmksim whatif``: infer a scenario from an esxtop capture, calibrate it, apply changes, compare."""

from __future__ import annotations

import argparse
import math
from typing import Any

from vmksim.cli._common import (
    HelpFormatter,
    input_file,
    parse_key_values,
    print_json,
    say_written,
    text_output,
)

EPILOG = """\
examples:
  vmksim whatif capture.csv --set capped:sched.cpu.max=unlimited      # remove a CPU limit
  vmksim whatif capture.csv --set db:numa.vcpu.preferHT=TRUE
  vmksim whatif capture.csv --set '*:sched.cpu.shares=high' --duration 120
  vmksim whatif capture.csv --host xeon-2x20-ht                       # same VMs, bigger host
  vmksim whatif capture.csv --add-vm batch:8:60:32 --remove-vm old-vm # NAME:VCPUS[:UTIL%[:MEM_GB]]
  vmksim whatif capture.csv --write-scenario inferred.toml            # then: vmksim run inferred.toml
  vmksim whatif capture.csv --set capped:sched.cpu.max=unlimited --report whatif.html --json

How: the host comes from the capture's PCPU and NUMA columns; each VM's size from
its vmx-vcpu worlds and memory; its demand from %USED (work done) and %WAIT
(think time) per vCPU, with the burst length from Wakeups/sec when captured
(-a), ready and co-stop being waits, not demand (see `python -m pydoc
vmksim.whatif`). The scenario is first simulated unchanged: the calibration
error is the mean |simulated - captured| %RDY per vCPU over the VMs. Then the
changes are applied and simulated with the same seed; before/after is shown
side by side. A limit of -1 or 'unlimited' removes it.
"""


def register(sub: Any) -> None:
    p = sub.add_parser(
        "whatif",
        help="what-if from a capture: infer the scenario, calibrate, change (preferHT, limits, host, VMs), compare",
        description=(
            "Infer a scenario (host, VMs, demand) from an esxtop capture, simulate it unchanged and report\n"
            "the calibration error against the capture's per-VM %RDY, then apply the changes and show the\n"
            "simulated before and after side by side."
        ),
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "capture", metavar="CAPTURE.csv", help="esxtop batch CSV (real, or from vmksim run --batch)"
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="VM:KEY=VALUE",
        help=".vmx key for a VM ('*' = every VM)",
    )
    p.add_argument("--host", metavar="HOST", help="run on this host instead: preset, key=value spec or file")
    p.add_argument("--add-vm", action="append", default=[], metavar="NAME:VCPUS[:UTIL[:GB]]", help="add a VM")
    p.add_argument("--remove-vm", action="append", default=[], metavar="NAME", help="remove a VM")
    p.add_argument(
        "--duration",
        type=float,
        default=None,
        metavar="SECONDS",
        help="simulated seconds per run (default: 60, or the capture's length if shorter)",
    )
    p.add_argument("--seed", type=int, default=1, help="simulation seed (default: %(default)s)")
    p.add_argument(
        "--engine",
        choices=("auto", "compiled", "python"),
        default="auto",
        help="kernel scheduler core: compiled with numba or interpreted (default: auto)",
    )
    p.add_argument(
        "--write-scenario", metavar="FILE.toml", help="write the inferred scenario (before changes)"
    )
    p.add_argument("--threshold", action="append", metavar="NAME=VALUE", help="override an analyze threshold")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p.add_argument(
        "--report", metavar="OUT.html", help="write a self-contained HTML report (needs the 'report' extra)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vmksim.analyze import Thresholds
    from vmksim.errors import InputError
    from vmksim.whatif import DEFAULT_DURATION_S, run_whatif, write_scenario

    duration = DEFAULT_DURATION_S if args.duration is None else args.duration
    if not math.isfinite(duration) or duration <= 0:
        raise InputError(f"must be a positive number of seconds, got {args.duration}", source="--duration")
    thresholds = Thresholds().with_overrides(parse_key_values(args.threshold, "--threshold"))
    text_output(args.write_scenario, args.report, json_out=args.json)  # bad outputs: said before simulating
    w = run_whatif(
        input_file(args.capture, capture=True),
        sets=args.set,
        host=args.host,
        add_vms=args.add_vm,
        remove_vms=args.remove_vm,
        duration_s=duration,
        seed=args.seed,
        thresholds=thresholds,
        jit={"auto": None, "compiled": True, "python": False}[args.engine],
    )
    with text_output(args.write_scenario, args.report, json_out=args.json):
        if args.json:
            print_json(w.to_json())
        else:
            from vmksim.analyze.text import print_whatif

            print_whatif(w)
    if args.write_scenario:
        write_scenario(w.scenario, args.write_scenario)
        say_written("scenario", args.write_scenario, args.json)
    if args.report:
        from vmksim.report import write_whatif_report

        write_whatif_report(w, args.report)
        say_written("report", args.report, args.json)
    return 0
