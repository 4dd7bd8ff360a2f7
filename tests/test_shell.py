"""`vmksim shell`: every command answers from the simulated kernel; esxcli's formatters; errors.

The host is small (2 sockets x 2 cores x 2 threads, two VMs) and paused, with the interpreted
scheduler core, so each test boots in well under a second and simulated time moves only on
`sleep`. Expected values come from the scenario (topology, VM configs), from the kernel's own
worlds, or from independent code (the esxcli-text topology importer, the NUMA planner, the
standard library's csv / xml parsers), never from the shell's output.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytest.importorskip("bashlex")

import itertools

from vmksim.counters import WorldKind
from vmksim.numa.plan import plan_vms
from vmksim.scenario import Scenario, scenario_from_mapping
from vmksim.shell.esxcli import esxcli
from vmksim.shell.formatters import ESXCLI_XMLNS
from vmksim.shell.host import ShellHost
from vmksim.shell.interp import Io, Shell
from vmksim.shell.session import run_source
from vmksim.topology.esxcli import from_esxcli_text
from vmksim.vmx import parse_vmx, vm_from_vmx

GOLDEN = Path(__file__).parent / "golden" / "shell"


def tiny_scenario(settings: dict[str, object] | None = None, **host: object) -> Scenario:
    spec = {"name": "esx-lab-01", "sockets": 2, "cores_per_socket": 2, "threads_per_core": 2,
            "memory_gb": 16, "mhz": 2000, **host}  # fmt: skip
    return scenario_from_mapping(
        {
            "esxi": "8.0",
            "host": {**spec, "settings": settings or {}},
            "run": {"duration_s": 60, "interval_s": 5},
            "vm": [
                {
                    "name": "web",
                    "vcpus": 2,
                    "memory_gb": 2,
                    "workload": {"kind": "constant", "demand_pct": 30},
                },
                {
                    "name": "db",
                    "vcpus": 4,
                    "memory_gb": 4,
                    "workload": {"kind": "constant", "demand_pct": 50},
                },
            ],
        },
        name="lab",
    )


@pytest.fixture
def host() -> ShellHost:
    return ShellHost(tiny_scenario(), paused=True, jit=False)


def sh_run(shell: Shell, line: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = run_source(shell, line, Io(out.write, err.write))
    return status, out.getvalue(), err.getvalue()


def ok(host: ShellHost, *argv: str) -> str:
    status, text = esxcli(host, list(argv))
    assert status == 0, text
    return text


# --- answers from the kernel -------------------------------------------------------------------
def test_cpu_global_reports_the_scenario_hosts_packages_cores_threads(host: ShellHost) -> None:
    t = host.scenario.host
    kv = dict(
        line.split("=", 1)
        for line in ok(host, "--formatter=keyvalue", "hardware", "cpu", "global", "get").split()
    )
    assert kv["CPUGlobalInfo.CPUPackages.integer"] == str(t.sockets) == "2"
    assert kv["CPUGlobalInfo.CPUCores.integer"] == str(t.cores) == "4"
    assert kv["CPUGlobalInfo.CPUThreads.integer"] == str(t.pcpus) == "8"
    assert kv["CPUGlobalInfo.HyperthreadingActive.boolean"] == "true"
    no_ht = ShellHost(tiny_scenario(threads_per_core=1), paused=True, jit=False)
    assert "Hyperthreading Active: false" in ok(no_ht, "hardware", "cpu", "global", "get")


def test_cpu_list_and_memory_get_import_back_as_the_same_topology(host: ShellHost, tmp_path: Path) -> None:
    """vmksim's importer of real `esxcli hardware cpu list` + `memory get` text reads our output back."""
    text = ok(host, "hardware", "cpu", "list") + ok(host, "hardware", "memory", "get")
    path = tmp_path / "esxcli.txt"
    path.write_text(text)
    back, t = from_esxcli_text(path), host.scenario.host
    assert (back.sockets, back.numa_nodes, back.cores, back.threads_per_core, back.memory_mb, back.mhz) == (
        t.sockets, t.numa_nodes, t.cores, t.threads_per_core, t.memory_mb, t.mhz)  # fmt: skip


