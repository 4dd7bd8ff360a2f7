"""The built-in default scenario: an NFV platform on 2 x 24-core hyper-threaded hosts.

``make demo`` runs this.

1. "How will ESXi lay out my VNF VMs?": VMs of 8-48 vCPUs, with and without
   ``numa.vcpu.preferHT``, on ESXi 8.0 and 6.0, side by side (each VM planned
   alone on an empty host).
2. "What does preferHT do to my tenant and to everyone else?": the packaged
   scenario ``data/scenarios/nfv-demo.toml`` simulated twice, without and with
   preferHT on the data-plane tenant, summarised side by side per vCPU.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from importlib import resources
from typing import Any

from rich.table import Table

from vmksim.console import ProgressObserver, make_console
from vmksim.numa.plan import plan_vm
from vmksim.textview import plan_layout
from vmksim.topology import PRESETS
from vmksim.vmx import vm_from_options

__all__ = ["DEMO_HOST", "DEMO_VCPUS", "TENANT", "demo_scenario", "plan_table", "preferht_table", "run_demo"]

DEMO_HOST = "nfv-2x24-ht"
DEMO_VCPUS = (8, 16, 24, 32, 48)
#: Extra rows with an explicit cores-per-socket: where 6.0 (cps drives vNUMA) and 8.0 differ.
DEMO_CPS_ROWS = ((32, 8), (48, 8))
DEMO_RELEASES = ("8.0", "6.0")
#: Memory given to each demo VNF per vCPU (GB); typical of packet-processing VNFs.
DEMO_GB_PER_VCPU = 4


def plan_table() -> Table:
    host = PRESETS[DEMO_HOST]
    table = Table(
        title=f"How ESXi lays out VNF VMs on {host.name} ({host.summary})",
        caption="guest view = vNUMA nodes the guest sees; clients = NUMA clients as vCPUs@home node",
    )
    table.add_column("vCPUs", justify="right")
    columns = [(esxi, ht) for esxi in DEMO_RELEASES for ht in (False, True)]
    for esxi, ht in columns:
        table.add_column(f"ESXi {esxi}\n{'preferHT' if ht else 'default'}")
    rows = [(v, None) for v in DEMO_VCPUS] + list(DEMO_CPS_ROWS)
    for vcpus, cps in rows:
        cells = []
        for esxi, ht in columns:
            vm, _ = vm_from_options(
                name=f"vnf-{vcpus}",
                vcpus=vcpus,
                cores_per_socket=cps,
                memory_gb=vcpus * DEMO_GB_PER_VCPU,
                settings={"numa.vcpu.preferHT": ht},
            )
            plan = plan_vm(host, vm, esxi)
            guest, clients = plan_layout(plan)
            mark = " [yellow]![/yellow]" if plan.warnings else ""
            cells.append(f"guest: {guest}\nclients: {clients}{mark}")
        table.add_row(f"{vcpus}" + (f"\ncps {cps}" if cps else ""), *cells)
    return table


#: The data-plane tenant of the demo scenario (the [[vm]] entry that asks for preferHT).
TENANT = "dp-vnf"
SCENARIO_FILE = "nfv-demo.toml"


def demo_scenario(prefer_ht: bool) -> Any:
    """The packaged NFV scenario, with preferHT on the tenant or not (one validated path)."""
    from vmksim.scenario import scenario_from_mapping

    ref = resources.files("vmksim") / "data" / "scenarios" / SCENARIO_FILE
    data = tomllib.loads(ref.read_text(encoding="utf-8"))
    for vm in data["vm"]:
        if vm["name"] == TENANT:
            vm.setdefault("settings", {})["numa.vcpu.preferHT"] = "TRUE" if prefer_ht else "FALSE"
    return scenario_from_mapping(data, source=f"vmksim/data/scenarios/{SCENARIO_FILE}")


def _is_tenant(name: str) -> bool:
    """`count = N` names VMs TENANT-1 ... TENANT-N; a single VM keeps the plain name."""
    return name == TENANT or name.startswith(TENANT + "-")


def _per_vcpu(rows: Sequence[Any], field: str) -> float:
    vcpus = sum(r.vcpus for r in rows)
    return sum(getattr(r, field) for r in rows) / vcpus if vcpus else 0.0


def _local(rows: Sequence[Any]) -> float:
    managed = [r for r in rows if r.local_pct == r.local_pct]  # NaN = not NUMA-managed
    weight = sum(r.vcpus for r in managed)
    return sum(r.local_pct * r.vcpus for r in managed) / weight if weight else float("nan")


def preferht_table(results: Sequence[Any]) -> Table:
    """Tenant vs everyone else, per vCPU, for each simulated variant (default, preferHT)."""
    table = Table(
        title=f"What numa.vcpu.preferHT on the {TENANT} tenant does (per-vCPU averages over the run)",
        caption="%USED is charged time (62.5 % while the sibling hyper-thread is busy); "
        "%LAT_C = time lost to contention, incl. HT sharing",
    )
    table.add_column("who")
    table.add_column("metric")
    for label in ("default", "preferHT"):
        table.add_column(label, justify="right")
    metrics = (
        ("%RUN", "run"),
        ("%USED", "used"),
        ("%RDY", "ready"),
        ("%CSTP", "costop"),
        ("%LAT_C", "latency"),
    )
    for who, pick in ((f"{TENANT} (tenant)", True), ("everyone else", False)):
        groups = [[r for r in res.summaries if _is_tenant(r.name) == pick] for res in results]
        for i, (label, field) in enumerate(metrics):
            table.add_row(who if i == 0 else "", label, *(f"{_per_vcpu(g, field):.1f}" for g in groups))
        table.add_row("", "N%L", *(f"{_local(g):.0f}" for g in groups))
        table.add_row("", "NMIG (sum)", *(str(sum(r.nmig for r in g)) for g in groups))
        homes = [" ".join(sorted({r.home_nodes for r in g})) for g in groups] if pick else None
        if homes:
            table.add_row("", "home nodes", *homes)
        table.add_section()
    return table


def run_demo() -> int:
    from vmksim.kernel import simulate

    console = make_console()
    console.print(plan_table())
    console.print(
        "[yellow]![/yellow] = vmksim has a warning for this layout; see "
        "`vmksim plan --host nfv-2x24-ht --vcpus N [--set numa.vcpu.preferHT=TRUE]` for why.\n"
    )
    results = []
    for prefer_ht in (False, True):
        scenario = demo_scenario(prefer_ht)
        label = "with" if prefer_ht else "without"
        console.print(
            f"Simulating {scenario.name} {label} preferHT on {TENANT}: {len(scenario.vms)} VMs, "
            f"{scenario.run.duration_s:.0f} s of host time ...",
            highlight=False,
        )
        results.append(simulate(scenario, observers=[ProgressObserver()]))
    console.print()
    console.print(preferht_table(results))
    console.print(
        f"Scenario: src/vmksim/data/scenarios/{SCENARIO_FILE}. Run your own with `vmksim run SCENARIO.toml`."
    )
    return 0
