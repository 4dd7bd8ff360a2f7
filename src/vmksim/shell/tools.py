"""``sched-stats``, ``vsish``, ``vmware`` and ``uname``: the VMkernel's own views of the host.

ESXi counterparts (vmfs-shell-elf-api.md §2.4): ``sched-stats -t TYPE`` prints scheduler tables
(types seen publicly: ncpus, numa-clients, vcpu-state-counts, pcpu-stats...); ``vsish -e get|ls
PATH`` reads the VMkernel's VSI tree, structured values as a ``Name {`` line, then
``   field:value`` lines indented three spaces, then ``}``; directory entries end with ``/``.
The exact columns of the sched-stats tables and the VSI structure titles are **unverified**
(public scripts grep them for field names only); the field names used are the ones scripts
grep (``Number of packages``, ``productVersion``, ``uptime``...), the values come from the kernel.

Units: sched-stats and vsish times are in microseconds (the kernel's counters), memory in KB.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from vmksim.shell.host import ShellHost

__all__ = [
    "ESXTOP_MAX_SAMPLES",
    "ESXTOP_MIN_DELAY_S",
    "PAGE_BYTES",
    "esxtop",
    "sched_stats",
    "uname",
    "vmware",
    "vsish",
]

#: Most samples one ``esxtop -b`` may ask for in the shell: its output is collected, not streamed.
ESXTOP_MAX_SAMPLES = 10_000
#: esxtop's shortest delay: "values below 2 become 2" (esxtop.md §1, the ``-d`` row).
ESXTOP_MIN_DELAY_S = 2.0

Tool = tuple[int, str]


# --- sched-stats ---------------------------------------------------------------------------------
def _ncpus(h: ShellHost) -> str:
    t = h.scenario.host
    counts = ((t.pcpus, "PCPUs"), (t.cores, "cores"), (t.numa_nodes * t.llc_per_node, "LLCs"),
              (t.sockets, "packages"), (t.numa_nodes, "NUMA nodes"))  # fmt: skip
    return "".join(f"{n:>4} {what}\n" for n, what in counts)


def _table(head: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(c) for c in r] for r in [head, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(head))]
    return "".join(" ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) + "\n" for r in cells)


def _numa_clients(h: ShellHost) -> str:
    """One row per NUMA client: its VM, home node, worlds and memory local/remote to its nodes."""
    head = (
        "groupName",
        "groupID",
        "clientID",
        "homeNode",
        "affinity",
        "nWorlds",
        "localMem",
        "remoteMem",
        "currLocal%",
    )
    rows = []
    h.sync()
    for c in h.esx.kernel.numa.clients:
        if c.group >= len(h.vms):
            continue
        vm = h.vms[c.group]
        local = float(c.memory[list(c.nodes)].sum())
        remote = float(c.memory.sum()) - local
        total = local + remote
        mask = sum(1 << n for n in c.nodes)
        pct = round(100 * local / total) if total > 0 else 100
        rows.append((f"vm.{vm.world_id}", vm.group_id, c.index, c.home, f"0x{mask:x}", len(c.worlds),
                     round(local * 1024), round(remote * 1024), pct))  # fmt: skip
    return _table(head, rows)


#: Bytes per page in vsish's memory nodes ("Total (pages)"): x86 small pages.
PAGE_BYTES = 4096


def _node_memory_mb(h: ShellHost) -> tuple[list[float], list[float]]:
    """Per NUMA node: total and free MB. Used = the VMs' memory placed there by the NUMA runtime
    (vmksim.numa.runtime); the VMkernel's own memory is not modelled."""
    t = h.scenario.host
    snap = h.snapshot()
    used = snap.memory_on_node.sum(axis=0) if len(snap.memory_on_node) else [0.0] * t.numa_nodes
    total = [float(t.memory_per_node_mb)] * t.numa_nodes
    return total, [max(total[n] - float(used[n]), 0.0) for n in range(t.numa_nodes)]