def test_vm_process_list_lists_exactly_the_running_vms_with_their_vmx_worlds(host: ShellHost) -> None:
    rows = list(csv.DictReader(io.StringIO(ok(host, "--formatter=csv", "vm", "process", "list"))))
    esx = host.esx
    vmx_worlds = {esx.groups[w.group].name: w.world_id for w in esx.worlds if w.name == "vmx"}
    assert {r["DisplayName"]: int(r["WorldID"]) for r in rows} == vmx_worlds
    assert set(vmx_worlds) == {vm.name for vm in host.scenario.vms}
    shell = Shell(host)
    for r in rows:  # the Config File exists in the shell's file system and is that VM's .vmx
        status, text, _ = sh_run(shell, f"cat {r['ConfigFile']}")
        config = vm_from_vmx(parse_vmx(text))
        spec = host.scenario.vm(r["DisplayName"]).config
        assert status == 0 and (config.name, config.vcpus, config.memory_mb) == (
            spec.name,
            spec.vcpus,
            spec.memory_mb,
        )


def test_numa_clients_agree_with_the_planner(host: ShellHost) -> None:
    sc = host.scenario
    plans = plan_vms(sc.host, [vm.config for vm in sc.vms], sc.esxi, sc.host_settings)
    expected = [
        (vm.name, c.index, c.home_node, c.size)
        for vm, p in zip(sc.vms, plans, strict=True)
        for c in p.clients
    ]
    status, text, _ = sh_run(Shell(host), "sched-stats -t numa-clients")
    lines = text.splitlines()
    head = lines[0].split()
    got = []
    for line in lines[1:]:
        row = dict(zip(head, line.split(), strict=True))
        vm = host.vm_by_world(int(row["groupName"].removeprefix("vm.")))
        assert vm is not None
        got.append((vm.name, int(row["clientID"]), int(row["homeNode"]), int(row["nWorlds"])))
    assert status == 0 and sorted(got) == sorted(expected) and len(expected) >= 2


def test_paused_clock_moves_only_on_sleep(host: ShellHost) -> None:
    shell = Shell(host)
    wid = host.vms[0].vcpu_worlds[0]
    _, before, _ = sh_run(shell, f"vsish -e get /sched/Vcpus/{wid}/stats/stateTimes")
    _, after, _ = sh_run(shell, f"sleep 5; vsish -e get /sched/Vcpus/{wid}/stats/stateTimes; date")
    assert "uptime:0 usec" in before
    assert "uptime:5000000 usec" in after and "Jan  1 00:00:05 UTC 2026" in after
    times = dict(re.findall(r"^   (\w+):(\d+) usec", after, re.MULTILINE))
    assert sum(int(times[k]) for k in ("run", "ready", "costop", "wait")) == 5_000_000


def test_paced_clock_follows_the_wall_clock_times_speed() -> None:
    wall = [100.0]
    h = ShellHost(
        tiny_scenario(),
        speed=10,
        jit=False,
        clock=lambda: wall[0],
        sleeper=lambda s: wall.__setitem__(0, wall[0] + s),
    )
    wall[0] += 1.5
    h.sync()
    assert h.now_us == 15_000_000
    h.sleep(20)  # 20 simulated seconds take 2 real seconds at 10x
    assert wall[0] == pytest.approx(103.5) and h.now_us == 35_000_000


def test_vsish_and_sched_stats_ncpus_report_the_topology(host: ShellHost) -> None:
    t = host.scenario.host
    shell = Shell(host)
    _, info, _ = sh_run(shell, "vsish -e get /hardware/cpu/cpuInfo")
    assert (
        f"   Number of packages:{t.sockets}\n" in info and f"   Number of CPUs (threads):{t.pcpus}\n" in info
    )
    _, vcpus, _ = sh_run(shell, "vsish -e ls /sched/Vcpus/")
    kernel_vcpus = [w.world_id for w in host.esx.worlds if w.kind is WorldKind.VCPU]
    assert vcpus.split() == [f"{w}/" for w in kernel_vcpus] and len(kernel_vcpus) == 6
    _, nodes, _ = sh_run(shell, "vsish -e ls /hardware/cpuTopology/numa/nodes")
    assert nodes.split() == [str(n) for n in range(t.numa_nodes)]
    _, ncpus, _ = sh_run(shell, "sched-stats -t ncpus")
    assert (
        f"{t.pcpus} PCPUs" in ncpus and f"{t.cores} cores" in ncpus and f"{t.numa_nodes} NUMA nodes" in ncpus
    )


