"""``vmksim demo``: the main job on the built-in default (NFV) scenario."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "demo",
        help="run the built-in NFV demonstration",
        description=(
            "Show how ESXi lays out the NFV tenant's VMs on a 2 x 24-core hyper-threaded host, then\n"
            "simulate the NFV scenario with the data-plane tenant's numa.vcpu.preferHT off and on and\n"
            "say what preferHT gained and what it cost (tenant %RDY/%LAT_C, neighbours %RDY/N%L)."
        ),
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vmksim.demo import run_demo

    return run_demo()
