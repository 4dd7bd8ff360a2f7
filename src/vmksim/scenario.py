"""Scenario files: a host, its settings, resource pools, VMs and their workloads, as TOML.

ESXi counterpart: what an administrator would configure on one host before
powering VMs on — the hardware (a topology preset or counts), host advanced
settings (``Numa.PreferHT``...), the resource-pool tree with CPU shares,
reservations and limits (esxi-scheduler.md §1.3, RM 7.0 "Resource pools"),
and one ``.vmx`` per VM. The workload tables are vmksim's own: they say what
the guest does with its vCPUs.

One path, as in Ciw (STYLE.md): :func:`load_scenario` reads TOML, then
:func:`scenario_from_mapping` normalises and validates every key and builds
frozen objects. Every error is a :class:`~vmksim.errors.ScenarioError` that
names the file, the key (``vm[2].workload.busy_ms``) and the bad value.

Format (see ``examples/nfv.toml``)::

    esxi = "8.0"                (or under [host]: the release is a host property; both must agree)
    [host]                      preset = "nfv-2x24-ht"  (or sockets, cores_per_socket, ...)
    [host.settings]             "Numa.PreferHT" = 1     (host advanced settings)
    [host.system]               cpu_pct = 10, vm_worlds_pct = 0.25 (CPU of the non-VM worlds and of
                                each VM's helper worlds, % of one PCPU; vmksim.kernel.worlds)
    [host]                      power_policy = "balanced" | "high-performance" | "low-power"
    [run]                       duration_s = 600, interval_s = 5, seed = 1,
                                start = 2026-01-01T00:00:00Z  (wall-clock time of t = 0, UTC)
    [[pool]]                    name, parent, shares (number or low/normal/high),
                                reservation_mhz, limit_mhz
                                (without memory_gb: 4/3 of the VMs' memory, DEFAULT_MEMORY_PER_VM_MEMORY)
    [[vm]]                      name, count, vcpus, cores_per_socket, memory_gb, vmx, pool
    [vm.settings]               any .vmx key, e.g. "sched.cpu.shares" = "high"
    [vm.workload]               kind = constant|onoff|periodic|threads|trace, ... (WorkloadSpec);
                                without it: constant, demand_pct = 50 (vmksim.workload)

Simplifications: pools have CPU settings only (memory allocation of pools is
not modelled); expandable reservations are not modelled (a pool's reservation
is a fixed floor).
"""

from __future__ import annotations

import math
import tomllib
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from vmksim.errors import ScenarioError, TopologyError, VmxError
from vmksim.topology import HostTopology, host_from_mapping
from vmksim.topology.model import MAX_MEMORY_GB
from vmksim.vmx import VmConfig, load_vm, vm_from_options
from vmksim.vmx.advanced import host_setting_problem, warn_unknown_host_settings
from vmksim.vmx.config import NAME_FORBIDDEN

__all__ = [
    "DEFAULT_START",
    "DEFAULT_SYSTEM_CPU_PCT",
    "DEFAULT_VM_WORLDS_PCT",
    "MAX_CV2",
    "MAX_VMS_PER_HOST",
    "MAX_WORKLOAD_MS",
    "POOL_SHARE_LEVELS",
    "DailySpec",
    "Distribution",
    "PoolSpec",
    "PowerPolicy",
    "RunSpec",
    "Scenario",
    "SystemSpec",
    "VmSpec",
    "WorkloadKind",
    "WorkloadSpec",
    "load_scenario",
    "scenario_from_mapping",
]

#: CPU shares of a resource pool at each level: those of a 4-vCPU VM (RM 7.0, esxi-scheduler.md §1.3).
POOL_SHARE_LEVELS: dict[str, int] = {"low": 2000, "normal": 4000, "high": 8000}

#: Powered-on VMs per host, ESXi 8.0 configuration maximum ("Virtual machines per host", VMware
#: Configuration Maximums tool, https://configmax.esp.vmware.com/ ; the same 1,024 for ESXi 8.0 is
#: quoted in 4sysops' ESXi/Hyper-V/Proxmox host table and public vSphere 8 study notes). ESXi refuses
#: to power on more, so a scenario with more is refused before anything is built (issue 11 item 14).
MAX_VMS_PER_HOST = 1024

