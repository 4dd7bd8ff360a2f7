"""The built-in default scenario: an NFV platform on 2 x 24-core hyper-threaded hosts.

``make demo`` runs this. Part 1 answers "how will ESXi lay out my VNF VMs?":
VMs of 8-48 vCPUs, with and without ``numa.vcpu.preferHT``, on ESXi 8.0 and
6.0, side by side. Each VM is planned alone on an empty host.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from vmksim.numa.plan import plan_vm
from vmksim.textview import plan_layout
from vmksim.topology import PRESETS
from vmksim.vmx import vm_from_options

__all__ = ["DEMO_HOST", "DEMO_VCPUS", "plan_table", "run_demo"]

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


def run_demo() -> int:
    console = Console(width=max(Console().width, 100))
    console.print(plan_table())
    console.print(
        "[yellow]![/yellow] = vmksim has a warning for this layout; see "
        "`vmksim plan --host nfv-2x24-ht --vcpus N [--set numa.vcpu.preferHT=TRUE]` for why.\n"
    )
    return 0
