"""``vmksim plan``: how ESXi would lay out VMs on a host (vNUMA, NUMA clients, home nodes), and why."""

from __future__ import annotations

import argparse
from typing import Any

from vmksim.cli._common import Bounded, HelpFormatter, input_file, parse_key_values, print_json

EPILOG = """\
examples:
  vmksim plan --host nfv-2x24-ht --vcpus 32 --set numa.vcpu.preferHT=TRUE
  vmksim plan --host xeon-2x20-ht --esxi 7.0 --vcpus 30 --cores-per-socket 2 --memory-gb 64
  vmksim plan --host sockets=2,cores_per_socket=24,threads_per_core=2,numa_nodes=2,memory_gb=768 db.vmx
  vmksim plan --host xeon-2x10-ht --esxi 6.5 --host-setting Numa.FollowCoresPerSocket=1 app.vmx --json
  vmksim plan --host nfv-2x24-ht vnf1.vmx vnf2.vmx vnf3.vmx     # powered on in order on one host

HOST is a preset (vmksim topology list), a key=value spec (numa_nodes and
memory_gb count the whole host), a sysfs root directory, or a file: hwloc XML
(lstopo --of xml), esxcli hardware cpu list + memory get text, or TOML.
"""


#: Smallest --memory-gb: one MB. memSize is whole MB (vmx.config.vm_from_options rounds GB x 1024),
#: so anything smaller becomes a VM with no memory at all.
MIN_MEMORY_GB = 1 / 1024


def register(sub: Any) -> None:
    p = sub.add_parser(
        "plan",
        help="how ESXi lays out a VM: vNUMA nodes, NUMA clients, home nodes, and why",
        description=(
            "Compute what ESXi would do with one or more VMs at power-on: the vNUMA topology the guest\n"
            "sees, the NUMA clients (PPDs) and their home nodes, what ESXi writes into the .vmx, and\n"
            "the warnings a VMware performance engineer would give."
        ),
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    p.add_argument("vmx", nargs="*", metavar="VMX", help=".vmx files, powered on in this order")
    p.add_argument(
        "--host", default="nfv-2x24-ht", help="host preset, spec, sysfs dir or file (default: %(default)s)"
    )
    p.add_argument(
        "--esxi", default="8.0", help="ESXi release: 4.0 4.1 5.x 6.0 6.5 6.7 7.0 8.0 (default: %(default)s)"
    )
    p.add_argument(
        "--host-setting",
        action="append",
        metavar="KEY=VALUE",
        help="host advanced setting, e.g. Numa.PreferHT=1",
    )
    g = p.add_argument_group("a VM from options (instead of, or besides, .vmx files)")
    g.add_argument("--vcpus", type=int, action=Bounded, low=1, help="numvcpus")
    g.add_argument("--cores-per-socket", type=int, action=Bounded, low=1, help="cpuid.coresPerSocket")
    g.add_argument("--memory-gb", type=float, action=Bounded, low=MIN_MEMORY_GB, help="memSize in GB")
    g.add_argument("--name", default="vm", help="displayName (default: %(default)s)")
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help=".vmx key for every VM, e.g. numa.vcpu.preferHT=TRUE (repeatable)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


#: The options of `plan` that build a VM, named in errors about their values (vm_from_options).
_OPTION_NAMES = {
    "name": "--name",
    "vcpus": "--vcpus",
    "cores_per_socket": "--cores-per-socket",
    "memory_gb": "--memory-gb",
    "settings": "--set ",
}


def run(args: argparse.Namespace) -> int:
    from vmksim.errors import InputError
    from vmksim.numa.plan import parse_esxi_version, plan_vms
    from vmksim.topology import resolve_host
    from vmksim.vmx import Place, read_vmx, vm_from_options, vm_from_vmx
    from vmksim.vmx.advanced import host_setting_problem, warn_unknown_host_settings

    host = resolve_host(args.host)
    parse_esxi_version(args.esxi)
    host_settings = parse_key_values(args.host_setting, "--host-setting")
    for key, value in host_settings.items():
        if (problem := host_setting_problem(key, value)) is not None:
            raise InputError(problem, where=f"--host-setting {key}")
    warn_unknown_host_settings(host_settings, "--host-setting ")
    overrides = parse_key_values(args.set, "--set")
    vms = []
    for path in args.vmx:
        vmx = read_vmx(input_file(path))
        for key, value in overrides.items():
            vmx.set(key, value, Place(None, f"--set {key}"))
        vms.append(vm_from_vmx(vmx))
    if args.vcpus is not None:
        vm, _ = vm_from_options(
            name=args.name,
            vcpus=args.vcpus,
            cores_per_socket=args.cores_per_socket,
            memory_gb=args.memory_gb,
            settings=overrides,
            source=None,
            names=_OPTION_NAMES,
        )
        vms.append(vm)
    if not vms:
        raise InputError("give one or more .vmx files, or --vcpus N", source="vmksim plan")
    plans = plan_vms(host, vms, args.esxi, host_settings)
    if args.json:
        data = [p.to_json() for p in plans]
        print_json(data[0] if len(data) == 1 else data)
        return 0
    from vmksim.textview import print_plans

    print_plans(host, vms, plans)
    return 0