def test_vim_cmd_answers_from_the_vms_and_the_host(host: ShellHost) -> None:
    shell = Shell(host)
    _, allvms, _ = sh_run(shell, "vim-cmd vmsvc/getallvms")
    rows = [line.split() for line in allvms.splitlines()[1:]]
    assert [r[:4] for r in rows] == [
        [str(v.vmid), v.name, "[datastore1]", f"{v.name}/{v.name}.vmx"] for v in host.vms
    ]
    assert [v.vmid for v in host.vms] == [1, 2]
    _, summary, _ = sh_run(shell, "vim-cmd vmsvc/get.summary 2")
    db = host.scenario.vm("db").config
    assert summary.startswith("Listsummary:\n(vim.vm.Summary) {\n   vm = 'vim.VirtualMachine:2',\n")
    assert f"      numCpu = {db.vcpus},\n" in summary and f"      memorySizeMB = {db.memory_mb},\n" in summary
    _, hs, _ = sh_run(shell, "vim-cmd hostsvc/hostsummary")
    t = host.scenario.host
    assert f"numCpuPkgs = {t.sockets}," in hs and f"numCpuThreads = {t.pcpus}," in hs
    assert f"memorySize = {t.memory_mb * 1024 * 1024}," in hs
    status, state, _ = sh_run(shell, "vim-cmd vmsvc/power.getstate 1")
    assert status == 0 and state == "Retrieved runtime info\nPowered on\n"


def test_cpu_usage_in_summary_comes_from_the_kernels_counters(host: ShellHost) -> None:
    shell = Shell(host)
    sh_run(shell, "sleep 10")
    _, summary, _ = sh_run(shell, "vim-cmd vmsvc/get.summary 2")
    mhz = int(re.search(r"overallCpuUsage = (\d+),", summary).group(1))  # type: ignore[union-attr]
    # db: 4 vCPUs asking 50 % each on a 2000 MHz host, ~4000 MHz; HT charging and helper worlds move it.
    assert 2000 < mhz < 5000


# --- formatters --------------------------------------------------------------------------------
ROUND_TRIP = [
    ("system", "version", "get"),
    ("hardware", "cpu", "global", "get"),
    ("hardware", "memory", "get"),
    ("hardware", "platform", "get"),
    ("vm", "process", "list"),
    ("hardware", "cpu", "list"),
    ("system", "settings", "advanced", "list"),
]


def _from_csv(text: str) -> list[dict[str, str]]:
    rows = list(csv.reader(io.StringIO(text)))
    assert all(r[-1] == "" for r in rows), "every csv line ends with a trailing comma"
    head = rows[0][:-1]
    assert head == sorted(head), "esxcli's csv header is alphabetical"
    return [dict(zip(head, r[:-1], strict=True)) for r in rows[1:]]


def _from_keyvalue(text: str) -> list[dict[str, str]]:
    records: list[dict[str, str]] = []
    for line in text.splitlines():
        key, _, value = line.partition("=")
        field = key.split(".")[1]
        if not records or field in records[-1]:
            records.append({})
        records[-1][field] = value
    return records


def _from_xml(text: str) -> list[dict[str, str]]:
    root = ET.fromstring(text)
    ns = {"e": ESXCLI_XMLNS}
    structs = root.findall("e:root/e:structure", ns) + root.findall("e:root/e:list/e:structure", ns)
    return [{f.get("name", ""): (f[0].text or "") for f in s.findall("e:field", ns)} for s in structs]


@pytest.mark.parametrize("command", ROUND_TRIP, ids=" ".join)
def test_csv_keyvalue_and_xml_parse_into_the_same_records(host: ShellHost, command: tuple[str, ...]) -> None:
    by_csv = _from_csv(ok(host, "--formatter=csv", *command))
    by_kv = _from_keyvalue(ok(host, "--formatter=keyvalue", *command))
    by_xml = _from_xml(ok(host, "--formatter=xml", *command))
    assert by_csv == by_kv == by_xml and by_csv and all(by_csv)


def test_simple_formatter_shows_the_same_values(host: ShellHost) -> None:
    simple = ok(host, "system", "version", "get")
    records = _from_csv(ok(host, "--formatter=csv", "system", "version", "get"))
    assert simple == "".join(
        f"   {k}: {records[0][k]}\n" for k in ("Product", "Version", "Build", "Update", "Patch")
    )