def _numa_pnode(h: ShellHost) -> str:
    """Per NUMA node: its PCPUs, their busy µs since power-on, memory total / free (KB), clients homed there."""
    snap = h.snapshot()
    t = h.scenario.host
    total, free = _node_memory_mb(h)
    homes = [c.home for c in h.esx.kernel.numa.clients if c.group < len(h.vms)]
    rows = []
    for n in range(t.numa_nodes):
        pcpus = t.node_pcpus(n)
        busy = int(snap.pcpu_busy[pcpus.start : pcpus.stop].sum())
        rows.append((n, f"{pcpus.start}-{pcpus.stop - 1}", busy, round(total[n] * 1024), round(free[n] * 1024),
                     homes.count(n)))  # fmt: skip
    return _table(("nodeID", "pcpus", "busy", "totalMem", "freeMem", "nClients"), rows)


def _since_reset(h: ShellHost, name: str) -> npt.NDArray[np.float64]:
    """Counter *name* of the current snapshot minus its value at the last ``sched-stats -r``."""
    now = np.asarray(getattr(h.snapshot(), name), dtype=np.float64)
    base = h.stats_reset
    return now if base is None else now - np.asarray(getattr(base, name), dtype=np.float64)


def _vcpu_states(h: ShellHost) -> str:
    """Per vCPU world: run / ready / costop / wait time (µs) since power-on or ``-r``."""
    run, ready, costop, wait = (_since_reset(h, k) for k in ("run", "ready", "costop", "wait"))
    head = ("vcpu", "vm", "name", "run", "ready", "costop", "wait")
    index = {w.world_id: i for i, w in enumerate(h.esx.worlds)}
    rows = []
    for vm in h.vms:
        for wid in vm.vcpu_worlds:
            i = index[wid]
            rows.append((wid, vm.world_id, h.esx.worlds[i].name, int(run[i]), int(ready[i]),
                         int(costop[i]), int(wait[i])))  # fmt: skip
    return _table(head, rows)


def _pcpu_stats(h: ShellHost) -> str:
    """Per PCPU: its core and node, busy (unhalted) µs and charged (used) µs since power-on or ``-r``."""
    busy, used = _since_reset(h, "pcpu_busy"), _since_reset(h, "pcpu_used")
    t = h.scenario.host
    rows = [(p.id, p.core, p.node, int(busy[p.id]), round(float(used[p.id]))) for p in t.pcpu_list]
    return _table(("cpu", "core", "node", "busy", "used"), rows)


def _numa_migration(h: ShellHost) -> str:
    """Per VM: NUMA migrations of its clients (the rebalancer's moves) since power-on or ``-r``."""
    moves = _since_reset(h, "numa_migrations")
    gidx = {g.group_id: i for i, g in enumerate(h.esx.groups)}
    rows = [(f"vm.{vm.world_id}", vm.group_id, int(moves[gidx[vm.group_id]])) for vm in h.vms]
    return _table(("groupName", "groupID", "nMigrations"), rows)


SCHED_STATS: dict[str, Callable[[ShellHost], str]] = {
    "ncpus": _ncpus,
    "numa-clients": _numa_clients,
    "numa-pnode": _numa_pnode,
    "numa-migration": _numa_migration,
    "vcpu-state-counts": _vcpu_states,
    "pcpu-stats": _pcpu_stats,
}


def sched_stats(h: ShellHost, argv: Sequence[str]) -> Tool:
    """``sched-stats -t TYPE``; ``sched-stats -r`` resets the counters the tables count from."""
    if list(argv) == ["-r"]:
        h.stats_reset = h.snapshot()
        return 0, ""
    if len(argv) == 2 and argv[0] == "-t" and argv[1] in SCHED_STATS:
        return 0, SCHED_STATS[argv[1]](h)
    if len(argv) == 2 and argv[0] == "-t":
        return 1, f"sched-stats: type '{argv[1]}' is not simulated yet (known: {', '.join(SCHED_STATS)})\n"
    return (
        1,
        "usage: sched-stats -r | -t ncpus|numa-clients|numa-pnode|numa-migration|vcpu-state-counts|pcpu-stats\n",
    )


