"""``vmksim topology``: show a host's topology and the presets."""

from __future__ import annotations

import argparse
from typing import Any

from vmksim.cli._common import HelpFormatter, print_json
from vmksim.console import make_console

EPILOG = """\
examples:
  vmksim topology list
  vmksim topology show nfv-2x24-ht
  vmksim topology show sockets=2,cores_per_socket=20,threads_per_core=2,numa_nodes=4,memory_gb=512
  vmksim topology show /            # this Linux machine, from /sys
  vmksim topology show host.xml     # lstopo --of xml > host.xml
  vmksim topology show esxcli.txt   # esxcli hardware cpu list; esxcli hardware memory get
"""


def register(sub: Any) -> None:
    p = sub.add_parser(
        "topology",
        help="show a host's sockets, NUMA nodes, cores, threads and ESXi PCPU numbering",
        description="Show host topologies as ESXi sees them (PCPU = hardware thread, siblings adjacent).",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    tsub = p.add_subparsers(dest="action", metavar="ACTION")
    tsub.required = True
    show = tsub.add_parser("show", help="print one host", epilog=EPILOG, formatter_class=HelpFormatter)
    show.add_argument("host", metavar="HOST", help="preset, key=value spec, sysfs root, or topology file")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(func=run_show)
    lst = tsub.add_parser(
        "list",
        help="list the presets",
        epilog="examples:\n  vmksim topology list\n  vmksim topology list | grep ht\n",
        formatter_class=HelpFormatter,
    )
    lst.set_defaults(func=run_list)


def run_show(args: argparse.Namespace) -> int:
    from vmksim.topology import resolve_host

    host = resolve_host(args.host, option="HOST")
    if args.json:
        data = host.to_dict()
        data["pcpu_list"] = [p._asdict() for p in host.pcpu_list]
        print_json(data)
        return 0
    from vmksim.textview import print_topology

    print_topology(host)
    return 0


def run_list(args: argparse.Namespace) -> int:
    from rich.table import Table

    from vmksim.topology import PRESETS

    table = Table("preset", "sockets x cores", "HT", "NUMA nodes", "memory", "description", box=None)
    for name in sorted(PRESETS):
        h = PRESETS[name]
        table.add_row(
            name,
            f"{h.sockets} x {h.cores_per_socket}",
            "yes" if h.ht else "no",
            f"{h.numa_nodes} x {h.cores_per_node} cores",
            f"{h.memory_mb // 1024} GB",
            h.description,
        )
    make_console().print(table)
    return 0
