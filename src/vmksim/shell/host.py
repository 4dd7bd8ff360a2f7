"""The simulated host a shell session answers from: a booted kernel, its clock, its VMs and files.

ESXi counterpart: the host you ``ssh`` into. Every command of the shell reads this object, never
canned data: the booted :class:`~vmksim.kernel.EsxHost` (built by
:func:`vmksim.kernel.build_kernel`, so the same worlds esxtop shows), the scenario's topology and
settings, and the identities ESXi would have made at install / registration time (host UUID, VM
IDs, BIOS UUIDs, datastore paths).

Time: the kernel is advanced lazily, whenever a command is about to read it, to where the wall
clock says it should be (``speed`` simulated seconds per real second since the session started).
Seen from the prompt this is the same as a kernel running in the background while you type, but
costs nothing while nobody looks. ``paused`` hosts only move on ``sleep N`` (N simulated seconds
at once), so scripts and tests are deterministic.

Simplifications (each named where it is used): identities that ESXi generates randomly are
derived from the host and VM names by a hash (stable across sessions); the guest OS is not in a
scenario, so every VM gets ESXi's generic 64-bit "other" type; the datastore is one
``datastore1`` holding ``NAME/NAME.vmx`` per VM, plus the VMFS images attached with
``datastores`` (read-only); power operations are not simulated yet.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from vmksim.counters import CounterSnapshot, WorldKind
from vmksim.errors import InputError
from vmksim.kernel import EsxHost, build_kernel
from vmksim.scenario import Scenario
from vmksim.sched import core as C
from vmksim.vmfs import Vmfs
from vmksim.vmx import VmConfig, VmxFile, parse_vmx

__all__ = [
    "DATASTORE",
    "ESXI_BUILDS",
    "GUEST_OS",
    "HW_VERSIONS",
    "MAX_SHELL_TIME_US",
    "ShellHost",
    "VmRecord",
]

#: The one datastore the simulated host mounts (ESXi names the first local VMFS "datastore1").
DATASTORE = "datastore1"
#: Guest OS of every VM: a scenario does not say it; ``other-64`` in the .vmx is vim-cmd's
#: ``otherGuest64`` (an assumption, named here so it is not mistaken for data).
GUEST_OS = ("other-64", "otherGuest64")
#: GA build numbers per release (Broadcom KB 316595 "Build numbers and versions of VMware ESXi").
ESXI_BUILDS: dict[str, tuple[str, int]] = {
    "8.0": ("8.0.0", 20513097),
    "7.0": ("7.0.0", 15843807),
    "6.7": ("6.7.0", 8169922),
    "6.5": ("6.5.0", 4564106),
    "6.0": ("6.0.0", 2494585),
}
#: Highest virtual hardware version each release creates (Broadcom KB 1003746 "Virtual machine
#: hardware versions"): what a VM without ``virtualHW.version`` gets.
HW_VERSIONS: dict[str, int] = {"8.0": 20, "7.0": 17, "6.7": 14, "6.5": 13, "6.0": 11}
#: The kernel's clock cannot pass the scheduler core's limit (vmksim.sched.core.MAX_TIME_US).
MAX_SHELL_TIME_US = C.MAX_TIME_US - 1


@dataclass(frozen=True, slots=True)
class VmRecord:
    """One registered, running VM as hostd and the VMkernel know it."""

    index: int  # in scenario.vms
    vmid: int  # vim-cmd's Vmid (registration order, from 1)
    name: str
    group_id: int
    world_id: int  # the VMX world: `vm process list` World ID, the one `kill` takes
    vcpu_worlds: tuple[int, ...]
    uuid: str  # uuid.bios in ESXi's "56 4d ..-.." spelling
    config: VmConfig
    vmx: VmxFile

    @property
    def directory(self) -> str:
        return f"/vmfs/volumes/{DATASTORE}/{self.name}"

    @property
    def vmx_path(self) -> str:
        return f"{self.directory}/{self.name}.vmx"

    @property
    def datastore_path(self) -> str:
        """``[datastore1] NAME/NAME.vmx``: how hostd names the file (vim-cmd, vSphere API)."""
        return f"[{DATASTORE}] {self.name}/{self.name}.vmx"


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("\0".join(parts).encode()).digest()


def bios_uuid(host: str, vm: str) -> str:
    """A stable uuid.bios. ESXi generates ``56 4d``-prefixed BIOS UUIDs for new VMs (the VMware
    prefix seen in every ESXi-made .vmx); the other 14 bytes here hash the host and VM names."""
    raw = bytes([0x56, 0x4D]) + _digest("uuid.bios", host, vm)[:14]
    hexes = [f"{b:02x}" for b in raw]
    return " ".join(hexes[:8]) + "-" + " ".join(hexes[8:])


def host_uuid(host: str, scenario: str) -> str:
    """``esxcli system uuid get`` / ``/system/uuid``: 8-4-4-4-12 hex, hashed from the names (ESXi
    makes it at install time from the clock and a MAC address)."""
    h = _digest("system.uuid", host, scenario).hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def vmx_of(config: VmConfig, uuid: str, esxi: str) -> VmxFile:
    """The .vmx ESXi would hold for *config*: the keys the scheduler model reads, written with
    vmksim.vmx (so ``cat`` in the shell shows what `vmksim plan` would read back)."""
    vmx = parse_vmx("", source=f"{config.name}.vmx")
    hw = config.hw_version or HW_VERSIONS.get(esxi, max(HW_VERSIONS.values()))
    entries: list[tuple[str, object | None]] = [
        (".encoding", "UTF-8"),
        ("config.version", "8"),
        ("virtualHW.version", hw),
        ("displayName", config.name),
        ("guestOS", GUEST_OS[0]),
        ("numvcpus", config.vcpus),
        ("cpuid.coresPerSocket", config.cores_per_socket),
        ("memSize", config.memory_mb),
        ("sched.cpu.min", config.cpu_min_mhz or None),
        ("sched.cpu.max", config.cpu_max_mhz),
        ("sched.cpu.shares", config.cpu_shares),
        ("sched.mem.min", config.mem_min_mb or None),
        ("numa.vcpu.preferHT", "TRUE" if config.prefer_ht else None),
        ("uuid.bios", uuid),
    ]
    for key, value in entries:
        if value is not None:
            vmx[key] = str(value)
    return vmx


class ShellHost:
    """A booted simulated host plus the clock that paces it (see the module docstring)."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        speed: float = 1.0,
        paused: bool = False,
        jit: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleeper: Callable[[float], None] = time.sleep,
        datastores: tuple[Vmfs, ...] = (),
    ) -> None:
        self.scenario = scenario
        self.esx: EsxHost = build_kernel(scenario, jit=jit)
        self.speed = speed
        self.paused = paused
        self._clock = clock
        self._sleeper = sleeper
        self._wall0 = clock()
        self._offset_us = 0  # simulated time added by `sleep` on a paused host
        self.hostname = scenario.host.name
        self.uuid = host_uuid(self.hostname, scenario.name)
        self.vms = self._records()
        self.datastores = datastores
        self.stats_reset: CounterSnapshot | None = None  # `sched-stats -r`: what the tables count from
        taken = {DATASTORE}
        for volume in datastores:
            if volume.label in taken or volume.uuid in taken:
                raise InputError(
                    f"a datastore named {volume.label or volume.uuid!r} is already mounted",
                    source=volume.name,
                )
            taken |= {volume.label, volume.uuid}

    def _records(self) -> tuple[VmRecord, ...]:
        out = []
        worlds = self.esx.worlds
        for index, vm in enumerate(self.scenario.vms):
            gi = next(i for i, g in enumerate(self.esx.groups) if g.is_vm and g.name == vm.name)
            mine = [w for w in worlds if w.group == gi]
            vmx_world = next(w.world_id for w in mine if w.name == "vmx")
            vcpus = tuple(w.world_id for w in mine if w.kind is WorldKind.VCPU)
            uuid = bios_uuid(self.hostname, vm.name)
            out.append(
                VmRecord(
                    index=index,
                    vmid=index + 1,
                    name=vm.name,
                    group_id=self.esx.groups[gi].group_id,
                    world_id=vmx_world,
                    vcpu_worlds=vcpus,
                    uuid=uuid,
                    config=vm.config,
                    vmx=vmx_of(vm.config, uuid, self.scenario.esxi),
                )
            )
        return tuple(out)

    # --- identity ---------------------------------------------------------------------------
    @property
    def release(self) -> tuple[str, int]:
        """(version, build) of the scenario's ESXi release (8.0 when the release is unlisted)."""
        return ESXI_BUILDS.get(self.scenario.esxi, ESXI_BUILDS["8.0"])

    def vm_by_world(self, world_id: int) -> VmRecord | None:
        return next((v for v in self.vms if v.world_id == world_id), None)

    def vm_by_vmid(self, vmid: int) -> VmRecord | None:
        return next((v for v in self.vms if v.vmid == vmid), None)

    # --- time ---------------------------------------------------------------------------------
    def target_us(self) -> int:
        """Where the kernel's clock should be now."""
        if self.paused:
            return self._offset_us
        wall = (self._clock() - self._wall0) * self.speed
        return self._offset_us + round(wall * 1e6)

    def sync(self) -> None:
        """Advance the kernel to :meth:`target_us` (called before a command reads it)."""
        target = min(self.target_us(), MAX_SHELL_TIME_US)
        if target > self.esx.now_us:
            self.esx.run_until(target)

    def sleep(self, seconds: float) -> None:
        """``sleep N``: N simulated seconds. Paused: at once; paced: N / speed real seconds."""
        if self.paused:
            self._offset_us += round(seconds * 1e6)
        else:
            self._sleeper(seconds / self.speed)
        self.sync()

    @property
    def now_us(self) -> int:
        return self.esx.now_us

    def snapshot(self) -> CounterSnapshot:
        self.sync()
        return self.esx.snapshot()

    def wall_time(self) -> datetime:
        """The host's date: ``[run] start`` plus the simulated time."""
        return self.scenario.run.start + timedelta(microseconds=self.now_us)