# --- vsish ---------------------------------------------------------------------------------------
Node = Callable[[ShellHost, list[str]], "str | list[str] | None"]


def _struct(title: str, fields: Sequence[tuple[str, object]]) -> str:
    return f"{title} {{\n" + "".join(f"   {k}:{v}\n" for k, v in fields) + "}\n"


def _cpu_info(h: ShellHost) -> str:
    t = h.scenario.host
    ht = "3 -> enabled" if t.ht else "0 -> disabled"
    return _struct("CPU global information", (
        ("Number of packages", t.sockets), ("Number of cores", t.cores), ("Number of CPUs (threads)", t.pcpus),
        ("Hyperthreading state", ht), ("Number of NUMA nodes", t.numa_nodes)))  # fmt: skip


def _version(h: ShellHost) -> str:
    version, build = h.release
    return _struct(
        "VMkernel version information", (("productVersion", version), ("buildVersion", f"build-{build}"))
    )


def _state_times(h: ShellHost, wid: int) -> str | None:
    index = {w.world_id: i for i, w in enumerate(h.esx.worlds)}
    i = index.get(wid)
    if i is None or all(wid not in vm.vcpu_worlds for vm in h.vms):
        return None
    s = h.snapshot()
    return _struct("vcpu state times", (("uptime", f"{s.time_us} usec"), ("run", f"{int(s.run[i])} usec"),
        ("ready", f"{int(s.ready[i])} usec"), ("costop", f"{int(s.costop[i])} usec"),
        ("wait", f"{int(s.wait[i])} usec")))  # fmt: skip


def _vsi_groups(h: ShellHost, path: list[str], op: str) -> str | list[str] | None:
    """/sched/groups/GID/{vcpuLeaderID, numaClients/N/{home, clientAffinity}} of the VMs' groups:
    the leader is the first vCPU world, home and affinity come from the NUMA runtime's clients.
    Scalar leaves print as the bare value (unverified)."""
    vms = {str(v.group_id): v for v in h.vms}
    if not path:
        return [f"{g}/" for g in vms] if op == "ls" else None
    vm = vms.get(path[0])
    if vm is None:
        return None
    clients = [c for c in h.esx.kernel.numa.clients if c.group == vm.index]
    rest = path[1:]
    tree: dict[tuple[str, ...], list[str]] = {
        (): ["numaClients/", "vcpuLeaderID"],
        ("numaClients",): [f"{c.index}/" for c in clients],
        **{("numaClients", str(c.index)): ["clientAffinity", "home"] for c in clients},
    }
    if op == "ls":
        return tree.get(tuple(rest))
    leaves: dict[tuple[str, ...], str] = {("vcpuLeaderID",): str(vm.vcpu_worlds[0])}
    for c in clients:
        leaves[("numaClients", str(c.index), "home")] = str(c.home)
        leaves[("numaClients", str(c.index), "clientAffinity")] = f"0x{sum(1 << n for n in c.nodes):x}"
    value = leaves.get(tuple(rest))
    return None if value is None else value + "\n"


