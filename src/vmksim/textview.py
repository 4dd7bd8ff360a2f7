"""Terminal views of topologies and plans (rich), shared by the CLI and the demo."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from vmksim.console import make_console, user_text
from vmksim.numa.plan import VmPlan
from vmksim.topology import HostTopology
from vmksim.topology.model import memory_label
from vmksim.vmx import VmConfig

__all__ = ["plan_layout", "print_plans", "print_topology"]


def print_topology(host: HostTopology, console: Console | None = None) -> None:
    console = console or make_console()
    console.print(Text.assemble(user_text(host.name, "bold"), ": ", user_text(host.summary)))
    if host.cpu_model:
        console.print(Text.assemble("  CPU model: ", user_text(host.cpu_model)))
    if host.llc_per_node > 1:
        console.print(f"  LLC domains: {host.llc_per_node} per node of {host.cores_per_llc} cores")
    table = Table("NUMA node", "socket", "cores", "PCPUs (ESXi numbering)", "memory", box=None)
    for node in range(host.numa_nodes):
        pcpus = host.node_pcpus(node)
        first_core = node * host.cores_per_node
        table.add_row(
            str(node),
            str(node // host.nodes_per_socket),
            f"{first_core}-{first_core + host.cores_per_node - 1}",
            f"{pcpus.start}-{pcpus.stop - 1}",
            memory_label(host.memory_per_node_mb),
        )
    console.print(table)
    if host.ht:
        console.print("  Hyper-threads of a core are adjacent PCPUs: 0+1 = core 0, 2+3 = core 1, ...")


def plan_layout(plan: VmPlan) -> tuple[str, str]:
    """Short guest-view and client strings, e.g. ('2 x 16', '16@0 + 16@1')."""
    sizes_v = plan.vcpus_per_vnuma_node
    if plan.vnuma_nodes == 1:
        vnuma = "UMA"
    elif plan.vnuma_nodes > 2 and len(set(sizes_v)) == 1:
        vnuma = f"{plan.vnuma_nodes} x {sizes_v[0]}"
    else:
        vnuma = " + ".join(map(str, sizes_v))
    if not plan.numa_managed:
        clients = "not NUMA-managed"
    else:
        sizes = {c.size for c in plan.clients}
        if len(plan.clients) > 2 and len(sizes) == 1:
            nodes = ",".join("+".join(map(str, c.nodes)) for c in plan.clients)
            clients = f"{len(plan.clients)} x {sizes.pop()} @ nodes {nodes}"
        else:
            clients = " + ".join(f"{c.size}@{'+'.join(map(str, c.nodes))}" for c in plan.clients)
    return vnuma, clients


def print_plans(
    host: HostTopology, vms: Sequence[VmConfig], plans: Sequence[VmPlan], console: Console | None = None
) -> None:
    console = console or make_console(soft_wrap=True)
    console.print(Text.assemble("Host ", user_text(host.name, "bold"), ": ", user_text(host.summary), "\n"))
    for vm, plan in zip(vms, plans, strict=True):
        mem = f", {vm.memory_mb // 1024} GB" if vm.memory_mb else ""
        console.print(
            Text.assemble(user_text(plan.name, "bold"), f" ({plan.vcpus} vCPUs{mem}) on ESXi {plan.esxi}")
        )
        vnuma, clients = plan_layout(plan)
        rows = [
            (
                "guest sees",
                f"{plan.vnuma_nodes} vNUMA node(s): {vnuma}; "
                f"{plan.virtual_sockets} socket(s) x {plan.cores_per_virtual_socket} cores",
            ),
            ("NUMA clients", f"{plan.numa_clients}: {clients}" if plan.numa_managed else clients),
            ("vmware.log", plan.log_line),
        ]
        if plan.vmx_writes:
            rows.append((".vmx writes", ", ".join(f'{k} = "{v}"' for k, v in plan.vmx_writes.items())))
        # Explanations quote the VM's name and .vmx values: user data, printed as Text.
        for label, text in rows:
            console.print(user_text(f"  {label:<13} {text}"))
        console.print("  why:")
        for line in plan.explanation:
            console.print(user_text(f"    - {line}"))
        for line in plan.warnings:
            console.print(Text.assemble("  ", ("warning:", "yellow"), " ", user_text(line)))
        console.print()