#: Largest squared coefficient of variation of a hyper-exponential distribution. The balanced H2
#: (vmksim.workload) picks phase 1 with p = (1 + sqrt((cv2-1)/(cv2+1)))/2 and its second phase has
#: mean m/(2(1-p)); from cv2 ~ 1e16 on, p rounds to 1.0 in double precision and that mean divides
#: by zero (issue 11 item 7). At 1e6, 1 - p is ~5e-7, still known to ~1e-9 relative precision, and
#: the rare phase's mean is ~1e6 times the mean burst: far burstier than any measured CPU workload.
MAX_CV2 = 1e6

#: Longest mean burst, idle spell, slice, timer period or work item of a workload (ms): one day.
#: Not an ESXi figure: CPU bursts are micro- to milliseconds, and a per-burst mean of a day is
#: no scheduling workload; the bound keeps hostile values (``period_ms = 1e300``) from
#: overflowing the kernel's integer microseconds (draws are capped too, workload.MAX_DRAW_US).
MAX_WORKLOAD_MS = 86_400_000.0


class WorkloadKind(Enum):
    """What the guest does with its vCPUs (vmksim.workload implements each)."""

    CONSTANT = "constant"  # demand_pct of one core on every vCPU, in slices of slice_ms
    ONOFF = "onoff"  # bursts of busy_ms CPU work, idle_ms halted after each burst
    PERIODIC = "periodic"  # a timer every period_ms adds work_ms of work (VNF polling)
    THREADS = "threads"  # a multi-threaded guest with only `threads` vCPUs busy (onoff on those)
    TRACE = "trace"  # replay of a per-VM demand column from a CSV file


class Distribution(Enum):
    """Distribution of burst and idle lengths around their means."""

    EXPONENTIAL = "exponential"
    DETERMINISTIC = "deterministic"
    HYPEREXPONENTIAL = "hyperexponential"  # balanced two-phase H2 with squared CV `cv2`


@dataclass(frozen=True, slots=True)
class DailySpec:
    """A daily pattern: demand follows a cosine between trough and 100 % with its peak at peak_hour.

    ``day_s`` is the length of a simulated day (86 400 s; shorter to compress a
    day into a short run).
    """

    peak_hour: float = 14.0
    trough_pct: float = 30.0
    day_s: float = 86_400.0


@dataclass(frozen=True, slots=True)
class WorkloadSpec:
    """A guest workload; fields not used by ``kind`` keep their defaults."""

    kind: WorkloadKind = WorkloadKind.CONSTANT
    demand_pct: float = 50.0
    slice_ms: float = 10.0
    busy_ms: float = 5.0
    idle_ms: float = 5.0
    distribution: Distribution = Distribution.EXPONENTIAL
    cv2: float = 4.0
    threads: int | None = None
    period_ms: float = 1.0
    work_ms: float = 0.2
    trace: Path | None = None
    column: str | None = None
    daily: DailySpec | None = None
    active_memory_pct: float = 100.0


@dataclass(frozen=True, slots=True)
class PoolSpec:
    """A CPU resource pool; ``parent`` None means a child of the host's root pool."""

    name: str
    parent: str | None = None
    shares: int = POOL_SHARE_LEVELS["normal"]
    reservation_mhz: int = 0
    limit_mhz: int | None = None


@dataclass(frozen=True, slots=True)
class VmSpec:
    """One VM: its configuration (the same VmConfig `vmksim plan` uses), pool and workload."""

    config: VmConfig
    workload: WorkloadSpec
    pool: str | None = None

    @property
    def name(self) -> str:
        return self.config.name


#: Wall-clock time (UTC) of simulated time 0 unless ``[run] start`` says otherwise: fixed, so a
#: run stays a pure function of (scenario, seed) (DESIGN.md "Determinism").
DEFAULT_START = datetime(2026, 1, 1, tzinfo=UTC)
#: Default ``[host.system] cpu_pct``: total %USED of all non-VM groups in % of one PCPU. A real
#: 2-PCPU ESXi 6.5 host with 6 mostly idle VMs showed host utilisation 8.9 % against 2.8 % for
#: its VMs (issue 10 item 4), i.e. about (8.9 - 2.8) x 2 = 12 % of one PCPU outside the VMs, of
#: which esxtop itself was 2.6 % (esxtop.md §1.5); 10 % is that order of magnitude.
DEFAULT_SYSTEM_CPU_PCT = 10.0
#: Default ``[host.system] vm_worlds_pct``: CPU of each VM's helper worlds (vmx, mks, NetWorld,
#: storage adapter) in % of one PCPU; real idle VMs showed 0.3-0.7 %RUN in total (issue 10 item 4).
DEFAULT_VM_WORLDS_PCT = 0.25


