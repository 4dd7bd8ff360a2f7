"""``vmksim whatif``: infer a scenario from an esxtop capture, calibrate it, apply changes, compare."""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING, Any

from vmksim.cli._common import (
    SECONDS,
    Bounded,
    HelpFormatter,
    OneOf,
    capture_input,
    parse_key_values,
    print_json,
    say_written,
    shown_source,
    text_output,
)
from vmksim.errors import InputError

if TYPE_CHECKING:
    from vmksim.whatif import SetChange

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
its vmx-vcpu worlds and memory; its demand from %RUN (work done; %USED capped
at %RUN on HT hosts) and %WAIT (think time) per vCPU, one burst per wake-up
when Wakeups/sec is captured (-a), ready and co-stop being waits, not demand;
a limit from Alloc Max (-a) or, on default captures, from %MLMTD; the non-VM
groups' CPU (system, helper, hostd, ...) becomes [host.system] cpu_pct; the run keeps the
capture's interval (see `python -m pydoc vmksim.whatif`). The scenario is
first simulated unchanged: the calibration compares %RUN, %RDY and %MLMTD per
VM and the host's PCPU UTIL with the capture (error relative to the captured
value). Then the changes are applied and simulated with the same seed;
before/after is shown side by side. A limit of -1 or 'unlimited' removes it.
On a default-field capture (no esxtop -a) shares and reservations are not in
the capture, so such changes are reported as not predictable, not simulated.
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
        "capture",
        metavar="CAPTURE.csv",
        help="esxtop batch CSV (real, or from vmksim run --batch; '-': standard input)",
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
        **SECONDS,
        default=None,
        help="simulated seconds per run, rounded up to whole capture intervals (default: 60)",
    )
    p.add_argument(
        "--seed", type=int, action=Bounded, low=0, default=1, help="simulation seed (default: %(default)s)"
    )
    p.add_argument(
        "--engine",
        action=OneOf,
        allowed=("auto", "compiled", "python"),
        metavar="{auto,compiled,python}",
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


def parse_set(item: str) -> SetChange:
    """``VM:key=value`` → a SetChange; VM may hold colons, ``*`` means every VM; an empty value, or
    -1/"unlimited" for a limit, removes the key (ESXi writes -1 or leaves the key out)."""
    from vmksim.whatif import LIMIT_KEYS, SetChange

    left, sep, value = item.partition("=")
    vm, colon, key = left.rpartition(":")
    if not sep or not colon or not key.strip():
        raise InputError(
            f"expected VM:KEY=VALUE (e.g. db:numa.vcpu.preferHT=TRUE), got {item!r}", source="--set"
        )
    key, value = key.strip(), value.strip()
    removed = value == "" or (key in LIMIT_KEYS and value.lower() in ("-1", "unlimited"))
    return SetChange(vm.strip() or "*", key, None if removed else value)


def parse_add_vm(item: str) -> dict[str, Any]:
    """``NAME:VCPUS[:UTIL_PCT[:MEMORY_GB]]`` → a scenario VM entry (onoff bursts of DEFAULT_BURST_MS)."""
    from vmksim.whatif import DEFAULT_BURST_MS

    parts = item.split(":")
    if len(parts) < 2 or len(parts) > 4 or not parts[0].strip():
        raise InputError(f"expected NAME:VCPUS[:UTIL_PCT[:MEMORY_GB]], got {item!r}", source="--add-vm")
    try:
        vcpus = int(parts[1])
        util = float(parts[2]) if len(parts) > 2 else 50.0
        memory = float(parts[3]) if len(parts) > 3 else 4.0
    except ValueError:
        raise InputError(
            f"VCPUS, UTIL_PCT and MEMORY_GB must be numbers, got {item!r}", source="--add-vm"
        ) from None
    if vcpus < 1 or not 0 < util <= 100 or not 0 < memory < math.inf:  # NaN fails every comparison
        raise InputError(
            f"need VCPUS >= 1, 0 < UTIL_PCT <= 100, MEMORY_GB > 0; got {item!r}", source="--add-vm"
        )
    idle = DEFAULT_BURST_MS * (100.0 - util) / util
    return {
        "name": parts[0].strip(),
        "vcpus": vcpus,
        "memory_gb": memory,
        "workload": {"kind": "onoff", "busy_ms": DEFAULT_BURST_MS, "idle_ms": round(idle, 4)},
    }


def host_mapping_of(text: str) -> dict[str, Any]:
    """``--host`` (preset, key=value spec or file) as a scenario [host] table."""
    from vmksim.topology import resolve_host

    h = resolve_host(text)
    return {
        "name": h.name,
        "sockets": h.sockets,
        "cores_per_socket": h.cores_per_socket,
        "threads_per_core": h.threads_per_core,
        "numa_nodes": h.numa_nodes,
        "memory_gb": h.memory_mb / 1024,
        "mhz": h.mhz,
        "llc_per_node": h.llc_per_node,
    }


def run(args: argparse.Namespace) -> int:
    from vmksim.analyze import Thresholds
    from vmksim.whatif import DEFAULT_DURATION_S, run_whatif, write_scenario

    duration = DEFAULT_DURATION_S if args.duration is None else args.duration  # range: _common.Bounded
    thresholds = Thresholds().with_overrides(parse_key_values(args.threshold, "--threshold"))
    text_output(args.write_scenario, args.report, json_out=args.json)  # bad outputs: said before simulating
    changes: dict[str, Any] = {
        "sets": [parse_set(x) for x in args.set],
        "host": host_mapping_of(args.host) if args.host is not None else None,
        "add_vms": [parse_add_vm(x) for x in args.add_vm],
        "remove_vms": args.remove_vm,
    }
    with capture_input(args.capture) as (path,):
        w = run_whatif(
            path,
            **changes,
            duration_s=duration,
            seed=args.seed,
            thresholds=thresholds,
            jit={"auto": None, "compiled": True, "python": False}[args.engine],
        )
    w.capture.data.source = shown_source(args.capture)
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