def _vsi_get(h: ShellHost, path: list[str]) -> str | None:
    t = h.scenario.host
    fixed: dict[tuple[str, ...], Callable[[], str]] = {
        ("hardware", "cpu", "cpuInfo"): lambda: _cpu_info(h),
        ("system", "version"): lambda: _version(h),
    }
    if tuple(path) in fixed:
        return fixed[tuple(path)]()
    if len(path) == 5 and path[:4] == ["hardware", "cpuTopology", "numa", "nodes"] and path[4].isdigit():
        n = int(path[4])
        if n < t.numa_nodes:
            pcpus = t.node_pcpus(n)
            return _struct("NUMA node", (("pcpus", f"{pcpus.start}-{pcpus.stop - 1}"),))
    if (
        len(path) == 3
        and path[:2] == ["memory", "nodeList"]
        and path[2].isdigit()
        and int(path[2]) < t.numa_nodes
    ):
        total, free = _node_memory_mb(h)
        n, per_mb = int(path[2]), 1024 * 1024 // PAGE_BYTES
        return _struct("NUMA node memory", (("Total (pages)", round(total[n] * per_mb)),
                                            ("Free (pages)", round(free[n] * per_mb))))  # fmt: skip
    if len(path) == 5 and path[0] == "sched" and path[1] == "Vcpus" and path[3:] == ["stats", "stateTimes"]:
        return _state_times(h, int(path[2])) if path[2].isdigit() else None
    return None


def _vsi_ls(h: ShellHost, path: list[str]) -> list[str] | None:
    t = h.scenario.host
    tree: dict[tuple[str, ...], list[str]] = {
        (): ["hardware/", "memory/", "sched/", "system/"],
        ("memory",): ["nodeList/"],
        ("memory", "nodeList"): [f"{n}" for n in range(t.numa_nodes)],
        ("hardware",): ["cpu/", "cpuTopology/"],
        ("hardware", "cpu"): ["cpuInfo"],
        ("hardware", "cpuTopology"): ["numa/"],
        ("hardware", "cpuTopology", "numa"): ["nodes/"],
        ("hardware", "cpuTopology", "numa", "nodes"): [f"{n}" for n in range(t.numa_nodes)],
        ("system",): ["version"],
        ("sched",): ["Vcpus/", "groups/"],
        ("sched", "Vcpus"): [f"{w}/" for vm in h.vms for w in vm.vcpu_worlds],
    }
    key = tuple(path)
    if key in tree:
        return tree[key]
    if len(path) == 3 and path[:2] == ["sched", "Vcpus"] and path[2].isdigit():
        return ["stats/"] if any(int(path[2]) in vm.vcpu_worlds for vm in h.vms) else None
    if len(path) == 4 and path[:2] == ["sched", "Vcpus"] and path[3] == "stats":
        return ["stateTimes"]
    return None


def vsish(h: ShellHost, argv: Sequence[str]) -> Tool:
    """``vsish -e get PATH`` / ``vsish -e ls PATH`` (``set`` is not simulated)."""
    if len(argv) != 3 or argv[0] != "-e" or argv[1] not in ("get", "ls", "set"):
        return 1, "usage: vsish -e get|ls PATH\n"
    op, path = argv[1], [p for p in argv[2].split("/") if p]
    if op == "set":
        return 1, "vsish: set is not simulated yet\n"
    h.sync()
    out: str | list[str] | None
    if path[:2] == ["sched", "groups"]:
        out = _vsi_groups(h, path[2:], op)
    else:
        out = _vsi_get(h, path) if op == "get" else _vsi_ls(h, path)
    if out is None:
        return 1, f"vsish: {argv[2]}: no such node (or not simulated)\n"
    return 0, out if isinstance(out, str) else "".join(e + "\n" for e in out)


