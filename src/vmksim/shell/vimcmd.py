"""``vim-cmd``: hostd's command line (vmsvc/..., hostsvc/...) over the simulated host.

ESXi counterpart: ``vim-cmd`` (vmfs-shell-elf-api.md §2.3). Data objects print in vim-cmd's
pyVmomi-like form: ``(vim.vm.Summary) {`` then ``name = value,`` lines indented three spaces per
level, strings in double quotes, managed object references as ``'vim.VirtualMachine:1'``,
unset values as ``<unset>``, nested objects as ``(type) { ... }``.

Implemented: ``vmsvc/getallvms``, ``vmsvc/get.summary VMID``, ``vmsvc/get.config VMID``,
``vmsvc/power.getstate VMID``, ``hostsvc/hostsummary``, ``hostsvc/advopt/view KEY``; arrays print
as ``(vim.X) [`` ... ``]``. The summaries carry a subset of their vSphere properties — only those
the simulation knows (listed in :func:`vm_summary` and :func:`host_summary`); quick stats are
averages since power-on (hostd's are 20-s samples). Power operations answer "not simulated yet".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from vmksim.shell.host import GUEST_OS, ShellHost, VmRecord
from vmksim.vmx import SHARE_LEVELS

__all__ = [
    "DataObject",
    "MoRef",
    "host_summary",
    "render_array",
    "render_object",
    "vim_cmd",
    "vm_config",
    "vm_summary",
]

INDENT = "   "


@dataclass(frozen=True, slots=True)
class MoRef:
    kind: str
    value: str


@dataclass(frozen=True, slots=True)
class DataObject:
    type_name: str
    fields: tuple[tuple[str, object], ...]


def _value(v: object, level: int) -> str:
    if isinstance(v, list):
        return render_array(v, level)
    if v is None:
        return "<unset>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return str(v)
    if isinstance(v, MoRef):
        return f"'vim.{v.kind}:{v.value}'"
    if isinstance(v, DataObject):
        return render_object(v, level)
    return f'"{v}"'


def render_object(obj: DataObject, level: int = 0) -> str:
    """*obj* in vim-cmd's nested form (the outermost without a trailing comma)."""
    pad = INDENT * (level + 1)
    lines = [f"({obj.type_name}) {{"]
    lines += [f"{pad}{name} = {_value(v, level + 1)}," for name, v in obj.fields]
    lines.append(INDENT * level + "}")
    return "\n".join(lines)


def render_array(items: list[DataObject], level: int = 0) -> str:
    """A data object array: ``(vim.X) [`` then the objects, comma-separated, then ``]``."""
    pad = INDENT * (level + 1)
    kind = items[0].type_name if items else "vmodl.DataObject"
    body = ",\n".join(pad + render_object(i, level + 1) for i in items)
    return f"({kind}) [\n{body}\n{INDENT * level}]" if items else f"({kind}) []"


def _used_mhz(h: ShellHost, vm: VmRecord) -> int:
    """The VM's CPU usage in MHz averaged since power-on: its worlds' charged time (%USED) × clock."""
    snap = h.snapshot()
    if snap.time_us <= 0:
        return 0
    gi = next(i for i, g in enumerate(h.esx.groups) if g.group_id == vm.group_id)
    mine = np.array([w.group == gi for w in h.esx.worlds])
    return round(float(snap.used[mine].sum()) / snap.time_us * h.scenario.host.mhz)