def test_format_params_select_fields_and_drop_the_header(host: ShellHost) -> None:
    text = ok(
        host, "--formatter=csv", '--format-param=fields=="WorldID,DisplayName"', "vm", "process", "list"
    )
    assert text.splitlines() == ["DisplayName,WorldID,"] + [f"{v.name},{v.world_id}," for v in host.vms]
    bare = ok(
        host,
        "--formatter=csv",
        "--format-param=show-header=false",
        "--format-param=fields=WorldID",
        "vm",
        "process",
        "list",
    )
    assert bare.splitlines() == [f"{v.world_id}," for v in host.vms]
    table = ok(host, "--formatter=table", "--format-param=show-header=false", "vm", "process", "list")
    assert len(table.splitlines()) == len(host.vms)


def test_csv_quotes_values_with_spaces_or_commas(host: ShellHost) -> None:
    line = ok(host, "--formatter=csv", "--format-param=show-header=false", "system", "version", "get").strip()
    assert line.startswith('Releasebuild-20513097,0,"VMware ESXi",0,8.0.0,')


GOLDEN_COMMANDS = {
    "system_version_get": ("system", "version", "get"),
    "hardware_cpu_global_get": ("hardware", "cpu", "global", "get"),
    "hardware_memory_get": ("hardware", "memory", "get"),
    "hardware_platform_get": ("hardware", "platform", "get"),
    "vm_process_list": ("vm", "process", "list"),
    "advanced_list_preferht": ("system", "settings", "advanced", "list", "-o", "/Numa/PreferHT"),
}


@pytest.mark.parametrize("formatter", ["default", "csv", "keyvalue", "xml"])
@pytest.mark.parametrize("name", sorted(GOLDEN_COMMANDS))
def test_golden_output(host: ShellHost, name: str, formatter: str, update_goldens: bool) -> None:
    opts = [] if formatter == "default" else [f"--formatter={formatter}"]
    text = ok(host, *opts, *GOLDEN_COMMANDS[name])
    path = GOLDEN / f"{name}.{formatter}.txt"
    if update_goldens:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert text == path.read_text()


# --- help and errors ---------------------------------------------------------------------------
def test_help_of_esxcli_a_namespace_and_a_command(host: ShellHost) -> None:
    assert "Available Namespaces:\n  hardware " in ok(host)
    assert "  process               Operations on running virtual machine processes" in ok(host, "vm")
    helped = ok(host, "vm", "process", "kill", "--help")
    assert (
        helped.startswith("Usage: esxcli vm process kill [cmd options]") and "-w|--world-id=<str>" in helped
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["vm", "proces", "list"], "Error: Unknown command or namespace vm proces\n"),
        (["vm", "process", "list", "--bogus"], "Error: Invalid option --bogus\n"),
        (["--formatter=json", "vm", "process", "list"], "Error: Invalid formatter: json\n"),
        (["vm", "process", "kill", "--type=force"], "Error: Missing required parameter -w|--world-id\n"),
        (
            ["vm", "process", "kill", "--type=force", "--world-id=42"],
            "Error: Unable to find a running VM with world ID 42\n",
        ),
        (
            ["system", "settings", "advanced", "list", "-o", "/Numa/Nope"],
            "Error: Unable to find option Nope\n",
        ),
    ],
)
def test_esxcli_errors_are_one_line_and_status_1(host: ShellHost, argv: list[str], message: str) -> None:
    assert esxcli(host, argv) == (1, message)


def test_power_operations_say_not_simulated_and_fail(host: ShellHost) -> None:
    shell = Shell(host)
    wid = host.vms[0].world_id
    status, out, err = sh_run(shell, f"esxcli vm process kill --type=force --world-id={wid}")
    assert status == 1 and out == "" and "not simulated yet" in err
    status, _, err = sh_run(shell, "vim-cmd vmsvc/power.off 1")
    assert status == 1 and "not simulated yet" in err
    assert ok(host, "vm", "process", "list").count("World ID") == 2  # nothing was powered off


def test_unknown_command_is_ash_not_found(host: ShellHost) -> None:
    assert sh_run(Shell(host), "awk '{print $1}' /etc/vmware/esx.conf") == (127, "", "-sh: awk: not found\n")
    status, _, err = sh_run(Shell(host), "if then fi")
    assert status == 2 and err.startswith("-sh: syntax error")


