"""``vmksim demo``: the main job on the built-in default (NFV) scenario."""

from __future__ import annotations

import argparse
from typing import Any

DESCRIPTION = """\
Show how ESXi lays out the NFV tenant's VMs on a 2 x 24-core hyper-threaded
host (vNUMA and NUMA clients per ESXi release, with and without preferHT),
then simulate the NFV scenario with preferHT off and on for the data-plane
tenant and put its %RDY and %LAT_C beside its neighbours' side by side.
"""


def register(sub: Any) -> None:
    p = sub.add_parser(
        "demo",
        help="run the built-in NFV demonstration",
        description=DESCRIPTION,
        epilog="examples:\n  vmksim demo\n  vmksim demo | less -R\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vmksim.demo import run_demo

    return run_demo()