def vm_summary(h: ShellHost, vm: VmRecord) -> DataObject:
    """vim.vm.Summary: vm, runtime (powerState), config (name, path, CPUs, memory, guest, uuid),
    quickStats (overallCpuUsage MHz, uptimeSeconds)."""
    c = vm.config
    runtime = DataObject(
        "vim.vm.RuntimeInfo", (("host", MoRef("HostSystem", "ha-host")), ("powerState", "poweredOn"))
    )
    config = DataObject(
        "vim.vm.Summary.ConfigSummary",
        (
            ("name", vm.name),
            ("template", False),
            ("vmPathName", vm.datastore_path),
            ("memorySizeMB", c.memory_mb),
            ("cpuReservation", c.cpu_min_mhz),
            ("numCpu", c.vcpus),
            ("uuid", vm.uuid.replace(" ", "").replace("-", "")),
            ("guestId", GUEST_OS[1]),
        ),
    )
    stats = DataObject(
        "vim.vm.Summary.QuickStats",
        (("overallCpuUsage", _used_mhz(h, vm)), ("uptimeSeconds", h.now_us // 1_000_000)),
    )
    return DataObject(
        "vim.vm.Summary",
        (
            ("vm", MoRef("VirtualMachine", str(vm.vmid))),
            ("runtime", runtime),
            ("config", config),
            ("quickStats", stats),
        ),
    )


def _shares(shares: int, vcpus: int) -> DataObject:
    """vim.SharesInfo: the level whose per-vCPU shares match (vmksim.vmx.SHARE_LEVELS), else custom."""
    level = next((name for name, per in SHARE_LEVELS.items() if per * vcpus == shares), "custom")
    return DataObject("vim.SharesInfo", (("shares", shares), ("level", level)))


def vm_config(h: ShellHost, vm: VmRecord) -> DataObject:
    """vim.vm.ConfigInfo: name, version, uuid, guestId, files.vmPathName, hardware (numCPU,
    numCoresPerSocket, memoryMB), cpuAllocation (reservation, limit; -1 = unlimited, shares)."""
    c = vm.config
    hardware = DataObject(
        "vim.vm.VirtualHardware",
        (("numCPU", c.vcpus), ("numCoresPerSocket", c.cores_per_socket or 1), ("memoryMB", c.memory_mb)),
    )
    cpu = DataObject(
        "vim.ResourceAllocationInfo",
        (("reservation", c.cpu_min_mhz), ("limit", -1 if c.cpu_max_mhz is None else c.cpu_max_mhz),
         ("shares", _shares(c.cpu_shares, c.vcpus))),
    )  # fmt: skip
    return DataObject(
        "vim.vm.ConfigInfo",
        (
            ("name", vm.name),
            ("version", f"vmx-{vm.vmx['virtualHW.version']}"),
            ("uuid", vm.uuid.replace(" ", "").replace("-", "")),
            ("guestId", GUEST_OS[1]),
            ("files", DataObject("vim.vm.FileInfo", (("vmPathName", vm.datastore_path),))),
            ("hardware", hardware),
            ("cpuAllocation", cpu),
        ),
    )


def host_summary(h: ShellHost) -> DataObject:
    """vim.host.Summary: host, hardware (uuid, memorySize, cpuModel, cpuMhz, numCpuPkgs/Cores/Threads),
    runtime (connection and power state), config (name, product), quickStats (uptime)."""
    t = h.scenario.host
    version, build = h.release
    hardware = DataObject(
        "vim.host.Summary.HardwareSummary",
        (
            ("uuid", h.uuid),
            ("memorySize", t.memory_mb * 1024 * 1024),
            ("cpuModel", t.cpu_model),
            ("cpuMhz", t.mhz),
            ("numCpuPkgs", t.sockets),
            ("numCpuCores", t.cores),
            ("numCpuThreads", t.pcpus),
        ),
    )
    runtime = DataObject(
        "vim.host.RuntimeInfo", (("connectionState", "connected"), ("powerState", "poweredOn"))
    )
    product = DataObject(
        "vim.AboutInfo",
        (
            ("name", "VMware ESXi"),
            ("fullName", f"VMware ESXi {version} build-{build}"),
            ("version", version),
            ("build", str(build)),
            ("osType", "vmnix-x86"),
        ),
    )
    config = DataObject("vim.host.Summary.ConfigSummary", (("name", h.hostname), ("product", product)))
    stats = DataObject("vim.host.Summary.QuickStats", (("uptime", h.now_us // 1_000_000),))
    return DataObject(
        "vim.host.Summary",
        (("host", MoRef("HostSystem", "ha-host")), ("hardware", hardware), ("runtime", runtime),
         ("config", config), ("quickStats", stats)),
    )  # fmt: skip


def _getallvms(h: ShellHost, args: Sequence[str]) -> tuple[int, str]:
    # Columns: Vmid, Name, File, Guest OS, Version, Annotation (§2.3); widths fit the values.
    head = ("Vmid", "Name", "File", "Guest OS", "Version", "Annotation")
    rows = [
        (str(v.vmid), v.name, v.datastore_path, GUEST_OS[1], f"vmx-{v.vmx['virtualHW.version']}", "")
        for v in h.vms
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [head, *rows]]
    return 0, "\n".join(lines) + "\n"


def _vm_arg(h: ShellHost, args: Sequence[str], usage: str) -> VmRecord | str:
    if not args:
        return f"Insufficient arguments.\nUsage: {usage} vmid\n"
    vm = h.vm_by_vmid(int(args[0])) if args[0].isdigit() else None
    if vm is None:
        return f'Unable to find a VM corresponding to "{args[0]}"\n'
    return vm


def _get_summary(h: ShellHost, args: Sequence[str]) -> tuple[int, str]:
    vm = _vm_arg(h, args, "get.summary")
    if isinstance(vm, str):
        return 1, vm
    return 0, "Listsummary:\n" + render_object(vm_summary(h, vm)) + "\n"


def _get_config(h: ShellHost, args: Sequence[str]) -> tuple[int, str]:
    vm = _vm_arg(h, args, "get.config")
    if isinstance(vm, str):
        return 1, vm
    return 0, "Config:\n" + render_object(vm_config(h, vm)) + "\n"


def _advopt_view(h: ShellHost, args: Sequence[str]) -> tuple[int, str]:
    """``hostsvc/advopt/view Numa.PreferHT``: the option's value as an OptionValue array."""
    from vmksim.shell.esxcli import ADVANCED_OPTIONS, option_value

    if not args:
        return 1, "Insufficient arguments.\nUsage: advopt/view key\n"
    wanted = "/" + args[0].replace(".", "/")
    found = [o for o in ADVANCED_OPTIONS if o.path.lower() == wanted.lower()]
    if not found:
        return 1, f'(vim.fault.InvalidName) {{\n   name = "{args[0]}",\n   msg = ""\n}}\n'
    key = found[0].path.strip("/").replace("/", ".")
    value = DataObject("vim.option.OptionValue", (("key", key), ("value", option_value(h, found[0]))))
    return 0, render_array([value]) + "\n"


def _power_getstate(h: ShellHost, args: Sequence[str]) -> tuple[int, str]:
    vm = _vm_arg(h, args, "power.getstate")
    if isinstance(vm, str):
        return 1, vm
    return 0, "Retrieved runtime info\nPowered on\n"


def _hostsummary(h: ShellHost, args: Sequence[str]) -> tuple[int, str]:
    return 0, render_object(host_summary(h)) + "\n"


def _not_simulated(op: str) -> Callable[[ShellHost, Sequence[str]], tuple[int, str]]:
    def run(h: ShellHost, args: Sequence[str]) -> tuple[int, str]:
        return 1, f"vmsvc/{op}: not simulated yet: vmksim's kernel cannot change a VM's power state\n"

    return run


COMMANDS: dict[str, Callable[[ShellHost, Sequence[str]], tuple[int, str]]] = {
    "vmsvc/getallvms": _getallvms,
    "vmsvc/get.summary": _get_summary,
    "vmsvc/get.config": _get_config,
    "hostsvc/advopt/view": _advopt_view,
    "vmsvc/power.getstate": _power_getstate,
    "hostsvc/hostsummary": _hostsummary,
    **{
        f"vmsvc/{op}": _not_simulated(op) for op in ("power.on", "power.off", "power.shutdown", "power.reset")
    },
}


def vim_cmd(h: ShellHost, argv: Sequence[str]) -> tuple[int, str]:
    """Run ``vim-cmd ARGV``: (status, text)."""
    if not argv:
        lines = ["Commands available under /:", *sorted({c.split("/")[0] + "/" for c in COMMANDS})]
        return 0, "\n".join(lines) + "\n"
    name = argv[0].strip("/")
    if name in ("vmsvc", "hostsvc"):
        subs = sorted(c.split("/", 1)[1] for c in COMMANDS if c.startswith(name + "/"))
        return 0, f"Commands available under {name}/:\n" + "\n".join(subs) + "\n"
    fn = COMMANDS.get(name)
    if fn is None:
        return 1, f"vim-cmd: unknown command {name}\n"
    h.sync()
    return fn(h, list(argv[1:]))