# --- esxtop ------------------------------------------------------------------------------------
def esxtop(h: ShellHost, argv: Sequence[str]) -> Tool:
    """``esxtop -b [-a] -d SECONDS -n COUNT``: batch CSV of the running host (vmksim.esxtop.writer).

    Each interval is a ``sleep`` of the host (paused hosts jump, paced hosts wait). The rows are
    printed when the run ends (the shell collects command output). Without ``-b``, an interactive
    session shows the full screen (:func:`esxtop_screen`).
    """
    import getopt
    import io

    from vmksim.esxtop.writer import BatchWriter
    from vmksim.stats.sampler import Sampler

    try:
        pairs, rest = getopt.getopt(list(argv), "bad:n:")
    except getopt.GetoptError as exc:
        return 1, f"esxtop: {exc.msg}\n"
    opts = dict(pairs)
    if "-b" not in opts or rest:
        return 1, "esxtop: without a terminal only batch mode runs: esxtop -b [-a] -d SECONDS -n COUNT\n"
    try:
        delay, count = float(opts.get("-d", "5")), int(opts.get("-n", "1"))
    except ValueError:
        return 1, "esxtop: -d takes seconds and -n a count\n"
    delay = max(delay, ESXTOP_MIN_DELAY_S)
    if not 1 <= count <= ESXTOP_MAX_SAMPLES:
        return 1, f"esxtop: -n must be 1 to {ESXTOP_MAX_SAMPLES}\n"
    h.sync()
    sampler = Sampler(h.esx, all_counters="-a" in opts)
    buf = io.StringIO()
    writer = BatchWriter(buf, sampler.host, sampler.columns)
    writer.write_header()
    for _ in range(count):
        h.sleep(delay)
        writer.write(sampler.sample())
    return 0, buf.getvalue()


def live_samples(h: ShellHost, sampler: Any, delay: float) -> Iterator[Any]:
    """The TUI's sample stream over the running host: a paced host is sampled where the wall clock
    has brought it (the screen's timer does the waiting); a paused one moves *delay* per sample."""
    while True:
        if h.paused:
            h.sleep(delay)
        else:
            h.sync()
        yield sampler.sample()


def esxtop_screen(h: ShellHost, argv: Sequence[str]) -> Tool:
    """``esxtop [-d SECONDS]`` at an interactive prompt: vmksim top's screens over this host."""
    import getopt

    try:
        pairs, rest = getopt.getopt(list(argv), "ad:")
        delay = max(float(dict(pairs).get("-d", "5")), ESXTOP_MIN_DELAY_S)
    except (getopt.GetoptError, ValueError) as exc:
        return 1, f"esxtop: {exc}\n"
    if rest:
        return 1, f"esxtop: unexpected argument {rest[0]}\n"
    try:
        from vmksim.esxtop.app import TopApp
        from vmksim.esxtop.feed import Feed
    except ImportError:
        return 1, "esxtop: the screen needs the 'tui' extra: pip install 'vmksim[tui]'\n"
    from vmksim.stats.sampler import Sampler

    h.sync()
    sampler = Sampler(h.esx, all_counters=any(k == "-a" for k, _ in pairs))
    feed = Feed(sampler.host, sampler.columns, live_samples(h, sampler, delay), title=h.hostname)
    TopApp(feed, delay=delay).run()
    return 0, ""


# --- vmware / uname ------------------------------------------------------------------------------
def vmware(h: ShellHost, argv: Sequence[str]) -> Tool:
    version, build = h.release
    if list(argv) == ["-v"]:
        return 0, f"VMware ESXi {version} build-{build}\n"
    if list(argv) == ["-vl"]:
        return 0, f"VMware ESXi {version} build-{build}\nVMware ESXi {h.scenario.esxi} GA\n"
    return 1, "usage: vmware -v | -vl\n"


def uname(h: ShellHost, argv: Sequence[str]) -> Tool:
    """``uname [-asnrm]``: kernel name VMkernel (§2.1); the build date is not known, so omitted."""
    version, build = h.release
    parts = {
        "s": "VMkernel",
        "n": h.hostname,
        "r": version,
        "v": f"#1 SMP Release build-{build}",
        "m": "x86_64",
    }
    flags = "".join(a.lstrip("-") for a in argv) or "s"
    if any(f not in "asnrvm" for f in flags):
        return 1, f"uname: invalid option -- '{next(f for f in flags if f not in 'asnrvm')}'\n"
    if "a" in flags:
        return 0, " ".join([*parts.values(), "x86_64", "x86_64", "ESXi"]) + "\n"
    return 0, " ".join(v for k, v in parts.items() if k in flags) + "\n"