def test_esx_conf_holds_the_host_identity(host: ShellHost) -> None:
    _, text, _ = sh_run(Shell(host), "grep uuid /etc/vmware/esx.conf")
    assert text == f'/system/uuid = "{host.uuid}"\n'
    assert ok(host, "system", "uuid", "get") == host.uuid + "\n"


def test_esxtop_batch_samples_the_running_host(host: ShellHost) -> None:
    shell = Shell(host)
    status, text, _ = sh_run(shell, "esxtop -b -d 1 -n 3")
    rows = list(csv.reader(io.StringIO(text)))
    assert status == 0 and len(rows) == 4  # header + -n rows
    assert host.now_us == 3 * 2_000_000  # -d below 2 s becomes 2 s (esxtop.md §1)
    assert all(any(f"({v.group_id}:{v.name})" in c for c in rows[0]) for v in host.vms)
    assert [r[0][-8:] for r in rows[1:]] == ["00:00:02", "00:00:04", "00:00:06"]
    assert sh_run(shell, "esxtop")[0] == 1  # the TUI is not in the shell


def test_vim_cmd_get_config_shows_the_vms_configuration(host: ShellHost) -> None:
    _, text, _ = sh_run(Shell(host), "vim-cmd vmsvc/get.config 1")
    web = host.scenario.vm("web").config
    assert text.startswith('Config:\n(vim.vm.ConfigInfo) {\n   name = "web",\n')
    assert f"      numCPU = {web.vcpus},\n" in text and f"      memoryMB = {web.memory_mb},\n" in text
    # no reservation, no limit (-1), normal shares = 1000 per vCPU (vmksim.vmx.SHARE_LEVELS)
    assert "      reservation = 0,\n      limit = -1,\n" in text
    assert f'         shares = {web.vcpus * 1000},\n         level = "normal",\n' in text


def test_a_host_setting_shows_in_esxcli_vim_cmd_and_esx_conf() -> None:
    h = ShellHost(tiny_scenario({"Numa.PreferHT": 1}), paused=True, jit=False)
    shell = Shell(h)
    delta = _from_csv(ok(h, "--formatter=csv", "system", "settings", "advanced", "list", "--delta"))
    assert [(r["Path"], r["IntValue"], r["DefaultIntValue"]) for r in delta] == [("/Numa/PreferHT", "1", "0")]
    _, view, _ = sh_run(shell, "vim-cmd hostsvc/advopt/view Numa.PreferHT")
    assert '      key = "Numa.PreferHT",\n      value = 1,\n' in view
    assert sh_run(shell, "grep PreferHT /etc/vmware/esx.conf")[1] == '/adv/Numa/PreferHT = "1"\n'
    status, _, err = sh_run(shell, "vim-cmd hostsvc/advopt/view Numa.Nope")
    assert status == 1 and "InvalidName" in err


def test_uptime_numa_pnode_and_node_memory_follow_the_kernel(host: ShellHost) -> None:
    shell = Shell(host)
    t = host.scenario.host
    _, up, _ = sh_run(shell, "sleep 3; esxcli system stats uptime get")
    assert up == "3000000\n"
    snap = host.esx.snapshot()
    used_mb = snap.memory_on_node.sum(axis=0)
    _, pnode, _ = sh_run(shell, "sched-stats -t numa-pnode")
    rows = [line.split() for line in pnode.splitlines()[1:]]
    for n, row in enumerate(rows):
        pcpus = t.node_pcpus(n)
        assert int(row[2]) == int(snap.pcpu_busy[pcpus.start : pcpus.stop].sum())
        assert int(row[4]) == round((t.memory_per_node_mb - used_mb[n]) * 1024)
    vm_clients = [c for c in host.esx.kernel.numa.clients if c.group < len(host.vms)]  # not helper worlds
    assert sum(int(r[5]) for r in rows) == len(vm_clients) == 3
    _, node1, _ = sh_run(shell, "vsish -e get /memory/nodeList/1")
    assert f"   Total (pages):{t.memory_per_node_mb * 256}\n" in node1  # 4 KB pages