class PowerPolicy(Enum):
    """Host CPU power policy (esxi-scheduler.md §1.12: default Balanced); vmksim.kernel.power."""

    BALANCED = "balanced"
    HIGH_PERFORMANCE = "high-performance"
    LOW_POWER = "low-power"


@dataclass(frozen=True, slots=True)
class SystemSpec:
    """``[host.system]``: load of the non-VM worlds (system, helper, drivers, user worlds)."""

    cpu_pct: float = DEFAULT_SYSTEM_CPU_PCT
    vm_worlds_pct: float = DEFAULT_VM_WORLDS_PCT


@dataclass(frozen=True, slots=True)
class RunSpec:
    duration_s: float = 600.0
    interval_s: float = 5.0
    seed: int = 1
    start: datetime = DEFAULT_START

    @property
    def duration_us(self) -> int:
        return round(self.duration_s * 1e6)

    @property
    def interval_us(self) -> int:
        return round(self.interval_s * 1e6)

    @property
    def iterations(self) -> int:
        """esxtop ``-n``: samples in the run (the last one may be shorter than the interval)."""
        return max(1, math.ceil(self.duration_us / self.interval_us))


@dataclass(frozen=True, slots=True)
class Scenario:
    source: str
    host: HostTopology
    esxi: str
    host_settings: Mapping[str, str]
    run: RunSpec
    pools: tuple[PoolSpec, ...]
    vms: tuple[VmSpec, ...]
    name: str = "scenario"
    system: SystemSpec = SystemSpec()
    power_policy: PowerPolicy = PowerPolicy.BALANCED
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {vm.name: i for i, vm in enumerate(self.vms)})

    def vm(self, name: str) -> VmSpec:
        return self.vms[self._index[name]]

    def with_run(self, **changes: Any) -> Scenario:
        """A copy with [run] fields changed (duration_s, interval_s, seed)."""
        import dataclasses

        return dataclasses.replace(self, run=dataclasses.replace(self.run, **changes))


# --- reading -----------------------------------------------------------------------------------


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario TOML file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"cannot read: {exc.strerror}", source=str(p)) from None
    except UnicodeDecodeError:
        raise ScenarioError("not a UTF-8 text file", source=str(p)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"not valid TOML: {exc}", source=str(p)) from None
    return scenario_from_mapping(data, source=str(p), base_dir=p.parent, name=p.stem)


_TOP_KEYS = ("esxi", "host", "run", "pool", "vm", "name")
_RUN_KEYS = ("duration_s", "interval_s", "seed", "start")
_POOL_KEYS = ("name", "parent", "shares", "reservation_mhz", "limit_mhz")
_VM_KEYS = ("name", "count", "vcpus", "cores_per_socket", "memory_gb", "vmx", "pool", "settings", "workload")
_WL_KEYS: dict[WorkloadKind, tuple[str, ...]] = {
    WorkloadKind.CONSTANT: ("demand_pct", "slice_ms"),
    WorkloadKind.ONOFF: ("busy_ms", "idle_ms", "distribution", "cv2"),
    WorkloadKind.PERIODIC: ("period_ms", "work_ms"),
    WorkloadKind.THREADS: ("threads", "busy_ms", "idle_ms", "distribution", "cv2"),
    WorkloadKind.TRACE: ("trace", "column", "slice_ms"),
}
_WL_COMMON = ("kind", "daily", "active_memory_pct")


