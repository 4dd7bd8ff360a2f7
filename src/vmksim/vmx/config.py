"""The VM configuration the schedulers use, built from a ``.vmx``.

ESXi counterpart: the keys of the VM's configuration file that the CPU, NUMA
and memory schedulers read at power-on. Defaults and meanings come from
esxi-scheduler.md §1.3 (shares: low/normal/high = 500/1000/2000 per vCPU),
§1.8 (latency sensitivity), §1.9 (affinity), §2.3 and the table in §2.8
(numa.* keys and their defaults). Every path into a VM — a ``.vmx`` file,
CLI options, a scenario — goes through :func:`vm_from_vmx`, so validation and
defaults live in one place.
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from vmksim.errors import InputWarning, VmxError
from vmksim.topology.model import MAX_LOGICAL_CPUS
from vmksim.vmx.file import Place, VmxFile, parse_vmx, read_vmx

__all__ = [
    "DEFAULT_NUMA_VCPU_MIN",
    "SHARE_LEVELS",
    "LatencySensitivity",
    "VmConfig",
    "load_vm",
    "parse_bool",
    "vm_from_options",
    "vm_from_vmx",
]

#: CPU shares per vCPU for each level (RM 7.0 "Share values", esxi-scheduler.md §1.3).
SHARE_LEVELS: dict[str, int] = {"low": 500, "normal": 1000, "high": 2000}
#: Memory shares per MB of configured memory for each level (same doc: 5/10/20 per MB).
MEM_SHARE_LEVELS: dict[str, int] = {"low": 5, "normal": 10, "high": 20}
#: numa.vcpu.min default: fewer vCPUs never see vNUMA (RM 6.0/6.5, esxi-scheduler.md §2.3).
DEFAULT_NUMA_VCPU_MIN = 9
#: ESXi 8.0 virtual machine maxima: 768 vCPUs and 24 TB of memory per VM (VMware Configuration
#: Maximums tool, https://configmax.esp.vmware.com/ , vSphere 8.0 "Virtual Machine Maximums"; the
#: same figures appear in public vSphere 8 comparisons). ESXi refuses a VM beyond them.
MAX_VM_VCPUS = 768
MAX_VM_MEMORY_MB = 24 * 1024 * 1024
#: Largest value of any other integer key vmksim reads (MHz, MB, shares, counts). Not an ESXi
#: figure: no meaningful value reaches it on a host within ESXi's maxima (24 TB = 25,165,824 MB;
#: 896 PCPUs x 10 GHz = 8,960,000 MHz), and refusing larger ones keeps hostile values from
#: overflowing the kernel's 64-bit counters.
MAX_VMX_INT = 2**31 - 1
#: Most CPUs or nodes an affinity list may name: ESXi's per-host maximum of logical CPUs;
#: a list is checked before it is expanded.
MAX_AFFINITY_ITEMS = MAX_LOGICAL_CPUS

_RANGE = re.compile(r"([0-9]{1,12})(?:-([0-9]{1,12}))?")
_INT_TEXT = re.compile(r"[+-]?[0-9]{1,19}")
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


class LatencySensitivity(Enum):
    LOW = "low"
    NORMAL = "normal"
    MEDIUM = "medium"
    HIGH = "high"


def parse_bool(value: str, *, key: str, source: str | None, where: str | int | None) -> bool:
    """ESXi accepts TRUE/FALSE in any case, and yes/no, on/off, 1/0."""
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise VmxError(f"{key} must be TRUE or FALSE, got {value!r}", source=source, where=where)


#: The place of a value nobody located (a VmConfig built directly, in tests).
_NOWHERE = Place(None, None)


@dataclass(frozen=True, slots=True)
class VmConfig:
    """A VM as the VMkernel schedulers see it. ``None`` means "not set" (ESXi decides)."""

    name: str
    vcpus: int
    cores_per_socket: int | None
    memory_mb: int
    # CPU allocation (sched.cpu.*)
    cpu_shares: int
    cpu_min_mhz: int
    cpu_max_mhz: int | None
    cpu_affinity: tuple[int, ...] | None
    latency_sensitivity: LatencySensitivity
    # memory allocation (sched.mem.*)
    mem_min_mb: int
    mem_shares: int
    mem_max_mb: int | None
    # NUMA / vNUMA (numa.*)
    prefer_ht: bool
    numa_vcpu_min: int
    max_per_virtual_node: int | None
    max_per_machine_node: int | None
    max_per_client: int | None
    follow_cores_per_socket: bool
    cores_per_node: int | None
    autosize: bool
    autosize_once: bool
    autosize_max_per_virtual_node: int | None
    autosize_cookie: str | None
    consolidate: bool
    node_affinity: tuple[int, ...] | None
    cpu_hotadd: bool
    allow_hotadd: bool
    hw_version: int | None
    source: str = "<vmx>"
    #: Where numvcpus came from (file and line, or the option that set it), for errors that
    #: depend on the host.
    vcpus_place: Place = _NOWHERE

    @property
    def virtual_sockets(self) -> int:
        return self.vcpus // (self.cores_per_socket or 1)


def _int(
    vmx: VmxFile, key: str, default: int | None, *, minimum: int = 0, maximum: int = MAX_VMX_INT
) -> int | None:
    raw = vmx.get(key)
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip()
    if not _INT_TEXT.fullmatch(text):
        shown = raw if len(raw) <= 40 else raw[:37] + "..."
        raise VmxError(f"{key} must be a whole number, got {shown!r}", **vmx.place(key)._asdict())
    value = int(text, 10)
    if value < minimum:
        raise VmxError(f"{key} must be at least {minimum}, got {value}", **vmx.place(key)._asdict())
    if value > maximum:
        raise VmxError(f"{key} must be at most {maximum}, got {value}", **vmx.place(key)._asdict())
    return value


def _bool(vmx: VmxFile, key: str, default: bool) -> bool:
    raw = vmx.get(key)
    return default if raw is None else parse_bool(raw, key=key, **vmx.place(key)._asdict())


def _cpu_list(vmx: VmxFile, key: str) -> tuple[int, ...] | None:
    """An affinity list (``0,2,4-7`` or ``all``), bounded before it is expanded (issue 11 item 8)."""
    raw = vmx.get(key)
    if raw is None or raw.strip().lower() in ("", "all"):
        return None
    out: set[int] = set()
    shown = raw if len(raw) <= 40 else raw[:37] + "..."
    for part in raw.replace(" ", "").split(","):
        m = _RANGE.fullmatch(part)
        lo = int(m.group(1)) if m else 0
        hi = int(m.group(2) or lo) if m else -1
        if hi < lo:
            raise VmxError(
                f"{key} must be a list like '0,2,4-7' or 'all', got {shown!r}",
                **vmx.place(key)._asdict(),
            )
        if hi >= MAX_AFFINITY_ITEMS:
            raise VmxError(
                f"{key} names {hi}, beyond the {MAX_AFFINITY_ITEMS} logical CPUs ESXi 8.0 supports per host",
                **vmx.place(key)._asdict(),
            )
        out.update(range(lo, hi + 1))
    return tuple(sorted(out))


def _shares(vmx: VmxFile, key: str, levels: dict[str, int], per: int) -> int:
    raw = vmx.get(key)
    if raw is None:
        return levels["normal"] * per
    level = raw.strip().lower()
    if level in levels:
        return levels[level] * per
    value = _int(vmx, key, None, minimum=1)
    if value is None:
        raise VmxError(f"{key} is empty", **vmx.place(key)._asdict())
    return value


def _limit(vmx: VmxFile, key: str, reservation_key: str) -> int | None:
    """A limit (-1 = unlimited, as ESXi writes it) that is not below the reservation.

    vSphere refuses a limit below the reservation: "If the limit is configured, it must be
    greater than or equal to the reservation" (vSphere API, ResourceAllocationInfo,
    https://developer.broadcom.com/xapis/virtual-infrastructure-json-api/latest/data-structures/ResourceAllocationInfo).
    """
    limit = _int(vmx, key, None, minimum=-1)
    reservation = _int(vmx, reservation_key, 0) or 0
    if limit is not None and limit >= 0 and limit < reservation:
        raise VmxError(
            f"{key} = {limit} is below {reservation_key} = {reservation}; ESXi requires a limit "
            "at least as large as the reservation",
            **vmx.place(key)._asdict(),
        )
    return limit


#: Every .vmx key vmksim reads (vm_from_vmx); a key set by an option or a scenario that is not
#: one of them is probably misspelt and gets a warning naming the nearest (issue 10).
KNOWN_KEYS: tuple[str, ...] = (
    "displayName",
    "numvcpus",
    "cpuid.coresPerSocket",
    "memSize",
    "virtualHW.version",
    "sched.cpu.shares",
    "sched.cpu.min",
    "sched.cpu.max",
    "sched.cpu.affinity",
    "sched.cpu.latencySensitivity",
    "sched.mem.min",
    "sched.mem.max",
    "sched.mem.shares",
    "numa.vcpu.preferHT",
    "numa.vcpu.min",
    "numa.vcpu.maxPerVirtualNode",
    "numa.vcpu.maxPerMachineNode",
    "numa.vcpu.maxPerClient",
    "numa.vcpu.followcorespersocket",
    "numa.vcpu.coresPerNode",
    "numa.autosize",
    "numa.autosize.once",
    "numa.autosize.vcpu.maxPerVirtualNode",
    "numa.autosize.cookie",
    "numa.consolidate",
    "numa.nodeAffinity",
    "vcpu.hotadd",
    "numa.allowHotadd",
)
_KNOWN_LOWER = {k.lower(): k for k in KNOWN_KEYS}


def _warn_unknown_keys(vmx: VmxFile) -> None:
    """Warn about keys given as options (not read from the file) that vmksim does not know.

    Keys from the file itself are not checked: real .vmx files carry many keys vmksim has
    no use for (devices, paths), and they are kept as they are.
    """
    for key in vmx:
        if vmx.line_of(key) is not None or key.lower() in _KNOWN_LOWER:
            continue
        near = difflib.get_close_matches(key.lower(), list(_KNOWN_LOWER), n=1, cutoff=0.75)
        hint = f"did you mean '{_KNOWN_LOWER[near[0]]}'?" if near else "not a key vmksim reads"
        source, where = vmx.place(key)
        at = ":".join(str(x) for x in (source, where) if x is not None and x != key)
        warnings.warn(
            f"{at + ': ' if at else ''}unknown .vmx key '{key}' ({hint}); it is kept but has no effect",
            InputWarning,
            stacklevel=3,
        )


def vm_from_vmx(vmx: VmxFile, *, name: str | None = None) -> VmConfig:
    """Validate a parsed .vmx into a :class:`VmConfig`."""
    config = _config(vmx, name)
    _warn_unknown_keys(vmx)  # after validation: bad input gets its one error line, no warning before it
    return config


#: Characters no VM or pool name may hold: the esxtop CSV's line ends and NUL (_display_name).
NAME_FORBIDDEN = frozenset("\r\n\x00")


def _display_name(vmx: VmxFile, name: str | None) -> str:
    """The VM's name: *name*, else displayName, else the file's stem.

    A name may hold any character a .vmx can encode (``|XX``, vmx.file), quotes, commas,
    backslashes, parentheses, colons and non-ASCII included: the esxtop CSV quotes them
    (esxtop.md §1.3) and the console escapes control characters when it prints them. Not a
    line break or NUL (:data:`NAME_FORBIDDEN`): the esxtop batch CSV is read one line per row
    (CR, LF) and a NUL marks a binary file, so a name holding one would break the capture.
    """
    result = name or vmx.get("displayName") or Path(vmx.source).stem or "vm"
    bad = next((ch for ch in result if ch in NAME_FORBIDDEN), None)
    if bad is not None:
        raise VmxError(
            f"the VM name {result[:40]!r} holds {bad!r}; a name cannot hold a line break or NUL",
            **vmx.place("displayName")._asdict(),
        )
    return result


def _config(vmx: VmxFile, name: str | None) -> VmConfig:
    src = vmx.source
    vcpus = _int(vmx, "numvcpus", 1, minimum=1, maximum=MAX_VM_VCPUS) or 1
    cps = _int(vmx, "cpuid.coresPerSocket", None, minimum=1)
    if cps is not None and vcpus % cps:
        raise VmxError(
            f"cpuid.coresPerSocket = {cps} does not divide numvcpus = {vcpus}",
            **vmx.place("cpuid.coresPerSocket")._asdict(),
        )
    memory_mb = _int(vmx, "memSize", 0, maximum=MAX_VM_MEMORY_MB) or 0
    ls_raw = (vmx.get("sched.cpu.latencySensitivity") or "normal").strip().lower()
    try:
        ls = LatencySensitivity(ls_raw)
    except ValueError:
        raise VmxError(
            f"sched.cpu.latencySensitivity must be low, normal, medium or high, got {ls_raw!r}",
            **vmx.place("sched.cpu.latencySensitivity")._asdict(),
        ) from None
    cpu_max = _limit(vmx, "sched.cpu.max", "sched.cpu.min")
    mem_max = _limit(vmx, "sched.mem.max", "sched.mem.min")
    hw = vmx.get("virtualHW.version")
    return VmConfig(
        name=_display_name(vmx, name),
        vcpus=vcpus,
        cores_per_socket=cps,
        memory_mb=memory_mb,
        cpu_shares=_shares(vmx, "sched.cpu.shares", SHARE_LEVELS, vcpus),
        cpu_min_mhz=_int(vmx, "sched.cpu.min", 0) or 0,
        # ESXi writes -1 or leaves the key out for "unlimited".
        cpu_max_mhz=None if cpu_max is None or cpu_max < 0 else cpu_max,
        cpu_affinity=_cpu_list(vmx, "sched.cpu.affinity"),
        latency_sensitivity=ls,
        mem_min_mb=_int(vmx, "sched.mem.min", 0) or 0,
        mem_shares=_shares(vmx, "sched.mem.shares", MEM_SHARE_LEVELS, max(memory_mb, 1)),
        mem_max_mb=None if mem_max is None or mem_max < 0 else mem_max,
        prefer_ht=_bool(vmx, "numa.vcpu.preferHT", False),
        numa_vcpu_min=_int(vmx, "numa.vcpu.min", DEFAULT_NUMA_VCPU_MIN, minimum=1) or DEFAULT_NUMA_VCPU_MIN,
        max_per_virtual_node=_int(vmx, "numa.vcpu.maxPerVirtualNode", None, minimum=1),
        max_per_machine_node=_int(vmx, "numa.vcpu.maxPerMachineNode", None, minimum=1),
        max_per_client=_int(vmx, "numa.vcpu.maxPerClient", None, minimum=1),
        follow_cores_per_socket=_bool(vmx, "numa.vcpu.followcorespersocket", False),
        cores_per_node=_int(vmx, "numa.vcpu.coresPerNode", None, minimum=0) or None,
        autosize=_bool(vmx, "numa.autosize", False),
        autosize_once=_bool(vmx, "numa.autosize.once", True),
        autosize_max_per_virtual_node=_int(vmx, "numa.autosize.vcpu.maxPerVirtualNode", None, minimum=1),
        autosize_cookie=vmx.get("numa.autosize.cookie"),
        consolidate=_bool(vmx, "numa.consolidate", True),
        node_affinity=_cpu_list(vmx, "numa.nodeAffinity"),
        cpu_hotadd=_bool(vmx, "vcpu.hotadd", False),
        allow_hotadd=_bool(vmx, "numa.allowHotadd", False),
        hw_version=int(hw) if hw and hw.strip().isascii() and hw.strip().isdigit() and len(hw) < 6 else None,
        source=src,
        vcpus_place=vmx.place("numvcpus"),
    )


#: The user's names for the options of vm_from_options (``name``, ``vcpus``,
#: ``cores_per_socket``, ``memory_gb``; ``settings`` is a prefix the .vmx key is appended to):
#: a scenario's (``vm[0].vcpus``) or the CLI's (``--vcpus``).
OptionNames = Mapping[str, str]


def vm_from_options(
    *,
    name: str,
    vcpus: int,
    cores_per_socket: int | None = None,
    memory_gb: float | None = None,
    settings: Mapping[str, object] | None = None,
    base: VmxFile | None = None,
    source: str | None = "<options>",
    names: OptionNames | None = None,
) -> tuple[VmConfig, VmxFile]:
    """Build a VM from options (and optional base .vmx) through the same .vmx path.

    An error about a value set here names the option, not the .vmx key: *names* maps each
    option (``vcpus``, ``memory_gb``, ..., ``settings``) to the user's name for it, placed in
    *source* (None: the command line); without *names* the .vmx key is named.
    """
    vmx = base.copy() if base is not None else parse_vmx("", source=source or "<options>")
    names = names or {}

    def put(option: str, key: str, value: str) -> None:
        if base is not None and base.get(key) == value:
            return  # the base file's value: its line stays the place to name
        vmx.set(key, value, Place(source, names.get(option, key)))

    put("name", "displayName", name)
    put("vcpus", "numvcpus", str(vcpus))
    if cores_per_socket is not None:
        put("cores_per_socket", "cpuid.coresPerSocket", str(cores_per_socket))
    if memory_gb is not None:
        put("memory_gb", "memSize", str(round(memory_gb * 1024)))
    prefix = names.get("settings")
    for key, value in (settings or {}).items():
        vmx.set(key, _setting_text(value), Place(source, f"{prefix}{key}" if prefix else key))
    return vm_from_vmx(vmx), vmx


def _setting_text(value: object) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return str(value)


def load_vm(path: str | Path) -> tuple[VmConfig, VmxFile]:
    vmx = read_vmx(path)
    return vm_from_vmx(vmx), vmx