def test_namespaces_without_kernel_data_say_so(host: ShellHost) -> None:
    for argv in (["network", "nic", "list"], ["network", "vm", "list"]):
        status, text = esxcli(host, argv)
        assert status == 1 and text.startswith("Error: not simulated yet")
    # no image attached: the storage tables are empty, not invented
    assert esxcli(host, ["storage", "filesystem", "list"]) == (0, "")


def test_live_samples_of_a_paused_host_are_delay_apart(host: ShellHost) -> None:
    from vmksim.shell.tools import live_samples
    from vmksim.stats.sampler import Sampler

    stream = live_samples(host, Sampler(host.esx), 2.0)
    times = [next(stream).time for _ in range(3)]
    assert [(b - a).total_seconds() for a, b in itertools.pairwise(times)] == [2.0, 2.0]
    assert host.now_us == 6_000_000


def test_sched_stats_reset_counts_from_the_reset(host: ShellHost) -> None:
    shell = Shell(host)
    status, text, _ = sh_run(shell, "sleep 3; sched-stats -r; sleep 1; sched-stats -t vcpu-state-counts")
    rows = [line.split() for line in text.splitlines()[1:]]
    assert status == 0 and len(rows) == sum(len(v.vcpu_worlds) for v in host.vms)
    assert all(sum(int(x) for x in r[3:7]) == 1_000_000 for r in rows)  # RUN+RDY+CSTP+WAIT = the 1 s since -r
    _, pcpus, _ = sh_run(shell, "sched-stats -t pcpu-stats")
    assert all(0 <= int(r.split()[3]) <= 1_000_000 for r in pcpus.splitlines()[1:])
    _, moves, _ = sh_run(shell, "sched-stats -t numa-migration")
    assert [r.split()[0] for r in moves.splitlines()[1:]] == [f"vm.{v.world_id}" for v in host.vms]


def test_vsish_sched_groups_show_the_numa_clients_of_the_runtime(host: ShellHost) -> None:
    shell = Shell(host)
    assert sh_run(shell, "vsish -e ls /sched/groups")[1].split() == [f"{v.group_id}/" for v in host.vms]
    for vm in host.vms:
        clients = [c for c in host.esx.kernel.numa.clients if c.group == vm.index]
        base = f"/sched/groups/{vm.group_id}"
        assert sh_run(shell, f"vsish -e ls {base}/numaClients")[1].split() == [f"{c.index}/" for c in clients]
        for c in clients:
            assert sh_run(shell, f"vsish -e get {base}/numaClients/{c.index}/home")[1] == f"{c.home}\n"
        assert sh_run(shell, f"vsish -e get {base}/vcpuLeaderID")[1] == f"{vm.vcpu_worlds[0]}\n"
    assert sh_run(shell, "vsish -e get /sched/groups/1/vcpuLeaderID")[0] == 1  # not a VM group


def test_numa_clients_agree_with_vmksim_plan_on_the_shells_own_vmx_files(
    host: ShellHost, run_cli, tmp_path: Path
) -> None:
    """The .vmx files the shell shows, given to `vmksim plan` for the same host, plan the clients
    that sched-stats -t numa-clients reports for the running VMs."""
    shell = Shell(host)
    paths = []
    for vm in host.vms:
        path = tmp_path / f"{vm.name}.vmx"
        path.write_text(sh_run(shell, f"cat {vm.vmx_path}")[1])
        paths.append(str(path))
    t = host.scenario.host
    spec = f"sockets={t.sockets},cores_per_socket={t.cores_per_socket},threads_per_core={t.threads_per_core},numa_nodes={t.numa_nodes},memory_gb={t.memory_mb // 1024}"
    code, out, err = run_cli("plan", "--host", spec, "--esxi", host.scenario.esxi, "--json", *paths)
    assert code == 0, err
    planned = sorted(
        (p["name"], i, home, size)
        for p in json.loads(out)
        for i, (home, size) in enumerate(zip(p["home_nodes"], p["vcpus_per_numa_client"], strict=True))
    )
    _, text, _ = sh_run(shell, "sched-stats -t numa-clients")
    head, *rows = [line.split() for line in text.splitlines()]
    by_world = {f"vm.{v.world_id}": v.name for v in host.vms}
    shown = sorted(
        (by_world[r["groupName"]], int(r["clientID"]), int(r["homeNode"]), int(r["nWorlds"]))
        for r in (dict(zip(head, row, strict=True)) for row in rows)
    )
    assert shown == planned and len(planned) == 3
