"""``esxcli``: the namespace/command tree, its help, option parsing, and answers from the kernel.

ESXi counterpart: ``esxcli`` (and ``localcli``), vmfs-shell-elf-api.md §2.2. The tree is data
modelled on govmomi's dump of real command info (namespace, method, help, parameters with
aliases and flag/value, ``formatter`` hint, ``fields:TYPE`` hint, ``header:TYPE`` hint;
https://github.com/vmware/govmomi/blob/main/simulator/esx/command_info.go). Only the commands
below exist; every one answers from :class:`~vmksim.shell.host.ShellHost`. Type names for
keyvalue/xml are ESXi's where public (VersionGet from public scripts, PlatformGet and
SettingsAdvancedOption from govmomi); the others are marked ``# unverified``.

Error lines follow ESXi's ``Error: ...`` style (from ESXi experience, not re-verified in a public
source) with exit status 1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from vmksim.shell.formatters import FieldType, FormatError, FormatParams, Struct, render
from vmksim.shell.host import ShellHost
from vmksim.vmx.advanced import ADVANCED_OPTIONS, AdvancedOption

__all__ = [
    "ADVANCED_OPTIONS",
    "COMMANDS",
    "NAMESPACES",
    "AdvancedOption",
    "EsxcliError",
    "esxcli",
    "option_value",
]

S, INT, B = FieldType.STRING, FieldType.INTEGER, FieldType.BOOLEAN


class EsxcliError(Exception):
    """An esxcli error line (printed as ``Error: MESSAGE``, status 1)."""


@dataclass(frozen=True, slots=True)
class Param:
    name: str  # display name: world-id
    aliases: tuple[str, ...]  # ("-w", "--world-id")
    help: str
    flag: bool = False
    required: bool = False


Args = dict[str, str | bool]
Handler = Callable[[ShellHost, Args], "Struct | list[Struct] | str"]


@dataclass(frozen=True, slots=True)
class Command:
    namespace: str  # "vm.process"
    name: str  # "list"
    help: str
    handler: Handler
    formatter: str = "simple"  # default formatter hint: simple | table | "" (no output)
    params: tuple[Param, ...] = field(default=())


NOT_SIMULATED = "not simulated yet: vmksim's kernel cannot {what} a running host"


# --- handlers -----------------------------------------------------------------------------------
def _version(h: ShellHost, a: Args) -> Struct:
    version, build = h.release
    return Struct(
        "VersionGet",
        (
            ("Product", S, "VMware ESXi"),
            ("Version", S, version),
            ("Build", S, f"Releasebuild-{build}"),
            ("Update", S, "0"),
            ("Patch", S, "0"),
        ),
    )


def _hostname(h: ShellHost, a: Args) -> Struct:
    return Struct(
        "HostnameGet",  # unverified
        (
            ("Domain Name", S, ""),
            ("Fully Qualified Domain Name", S, h.hostname),
            ("Host Name", S, h.hostname),
        ),
    )


def _uuid(h: ShellHost, a: Args) -> str:
    return h.uuid + "\n"


def option_value(h: ShellHost, opt: AdvancedOption) -> int:
    """The option's value on the host: the scenario's ``[host.settings]``, else the default."""
    key = opt.path.strip("/").replace("/", ".").lower()
    for k, v in h.scenario.host_settings.items():
        if k.lower() == key:
            try:
                return int(float(v))
            except ValueError:
                return opt.default
    return opt.default


def _advanced_list(h: ShellHost, a: Args) -> list[Struct]:
    wanted = a.get("option")
    tree = a.get("tree")
    opts = list(ADVANCED_OPTIONS)
    if isinstance(wanted, str):
        opts = [o for o in opts if o.path.lower() == wanted.lower()]
        if not opts:
            raise EsxcliError(f"Unable to find option {wanted.rsplit('/', 1)[-1]}")
    if isinstance(tree, str):
        opts = [o for o in opts if o.path.lower().startswith(tree.rstrip("/").lower() + "/")]
    rows = [_option_struct(h, o) for o in opts]
    if a.get("delta"):
        rows = [r for r, o in zip(rows, opts, strict=True) if option_value(h, o) != o.default]
    return rows


def _option_struct(h: ShellHost, o: AdvancedOption) -> Struct:
    return Struct(
        "SettingsAdvancedOption",
        (
            ("Path", S, o.path),
            ("Type", S, "integer"),
            ("Int Value", INT, option_value(h, o)),
            ("Default Int Value", INT, o.default),
            ("Min Value", INT, o.minimum),
            ("Max Value", INT, o.maximum),
            ("String Value", S, ""),
            ("Default String Value", S, ""),
            ("Valid Characters", S, ""),
            ("Description", S, o.description),
        ),
    )


def _not_simulated(what: str) -> Handler:
    def handler(h: ShellHost, a: Args) -> Struct:
        raise EsxcliError(NOT_SIMULATED.format(what=what))

    return handler


def _uptime(h: ShellHost, a: Args) -> str:
    """Microseconds since boot (the kernel's clock; the host boots at simulated time 0)."""
    return f"{h.now_us}\n"


def _filesystems(h: ShellHost, a: Args) -> list[Struct]:
    """The attached VMFS images (vmksim.vmfs), mounted by UUID. The simulated ``datastore1``
    holding the VMs' .vmx files has no volume behind it and is not listed."""
    rows = []
    for volume in h.datastores:
        info = volume.info()
        rows.append(
            Struct(
                "FilesystemVolume",  # unverified
                (
                    ("Mount Point", S, f"/vmfs/volumes/{info.uuid}"),
                    ("Volume Name", S, info.label),
                    ("UUID", S, info.uuid),
                    ("Mounted", B, True),
                    ("Type", S, f"{info.fs_type}-{6 if info.major >= 24 else 5}"),
                    ("Size", INT, info.capacity),
                    (
                        "Free",
                        INT if info.free is not None else S,
                        info.free if info.free is not None else "unknown",
                    ),
                ),
            )
        )
    return rows


def _extents(h: ShellHost, a: Args) -> list[Struct]:
    """Each attached volume's extents as its LVM header names them: ``DEVICE:PARTITION``
    (e.g. ``mpx.vmhba0:C0:T2:L0:1``), split into esxcli's Device Name and Partition. A bare
    image (no LVM header) names no device: the image file and partition 0 stand in."""
    rows = []
    for volume in h.datastores:
        info = volume.info()
        for number, (image, device, _, _, _) in enumerate(info.extents):
            name, _, part = device.rpartition(":")
            if not (name and part.isdigit()):
                name, part = device or image, "0"
            fields = (("Volume Name", S, info.label), ("VMFS UUID", S, info.uuid), ("Extent Number", INT, number),
                      ("Device Name", S, name), ("Partition", INT, int(part)))  # fmt: skip
            rows.append(Struct("VMFSExtent", fields))  # unverified type name
    return rows


def _cpu_global(h: ShellHost, a: Args) -> Struct:
    t = h.scenario.host
    return Struct(
        "CPUGlobalInfo",  # unverified
        (
            ("CPU Packages", INT, t.sockets),
            ("CPU Cores", INT, t.cores),
            ("CPU Threads", INT, t.pcpus),
            ("Hyperthreading Active", B, t.ht),
            ("Hyperthreading Supported", B, t.ht),
            ("Hyperthreading Enabled", B, t.ht),
        ),
    )


def _cpu_list(h: ShellHost, a: Args) -> list[Struct]:
    t = h.scenario.host
    return [
        Struct(
            "Cpu",  # unverified
            (
                ("Id", INT, p.id),
                ("Package Id", INT, p.socket),
                ("Core Id", INT, p.core),
                ("Node", INT, p.node),
                ("Brand", S, t.cpu_model),
                ("Core Speed", INT, t.mhz * 1_000_000),  # Hz, as esxcli prints it (vmksim.topology.esxcli)
            ),
            header=f"CPU:{p.id}",
        )
        for p in t.pcpu_list
    ]


def _memory(h: ShellHost, a: Args) -> Struct:
    t = h.scenario.host
    return Struct(
        "MemoryInfo",  # unverified
        (
            ("Physical Memory", S, f"{t.memory_mb * 1024 * 1024} Bytes"),
            ("Reliable Memory", S, "0 Bytes"),
            ("NUMA Node Count", INT, t.numa_nodes),
        ),
    )


def _platform(h: ShellHost, a: Args) -> Struct:
    # The platform is the simulator: no vendor, product or serial is invented for it.
    return Struct(
        "PlatformGet",
        (
            ("UUID", S, h.uuid),
            ("Product Name", S, "vmksim simulated host"),
            ("Vendor Name", S, "vmksim"),
            ("Serial Number", S, ""),
            ("Enclosure Serial Number", S, ""),
            ("BIOS Asset Tag", S, ""),
            ("IPMI Supported", B, False),
        ),
        header="Platform Information",
    )


def _vm_list(h: ShellHost, a: Args) -> list[Struct]:
    # vm.process.list fields (type_info.go, §2.2). Process ID is 0 (the VMX is a userworld cartel,
    # not a POSIX process); the kernel has one vmx world per VM, shown as World ID and as the
    # cartel ID (a simplification: the real cartel ID is a separate number).
    return [
        Struct(
            "VirtualMachine",  # unverified
            (
                ("World ID", INT, vm.world_id),
                ("Process ID", INT, 0),
                ("VMX Cartel ID", INT, vm.world_id),
                ("UUID", S, vm.uuid),
                ("Display Name", S, vm.name),
                ("Config File", S, vm.vmx_path),
            ),
            header=vm.name,
        )
        for vm in h.vms
    ]


def _vm_kill(h: ShellHost, a: Args) -> str:
    kind = str(a.get("type", ""))
    if kind not in ("soft", "hard", "force"):
        raise EsxcliError(f"Invalid type {kind}: must be one of soft, hard, force")
    raw = str(a.get("world-id", ""))
    if not raw.isdigit() or h.vm_by_world(int(raw)) is None:
        raise EsxcliError(f"Unable to find a running VM with world ID {raw}")
    raise EsxcliError(NOT_SIMULATED.format(what="power off a VM on"))


WORLD_ID = Param(
    "world-id", ("-w", "--world-id"), "The World ID of the Virtual Machine to kill.", required=True
)
KILL_TYPE = Param(
    "type", ("-t", "--type"), "The type of kill operation to attempt: soft, hard, force.", required=True
)
OPTION = Param(
    "option", ("-o", "--option"), "Only get the information for a single VMkernel advanced option."
)

COMMANDS: tuple[Command, ...] = (
    Command("hardware.cpu", "list", "List all of the CPUs on this host.", _cpu_list),
    Command("hardware.cpu.global", "get", "Get properties that are global to all CPUs.", _cpu_global),
    Command("hardware.memory", "get", "Get information about memory.", _memory),
    Command("hardware.platform", "get", "Get information about the platform", _platform),
    Command(
        "system.hostname", "get", "Get the host, domain or fully qualified name of the ESX host.", _hostname
    ),
    Command(
        "system.settings.advanced",
        "list",
        "List the advanced options available from the VMkernel.",
        _advanced_list,
        params=(
            Param(
                "delta",
                ("-d", "--delta"),
                "Only display options whose values differ from their default.",
                True,
            ),
            OPTION,
            Param("tree", ("-t", "--tree"), "Limit the list of advanced option to a specific sub tree."),
        ),
    ),
    Command(
        "system.settings.advanced",
        "set",
        "Set the value of an advanced option.",
        _not_simulated("change an advanced option of"),
        formatter="",
        params=(
            Param("default", ("-d", "--default"), "Reset the option to its default value.", True),
            Param("int-value", ("-i", "--int-value"), "If the option is an integer value use this option."),
            Param("option", ("-o", "--option"), "The name of the option to set the value of.", required=True),
            Param("string-value", ("-s", "--string-value"), "If the option is a string use this option."),
        ),
    ),
    Command(
        "system.stats.uptime",
        "get",
        "Display the number of microseconds the system has been running.",
        _uptime,
        formatter="",
    ),
    Command("system.uuid", "get", "Get the system UUID.", _uuid, formatter=""),
    Command(
        "storage.filesystem",
        "list",
        "List the volumes available to the host.",
        _filesystems,
        formatter="table",
    ),
    Command(
        "storage.vmfs.extent",
        "list",
        "List the VMFS extents available on the host.",
        _extents,
        formatter="table",
    ),
    # Namespaces whose data the kernel does not have yet: a clear line, never invented values.
    Command(
        "network.nic",
        "list",
        "This command will list the Physical NICs currently installed and loaded on the system.",
        _not_simulated("list the NICs of"),
        formatter="table",
    ),
    Command(
        "network.vm",
        "list",
        "List networking information for the VM's that have active ports.",
        _not_simulated("list the VM ports of"),
        formatter="table",
    ),
    Command("system.version", "get", "Display the product name, version and build information.", _version),
    Command(
        "vm.process",
        "kill",
        "Used to forcibly kill Virtual Machines that are stuck and not responding to normal stop operations.",
        _vm_kill,
        formatter="",
        params=(KILL_TYPE, WORLD_ID),
    ),
    Command(
        "vm.process",
        "list",
        "List the virtual machines on this system. This command currently will only list running VMs on the system.",
        _vm_list,
    ),
)

#: Namespace help (the lines `esxcli` and `esxcli NS` print).
NAMESPACES: dict[str, str] = {
    "hardware": "VMKernel hardware properties and commands for configuring hardware.",
    "hardware.cpu": "Information and operations on the CPUs in the system.",
    "hardware.cpu.global": "Information and configuration global to all CPUs.",
    "hardware.memory": "Memory information.",
    "hardware.platform": "Platform information.",
    "system": "VMKernel system properties and commands for configuring properties of the kernel core system.",
    "system.hostname": "Operations pertaining the network name of the ESX host.",
    "system.settings": "Commands to configure system settings.",
    "system.stats": "System statistics.",
    "system.stats.uptime": "System uptime.",
    "storage": "VMware storage commands.",
    "storage.filesystem": "Operations pertaining to filesystems, also known as datastores, on the ESX host.",
    "storage.vmfs": "VMFS operations.",
    "storage.vmfs.extent": "List the VMFS extents available on the host.",
    "network": "Operations that pertain to the maintenance of networking on the ESX host.",
    "network.nic": "Operations having to do with the configuration of Network Interface Card.",
    "network.vm": "A set of commands for VM related operations",
    "system.settings.advanced": "The advanced settings are a set of VMkernel options that specific configuration settings to be modified.",
    "system.uuid": "Get the system UUID.",
    "system.version": "Commands to get version information.",
    "vm": "A small number of operations that allow a user to Control Virtual Machine operations.",
    "vm.process": "Operations on running virtual machine processes",
}


# --- help ---------------------------------------------------------------------------------------
def _children(ns: str) -> tuple[list[str], list[Command]]:
    depth = 0 if not ns else ns.count(".") + 1
    subs = sorted(n for n in NAMESPACES if n.count(".") == depth and (not ns or n.startswith(ns + ".")))
    cmds = [c for c in COMMANDS if c.namespace == ns]
    return subs, cmds


def namespace_help(ns: str) -> str:
    subs, cmds = _children(ns)
    words = ns.replace(".", " ")
    lines = [f"Usage: esxcli {words + ' ' if words else ''}{{cmd}} [cmd options]", ""]
    if not ns:
        lines[0] = "Usage: esxcli [options] {namespace}+ {cmd} [cmd options]"
        lines += [
            "Options:",
            "  --formatter=<str>     Override the formatter to use for a given command. Available formatter: xml, csv, keyvalue",
            "  --format-param=<str>  Formatter parameters: fields=A,B and show-header=false",
            "  --help                Show this help",
            "",
        ]
    if subs:
        lines += (
            ["Available Namespaces:"] + [f"  {n.rsplit('.', 1)[-1]:<22}{NAMESPACES[n]}" for n in subs] + [""]
        )
    if cmds:
        lines += ["Available Commands:"] + [f"  {c.name:<22}{c.help}" for c in cmds] + [""]
    return "\n".join(lines) + "\n"


def command_help(cmd: Command) -> str:
    words = cmd.namespace.replace(".", " ")
    lines = [
        f"Usage: esxcli {words} {cmd.name} [cmd options]",
        "",
        "Description: ",
        f"  {cmd.name:<22}{cmd.help}",
        "",
    ]
    lines.append("Cmd options:")
    for p in cmd.params:
        spell = "|".join(p.aliases) + ("" if p.flag else "=<str>")
        req = " (required)" if p.required else ""
        lines.append(f"  {spell:<22}{p.help}{req}")
    return "\n".join(lines) + "\n"


# --- dispatch -----------------------------------------------------------------------------------
@dataclass(slots=True)
class _Globals:
    formatter: str | None = None
    params: list[str] = field(default_factory=list)
    help: bool = False


def _globals(argv: list[str]) -> tuple[_Globals, list[str]]:
    g = _Globals()
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        arg = argv[i]
        name, sep, value = arg.partition("=")
        if name in ("--formatter", "--format-param") and not sep:
            if i + 1 >= len(argv):
                raise EsxcliError(f"Missing value for {name}")
            value, i = argv[i + 1], i + 1
        if name == "--formatter":
            g.formatter = value
        elif name == "--format-param":
            g.params.append(value)
        elif name in ("--help", "-h"):
            g.help = True
        elif name == "--debug":
            pass
        else:
            raise EsxcliError(f"Invalid option {arg}")
        i += 1
    return g, argv[i:]


def _resolve(words: list[str]) -> tuple[str, Command | None, list[str]]:
    """The longest namespace prefix of *words*, the command after it, and the remaining options."""
    ns = ""
    i = 0
    while i < len(words) and not words[i].startswith("-"):
        nxt = f"{ns}.{words[i]}" if ns else words[i]
        if nxt in NAMESPACES:
            ns, i = nxt, i + 1
            continue
        cmd = next((c for c in COMMANDS if c.namespace == ns and c.name == words[i]), None)
        if cmd is None:
            raise EsxcliError(f"Unknown command or namespace {' '.join(words[: i + 1])}")
        return ns, cmd, words[i + 1 :]
    return ns, None, words[i:]


def _parse_options(cmd: Command, argv: list[str]) -> tuple[Args, bool]:
    by_alias = {a: p for p in cmd.params for a in p.aliases}
    args: Args = {}
    want_help = False
    i = 0
    while i < len(argv):
        raw = argv[i]
        name, sep, value = raw.partition("=")
        if name in ("--help", "-h"):
            want_help = True
            i += 1
            continue
        param = by_alias.get(name)
        if param is None:
            raise EsxcliError(f"Invalid option {name}")
        if param.flag:
            args[param.name] = True
        elif sep:
            args[param.name] = value
        elif i + 1 < len(argv):
            args[param.name], i = argv[i + 1], i + 1
        else:
            raise EsxcliError(f"Missing value for option {name}")
        i += 1
    if not want_help:
        for p in cmd.params:
            if p.required and p.name not in args:
                raise EsxcliError(f"Missing required parameter {'|'.join(p.aliases)}")
    return args, want_help


def esxcli(host: ShellHost, argv: Sequence[str]) -> tuple[int, str]:
    """Run ``esxcli ARGV`` on *host*: (exit status, text). Errors come back as ``Error: ...`` text."""
    try:
        g, rest = _globals(list(argv))
        ns, cmd, options = _resolve(rest)
        if cmd is None:
            if options and not g.help and options[0] not in ("--help", "-h"):
                raise EsxcliError(f"Invalid option {options[0]}")
            return 0, namespace_help(ns)
        args, want_help = _parse_options(cmd, options)
        if want_help or g.help:
            return 0, command_help(cmd)
        params = FormatParams.parse(g.params)
        host.sync()
        data = cmd.handler(host, args)
        if isinstance(data, str):
            return 0, data
        return 0, render(data, g.formatter or cmd.formatter or "simple", params)
    except (EsxcliError, FormatError) as exc:
        return 1, f"Error: {exc}\n"