class _Ctx:
    """Where we are in the file, for error messages."""

    __slots__ = ("base_dir", "source")

    def __init__(self, source: str, base_dir: Path) -> None:
        self.source = source
        self.base_dir = base_dir

    def error(self, problem: str, where: str) -> ScenarioError:
        return ScenarioError(problem, source=self.source, where=where)

    def table(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(f"must be a table, got {value!r}", where)
        return value

    def keys(self, table: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
        for key in table:
            if key not in allowed:
                raise self.error(f"unknown key '{key}' (expected one of: {', '.join(allowed)})", where)

    def number(
        self,
        table: Mapping[str, Any],
        key: str,
        where: str,
        default: float,
        *,
        low: float = 0.0,
        high: float = math.inf,
        low_open: bool = False,
    ) -> float:
        raw = table.get(key, default)
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
            raise self.error(f"must be a number, got {raw!r}", f"{where}.{key}")
        value = float(raw)
        if value > high:  # name the side that is violated
            raise self.error(f"must be <= {high:g}, got {raw!r}", f"{where}.{key}")
        if value < low or (low_open and value == low):
            bound = f"> {low:g}" if low_open else f">= {low:g}"
            raise self.error(f"must be {bound}, got {raw!r}", f"{where}.{key}")
        return value

    def integer(
        self, table: Mapping[str, Any], key: str, where: str, default: int | None, *, low: int = 0
    ) -> int:
        raw = table.get(key, default)
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise self.error(f"must be a whole number, got {raw!r}", f"{where}.{key}")
        if raw < low:
            raise self.error(f"must be at least {low}, got {raw!r}", f"{where}.{key}")
        return raw

    def string(self, table: Mapping[str, Any], key: str, where: str) -> str:
        raw = table[key]
        if not isinstance(raw, str) or not raw.strip():
            raise self.error(f"must be a non-empty string, got {raw!r}", f"{where}.{key}")
        return raw.strip()

    def enum(self, table: Mapping[str, Any], key: str, where: str, kind: type[Enum], default: Enum) -> Any:
        raw = table.get(key, default.value)
        try:
            return kind(str(raw).strip().lower())
        except ValueError:
            allowed = "|".join(str(m.value) for m in kind)
            raise self.error(f"must be one of {allowed}, got {raw!r}", f"{where}.{key}") from None


def scenario_from_mapping(
    data: Mapping[str, Any],
    *,
    source: str = "<scenario>",
    base_dir: Path | None = None,
    name: str = "scenario",
) -> Scenario:
    """Normalise → validate → build a :class:`Scenario` from parsed TOML (a dict).

    Warnings raised while building (a misspelt .vmx key, ...) are held back and re-issued
    only when the whole scenario is valid, once each: bad input gets its one error line alone.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scenario = _build(data, source, base_dir, name)
    for w in {(str(w.message), w.category): w for w in caught}.values():
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return scenario


def _build(data: Mapping[str, Any], source: str, base_dir: Path | None, name: str) -> Scenario:
    ctx = _Ctx(source, base_dir or Path("."))
    ctx.keys(data, _TOP_KEYS, "top level")
    esxi = _esxi(ctx, data)
    host, host_settings = _host(ctx, data.get("host"))
    system, power_policy = _host_extras(ctx, data["host"])
    run = _run(ctx, data.get("run", {}))
    pools = _pools(ctx, data.get("pool", []))
    vms = _vms(ctx, data.get("vm"), {p.name for p in pools})
    host = _with_default_memory(host, vms)
    _admit_memory(ctx, host, vms)
    scenario_name = str(data.get("name", name))
    return Scenario(
        source=source,
        host=host,
        esxi=esxi,
        host_settings=host_settings,
        run=run,
        pools=pools,
        vms=vms,
        name=scenario_name,
        system=system,
        power_policy=power_policy,
    )


_HOST_EXTRA_KEYS = ("system", "power_policy")

#: Memory a host without ``memory_gb`` gets, as a multiple of its VMs' configured memory.
#: The VMkernel backs every configured MB (esxtop's NonKernel, esxi-memory.md §4.1), keeps
#: about 1 % for itself (stats.sampler.KERNEL_MEMORY_FRACTION) and stays in the high memory
#: state while free memory is at least 4 × minFree (esxi-memory.md §2.2); minFree is at most
#: 6 % of managed memory (its first band, §2.1). So 1.01·M + 0.24·M ≤ M·(1 + 0.25) is enough:
#: 4/3 leaves the state high with no reclamation, and Machine = Kernel + NonKernel + Free
#: holds (esxi-memory.md §4.1) instead of a 0 MB machine holding 12 GB of VMs.
DEFAULT_MEMORY_PER_VM_MEMORY = 4 / 3
#: Least memory per NUMA node a defaulted host gets (hosts whose VMs have no memory).
DEFAULT_MIN_MEMORY_PER_NODE_GB = 1


def _with_default_memory(host: HostTopology, vms: tuple[VmSpec, ...]) -> HostTopology:
    """*host*, or when it was given without memory, with DEFAULT_MEMORY_PER_VM_MEMORY × its VMs'
    configured memory, rounded up to whole GB per NUMA node, and at least that much of the largest
    VM on every node (at most ESXi's 24 TB)."""
    if host.memory_mb:
        return host
    vm_mb = sum(vm.config.memory_mb for vm in vms)
    largest_mb = max((vm.config.memory_mb for vm in vms), default=0)
    # Spread over the nodes, and every node large enough for the largest VM: a host given without
    # memory is not memory-constrained, so no VM is made wider than a node by the default alone.
    per_node_gb = max(
        math.ceil(vm_mb * DEFAULT_MEMORY_PER_VM_MEMORY / 1024 / host.numa_nodes),
        math.ceil(largest_mb * DEFAULT_MEMORY_PER_VM_MEMORY / 1024),
        DEFAULT_MIN_MEMORY_PER_NODE_GB,
    )
    per_node_gb = min(per_node_gb, MAX_MEMORY_GB // host.numa_nodes)
    return replace(host, memory_per_node_mb=per_node_gb * 1024)


def _host_extras(ctx: _Ctx, raw: Mapping[str, Any]) -> tuple[SystemSpec, PowerPolicy]:
    """``[host.system] cpu_pct`` and ``[host] power_policy`` (vmksim.kernel.worlds, vmksim.kernel.power)."""
    system = ctx.table(raw.get("system", {}), "host.system")
    ctx.keys(system, ("cpu_pct", "vm_worlds_pct"), "host.system")
    cpu_pct = ctx.number(system, "cpu_pct", "host.system", DEFAULT_SYSTEM_CPU_PCT)
    vm_pct = ctx.number(system, "vm_worlds_pct", "host.system", DEFAULT_VM_WORLDS_PCT, high=100.0)
    policy = ctx.enum(raw, "power_policy", "host", PowerPolicy, PowerPolicy.BALANCED)
    return SystemSpec(cpu_pct=cpu_pct, vm_worlds_pct=vm_pct), policy


def _esxi(ctx: _Ctx, data: Mapping[str, Any]) -> str:
    """The ESXi release, from the top level or from [host] (it is a host property; issue 10).

    Both places are accepted; given in both, they must agree. The version itself is checked
    by the NUMA planner (kernel build).
    """
    found: dict[str, str] = {}
    host = data.get("host")
    for where, table in (("esxi", data), ("host.esxi", host if isinstance(host, dict) else {})):
        if "esxi" not in table:
            continue
        raw = table["esxi"]
        if not isinstance(raw, str | float) or isinstance(raw, bool):
            raise ctx.error(f'must be a version string like "8.0", got {raw!r}', where)
        found[where] = str(raw).strip()
    if len(set(found.values())) > 1:
        raise ctx.error(
            f"esxi = {found['esxi']!r} at the top level but {found['host.esxi']!r} under [host]; give it once",
            "host.esxi",
        )
    return next(iter(found.values()), "8.0")


def _host(ctx: _Ctx, raw: Any) -> tuple[HostTopology, dict[str, str]]:
    if raw is None:
        raise ctx.error(
            'missing [host] table (preset = "nfv-2x24-ht" or sockets, cores_per_socket, ...)', "host"
        )
    table = dict(ctx.table(raw, "host"))
    table.pop("esxi", None)  # read by _esxi
    settings_raw = table.pop("settings", {})
    for key in _HOST_EXTRA_KEYS:  # read by _host_extras
        table.pop(key, None)
    settings = ctx.table(settings_raw, "host.settings")
    host_settings: dict[str, str] = {}
    for key, value in settings.items():
        if isinstance(value, dict | list):
            raise ctx.error(f"must be a number, string or boolean, got {value!r}", f"host.settings.{key}")
        host_settings[str(key)] = _setting_text(value)
        if (problem := host_setting_problem(str(key), host_settings[str(key)])) is not None:
            raise ctx.error(problem, f"host.settings.{key}")
    warn_unknown_host_settings(host_settings, f"{ctx.source}:host.settings.")
    try:
        host = host_from_mapping(table, source=ctx.source, default_name=table.get("name", "host"))
    except TopologyError as exc:
        raise ctx.error(exc.problem, f"host.{exc.where}" if exc.where else "host") from None
    return host, host_settings


def _setting_text(value: object) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return str(value)


def _run(ctx: _Ctx, raw: Any) -> RunSpec:
    table = ctx.table(raw, "run")
    ctx.keys(table, _RUN_KEYS, "run")
    duration = ctx.number(table, "duration_s", "run", 600.0, low=0.0, low_open=True)
    interval = ctx.number(table, "interval_s", "run", 5.0, low=0.0, low_open=True)
    seed = ctx.integer(table, "seed", "run", 1)
    start = _start(ctx, table.get("start", DEFAULT_START))
    if interval > duration:
        raise ctx.error(
            f"interval_s ({interval:g}) is longer than duration_s ({duration:g})", "run.interval_s"
        )
    if round(duration * 1e6) < 1000 or round(interval * 1e6) < 1000:
        raise ctx.error("duration_s and interval_s must be at least 1 ms", "run")
    return RunSpec(duration_s=duration, interval_s=interval, seed=seed, start=start)


def _start(ctx: _Ctx, raw: Any) -> datetime:
    """``[run] start``: a TOML date-time or an ISO 8601 string; a time without offset is UTC."""
    if isinstance(raw, str):
        try:
            raw = datetime.fromisoformat(raw.strip())
        except ValueError:
            raise ctx.error(
                f"must be a date-time like 2024-05-01T10:00:00Z, got {raw!r}", "run.start"
            ) from None
    if isinstance(raw, date) and not isinstance(raw, datetime):
        raw = datetime(raw.year, raw.month, raw.day)
    if not isinstance(raw, datetime):
        raise ctx.error(f"must be a date-time like 2024-05-01T10:00:00Z, got {raw!r}", "run.start")
    return raw.replace(tzinfo=UTC) if raw.tzinfo is None else raw.astimezone(UTC)


def _pools(ctx: _Ctx, raw: Any) -> tuple[PoolSpec, ...]:
    if not isinstance(raw, list):
        raise ctx.error("must be an array of tables ([[pool]])", "pool")
    pools: list[PoolSpec] = []
    names: set[str] = set()
    for i, item in enumerate(raw):
        where = f"pool[{i}]"
        table = ctx.table(item, where)
        ctx.keys(table, _POOL_KEYS, where)
        if "name" not in table:
            raise ctx.error("missing key 'name'", where)
        name = ctx.string(table, "name", where)
        if NAME_FORBIDDEN.intersection(name):
            # a pool is a group in the esxtop CSV, one line per row (vmx.config._display_name)
            raise ctx.error(f"the pool name {name[:40]!r} holds a line break or NUL", f"{where}.name")
        if name in names:
            raise ctx.error(f"duplicate pool name {name!r}", f"{where}.name")
        names.add(name)
        parent = ctx.string(table, "parent", where) if "parent" in table else None
        shares = _shares(ctx, table.get("shares", "normal"), POOL_SHARE_LEVELS, f"{where}.shares")
        reservation = ctx.integer(table, "reservation_mhz", where, 0)
        limit = ctx.integer(table, "limit_mhz", where, None, low=1) if "limit_mhz" in table else None
        if limit is not None and reservation > limit:
            raise ctx.error(
                f"reservation_mhz ({reservation}) is above limit_mhz ({limit})", f"{where}.reservation_mhz"
            )
        pools.append(PoolSpec(name, parent, shares, reservation, limit))
    by_name = {p.name: p for p in pools}
    for i, pool in enumerate(pools):
        seen = {pool.name}
        parent = pool.parent
        while parent is not None:
            if parent not in by_name:
                raise ctx.error(f"unknown parent pool {parent!r}", f"pool[{i}].parent")
            if parent in seen:
                raise ctx.error(
                    f"pool {pool.name!r} is its own ancestor (cycle through {parent!r})", f"pool[{i}].parent"
                )
            seen.add(parent)
            parent = by_name[parent].parent
    return tuple(pools)


def _shares(ctx: _Ctx, raw: Any, levels: dict[str, int], where: str) -> int:
    if isinstance(raw, str) and raw.strip().lower() in levels:
        return levels[raw.strip().lower()]
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        raise ctx.error(f"must be low, normal, high or a whole number >= 1, got {raw!r}", where)
    return raw


def _vms(ctx: _Ctx, raw: Any, pool_names: set[str]) -> tuple[VmSpec, ...]:
    if raw is None:
        raise ctx.error("no VMs: add at least one [[vm]] table", "vm")
    if not isinstance(raw, list):
        raise ctx.error("must be an array of tables ([[vm]])", "vm")
    out: list[VmSpec] = []
    seen: dict[str, str] = {}
    for i, item in enumerate(raw):
        where = f"vm[{i}]"
        table = ctx.table(item, where)
        ctx.keys(table, _VM_KEYS, where)
        count = ctx.integer(table, "count", where, 1, low=1)
        if len(out) + count > MAX_VMS_PER_HOST:
            raise ctx.error(
                f"{len(out) + count} VMs on one host: ESXi 8.0 powers on at most {MAX_VMS_PER_HOST} "
                "VMs per host (configuration maximum), so admission fails",
                f"{where}.count",
            )
        pool = None
        if "pool" in table:
            pool = ctx.string(table, "pool", where)
            if pool not in pool_names:
                known = ", ".join(sorted(pool_names)) or "none defined"
                raise ctx.error(f"unknown pool {pool!r} (pools: {known})", f"{where}.pool")
        workload = _workload(ctx, table.get("workload", {}), f"{where}.workload")
        base_name, base_vmx, vcpus = _vm_base(ctx, table, where)
        if workload.threads is not None and workload.threads > vcpus:
            raise ctx.error(
                f"threads = {workload.threads} is more than the VM's {vcpus} vCPUs "
                "(threads counts the busy vCPUs)",
                f"{where}.workload.threads",
            )
        for k in range(count):
            name = base_name if count == 1 else f"{base_name}-{k + 1}"
            if name in seen:
                raise ctx.error(f"duplicate VM name {name!r} (also made by {seen[name]})", f"{where}.name")
            seen[name] = where
            config = _vm_config(ctx, table, where, name, vcpus, base_vmx)
            out.append(VmSpec(config=config, workload=workload, pool=pool))
    return tuple(out)


def _admit_memory(ctx: _Ctx, host: HostTopology, vms: tuple[VmSpec, ...]) -> None:
    """Memory admission: the VMs' reservations (sched.mem.min) must fit in the host's memory.

    At power-on ESXi reserves machine memory for the reservation (plus overhead) and refuses
    the power-on when it cannot (esxi-memory.md §1.2, vSphere RM guide). vmksim checks the
    reservations alone against the host's physical memory, a lenient bound (the VMkernel's
    own memory and per-VM overhead are not subtracted). A VM's *configured* memory above the
    host's is not refused: the part outside the reservation is backed by its swap file
    (memory overcommitment, esxi-memory.md §1.2), so ESXi powers it on, and vmksim only warns
    (vmksim plan) that it cannot be local. A host given without memory gets one (_with_default_memory) first.
    """
    if not host.memory_mb:
        return
    reserved = 0
    for vm in vms:
        reserved += vm.config.mem_min_mb
        if reserved > host.memory_mb:
            raise ctx.error(
                f"memory reservations (sched.mem.min) total {reserved} MB by VM {vm.name!r}, more than "
                f"the host's {host.memory_mb} MB; ESXi admission control refuses the power-on",
                "vm",
            )


def _vm_base(ctx: _Ctx, table: Mapping[str, Any], where: str) -> tuple[str, Any, int]:
    base_vmx = None
    vcpus: int | None = None
    name: str | None = ctx.string(table, "name", where) if "name" in table else None
    if "vmx" in table:
        path = Path(ctx.string(table, "vmx", where))
        if not path.is_absolute():
            path = ctx.base_dir / path
        try:
            config, base_vmx = load_vm(path)
        except VmxError as exc:
            raise ctx.error(f"{exc}", f"{where}.vmx") from None
        vcpus = config.vcpus
        name = name or config.name
    if name is None:
        raise ctx.error("missing key 'name'", where)
    if "vcpus" in table:
        vcpus = ctx.integer(table, "vcpus", where, 1, low=1)
    if vcpus is None:
        raise ctx.error("missing key 'vcpus' (or vmx = \"file.vmx\")", where)
    return name, base_vmx, vcpus


def _vm_config(ctx: _Ctx, table: Mapping[str, Any], where: str, name: str, vcpus: int, base: Any) -> VmConfig:
    cps = ctx.integer(table, "cores_per_socket", where, 1, low=1) if "cores_per_socket" in table else None
    memory = ctx.number(table, "memory_gb", where, 0.0) if "memory_gb" in table else None
    if cps is not None and vcpus % cps:
        raise ctx.error(
            f"cores_per_socket ({cps}) does not divide vcpus ({vcpus})", f"{where}.cores_per_socket"
        )
    settings = ctx.table(table.get("settings", {}), f"{where}.settings")
    text: dict[str, str] = {}
    for key, value in settings.items():
        if isinstance(value, dict | list):
            raise ctx.error(f"must be a number, string or boolean, got {value!r}", f"{where}.settings.{key}")
        text[str(key)] = _setting_text(value)
    if base is None and memory is None:
        memory = 4.0  # a VM without memory_gb gets 4 GB, enough for NUMA locality figures
    try:
        config, _ = vm_from_options(
            name=name,
            vcpus=vcpus,
            cores_per_socket=cps,
            memory_gb=memory,
            settings=text,
            base=base,
            source=ctx.source,
            names={
                "name": f"{where}.name",
                "vcpus": f"{where}.vcpus",
                "cores_per_socket": f"{where}.cores_per_socket",
                "memory_gb": f"{where}.memory_gb",
                "settings": f"{where}.settings.",
            },
        )
    except VmxError as exc:  # already names the scenario key, or the base .vmx file and line
        raise ScenarioError(exc.problem, source=exc.source, where=exc.where) from None
    return config


def _workload(ctx: _Ctx, raw: Any, where: str) -> WorkloadSpec:
    table = ctx.table(raw, where)
    kind: WorkloadKind = ctx.enum(table, "kind", where, WorkloadKind, WorkloadKind.CONSTANT)
    allowed = _WL_COMMON + _WL_KEYS[kind]
    for key in table:
        if key not in allowed:
            raise ctx.error(
                f"key '{key}' does not apply to kind = \"{kind.value}\" (allowed: {', '.join(allowed)})",
                where,
            )
    d = WorkloadSpec()
    values: dict[str, Any] = {"kind": kind}
    values["demand_pct"] = ctx.number(table, "demand_pct", where, d.demand_pct, high=100.0)
    top = MAX_WORKLOAD_MS
    values["slice_ms"] = ctx.number(table, "slice_ms", where, d.slice_ms, low=0.001, high=top)
    values["busy_ms"] = ctx.number(table, "busy_ms", where, d.busy_ms, low=0.001, high=top)
    values["idle_ms"] = ctx.number(table, "idle_ms", where, d.idle_ms, high=top)
    values["distribution"] = ctx.enum(table, "distribution", where, Distribution, d.distribution)
    values["cv2"] = ctx.number(table, "cv2", where, d.cv2, low=1.0, low_open=True, high=MAX_CV2)
    values["period_ms"] = ctx.number(table, "period_ms", where, d.period_ms, low=0.01, high=top)
    values["work_ms"] = ctx.number(table, "work_ms", where, d.work_ms, low=0.001, high=top)
    values["active_memory_pct"] = ctx.number(
        table, "active_memory_pct", where, d.active_memory_pct, high=100.0
    )
    if kind is WorkloadKind.THREADS:
        if "threads" not in table:
            raise ctx.error("kind = \"threads\" needs 'threads' (how many vCPUs are busy)", where)
        values["threads"] = ctx.integer(table, "threads", where, 1, low=0)
    if kind is WorkloadKind.TRACE:
        if "trace" not in table:
            raise ctx.error("kind = \"trace\" needs 'trace' (a CSV file of time_s and demand columns)", where)
        path = Path(ctx.string(table, "trace", where))
        values["trace"] = path if path.is_absolute() else ctx.base_dir / path
        if not values["trace"].is_file():
            raise ctx.error(f"trace file not found: {str(values['trace'])!r}", f"{where}.trace")
        if "column" in table:
            values["column"] = ctx.string(table, "column", where)
    if "daily" in table:
        values["daily"] = _daily(ctx, table["daily"], f"{where}.daily")
    return WorkloadSpec(**values)


def _daily(ctx: _Ctx, raw: Any, where: str) -> DailySpec | None:
    if raw is False:
        return None
    if raw is True:
        return DailySpec()
    table = ctx.table(raw, where)
    ctx.keys(table, ("peak_hour", "trough_pct", "day_s"), where)
    d = DailySpec()
    return DailySpec(
        peak_hour=ctx.number(table, "peak_hour", where, d.peak_hour, high=24.0),
        trough_pct=ctx.number(table, "trough_pct", where, d.trough_pct, high=100.0),
        day_s=ctx.number(table, "day_s", where, d.day_s, low=1.0),
    )
