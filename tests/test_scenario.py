"""Scenario files: one normalise → validate → build path; errors name file, key and value."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import pytest

from conftest import ROOT
from vmksim.errors import ScenarioError
from vmksim.esxtop.reader import read_capture
from vmksim.scenario import (
    DEFAULT_MEMORY_PER_VM_MEMORY,
    Distribution,
    WorkloadKind,
    load_scenario,
    scenario_from_mapping,
)
from vmksim.stats.sampler import MEM_STATE_THRESHOLDS
from vmksim.vmx import LatencySensitivity

BASE = """
esxi = "8.0"
[host]
preset = "nfv-2x24-ht"
[host.settings]
"Numa.PreferHT" = 1
[run]
duration_s = 60
interval_s = 5
seed = 7
[[pool]]
name = "gold"
shares = "high"
reservation_mhz = 1000
[[pool]]
name = "gold-child"
parent = "gold"
limit_mhz = 20000
[[vm]]
name = "vnf"
count = 3
vcpus = 8
cores_per_socket = 8
memory_gb = 16
pool = "gold-child"
[vm.settings]
"sched.cpu.latencySensitivity" = "high"
"sched.cpu.min" = 22400
[vm.workload]
kind = "onoff"
busy_ms = 2
idle_ms = 3
distribution = "hyperexponential"
"""


def write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_full_scenario_builds_frozen_objects(tmp_path: Path) -> None:
    sc = load_scenario(write(tmp_path, BASE))
    assert sc.host.name == "nfv-2x24-ht"
    assert dict(sc.host_settings) == {"Numa.PreferHT": "1"}
    assert (sc.run.duration_us, sc.run.interval_us, sc.run.seed, sc.run.iterations) == (
        60_000_000,
        5_000_000,
        7,
        12,
    )
    assert [vm.name for vm in sc.vms] == ["vnf-1", "vnf-2", "vnf-3"]
    vm = sc.vm("vnf-2")
    assert (vm.config.vcpus, vm.config.cores_per_socket, vm.config.memory_mb, vm.pool) == (
        8,
        8,
        16384,
        "gold-child",
    )
    assert vm.config.latency_sensitivity is LatencySensitivity.HIGH
    assert vm.config.cpu_min_mhz == 22400
    assert vm.workload.kind is WorkloadKind.ONOFF
    assert vm.workload.distribution is Distribution.HYPEREXPONENTIAL
    assert [(p.name, p.parent, p.shares, p.reservation_mhz, p.limit_mhz) for p in sc.pools] == [
        ("gold", None, 8000, 1000, None),
        ("gold-child", "gold", 4000, 0, 20000),
    ]


def test_vmx_file_is_an_alternative_source(tmp_path: Path) -> None:
    (tmp_path / "db.vmx").write_text(
        'displayName = "db01"\nnumvcpus = "4"\nmemSize = "8192"\nsched.cpu.shares = "high"\n'
    )
    text = '[host]\npreset = "xeon-2x10-ht"\n[[vm]]\nvmx = "db.vmx"\n[[vm]]\nname = "x"\nvmx = "db.vmx"\nvcpus = 2\n'
    sc = load_scenario(write(tmp_path, text))
    assert [(v.name, v.config.vcpus, v.config.memory_mb, v.config.cpu_shares) for v in sc.vms] == [
        ("db01", 4, 8192, 8000),
        ("x", 2, 8192, 4000),
    ]


@pytest.mark.parametrize(
    ("change", "where", "fragment"),
    [
        (("busy_ms = 2", "busy_ms = -2"), "vm[0].workload.busy_ms", "-2"),
        (("busy_ms = 2", "busy_ms = 'x'"), "vm[0].workload.busy_ms", "'x'"),
        (('kind = "onoff"', 'kind = "bursty"'), "vm[0].workload.kind", "'bursty'"),
        (("idle_ms = 3", "period_ms = 3"), "vm[0].workload", "period_ms"),
        (('pool = "gold-child"', 'pool = "silver"'), "vm[0].pool", "'silver'"),
        (('parent = "gold"', 'parent = "nope"'), "pool[1].parent", "'nope'"),
        (("count = 3", "count = 0"), "vm[0].count", "0"),
        (("cores_per_socket = 8", "cores_per_socket = 3"), "vm[0].cores_per_socket", "3"),
        (("duration_s = 60", "duration_s = 1"), "run.interval_s", "5"),
        (("seed = 7", "seed = 7\nspeed = 3"), "run", "speed"),
        (('preset = "nfv-2x24-ht"', 'preset = "nfv-9000"'), "host", "nfv-9000"),
        (('"sched.cpu.min" = 22400', '"sched.cpu.min" = "lots"'), "vm[0].settings.sched.cpu.min", "lots"),
        (('shares = "high"', 'shares = "huge"'), "pool[0].shares", "'huge'"),
    ],
)
def test_errors_name_file_key_and_value(
    tmp_path: Path, change: tuple[str, str], where: str, fragment: str
) -> None:
    path = write(tmp_path, BASE.replace(*change, 1))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{where}: "), message
    assert fragment in message
    assert "\n" not in message


def test_pool_cycle_and_duplicate_names(tmp_path: Path) -> None:
    cyc = BASE.replace('name = "gold"\nshares', 'name = "gold"\nparent = "gold-child"\nshares')
    with pytest.raises(ScenarioError, match="own ancestor"):
        load_scenario(write(tmp_path, cyc))
    dup = BASE + '[[vm]]\nname = "vnf-2"\nvcpus = 1\n'
    with pytest.raises(ScenarioError, match=r"vm\[1\]\.name: duplicate VM name 'vnf-2'"):
        load_scenario(write(tmp_path, dup))


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(write(tmp_path, "[host\n"))
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "absent.toml")


def test_mapping_defaults() -> None:
    sc = scenario_from_mapping(
        {"host": {"sockets": 1, "cores_per_socket": 2}, "vm": [{"name": "a", "vcpus": 1}]}
    )
    vm = sc.vms[0]
    assert (sc.esxi, sc.run.duration_s, sc.run.interval_s, sc.run.seed) == ("8.0", 600.0, 5.0, 1)
    assert (vm.workload.kind, vm.workload.demand_pct, vm.config.memory_mb) == (
        WorkloadKind.CONSTANT,
        50.0,
        4096,
    )


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.toml")))
def test_every_example_scenario_loads(name: str) -> None:
    scenario = load_scenario(EXAMPLES / name)
    assert scenario.vms


def test_trace_example_replays_its_csv_as_documented(run_cli) -> None:
    import json

    code, out, err = run_cli("run", str(EXAMPLES / "trace.toml"), "--json", "--no-progress")
    assert code == 0, err
    # vmksim run reports per-vCPU means; the trace gives % of one core for the whole VM.
    used = {vm["name"]: vm["used"] * vm["vcpus"] for vm in json.loads(out)["vms"]}
    # trace-demand.csv holds 40/80/20 (web) and 150/180/60 (db) for 20 s each of the 60 s run:
    # the run's %USED is the time-weighted mean (the example runs at nominal clock, no other load).
    assert used["web"] == pytest.approx((40 + 80 + 20) / 3, abs=0.1)
    assert used["database"] == pytest.approx((150 + 180 + 60) / 3, abs=0.1)
    # The default workload: constant, 50 % of one core per vCPU.
    assert used["batch"] == pytest.approx(50.0, abs=0.1)


def test_constant_and_trace_workloads_do_not_depend_on_the_seed(run_cli) -> None:
    outs = []
    for seed in ("3", "99"):
        code, out, err = run_cli(
            "run", str(EXAMPLES / "trace.toml"), "--json", "--no-progress", "--seed", seed
        )
        assert code == 0, err
        outs.append(out.replace(f"seed {seed}", ""))
    assert outs[0] == outs[1]


# --- errors name the scenario key the user wrote, warnings name unknown host settings -----------

_SMALL = "[host]\nsockets = 1\ncores_per_socket = 4\n[run]\nduration_s = 2\ninterval_s = 1\n"


@pytest.mark.parametrize(
    ("vm", "place", "problem"),
    [
        ("vcpus = 64", "vm[0].vcpus", "numvcpus = 64 is more than the host's 4 logical CPUs"),
        ("vcpus = 2\nmemory_gb = 30000", "vm[0].memory_gb", "memSize must be at most 25165824"),
        ('vcpus = 2\n[vm.settings]\n"numa.vcpu.min" = "x"', "vm[0].settings.numa.vcpu.min", "numa.vcpu.min must"),
    ],
    ids=["vcpus-above-host", "memory-above-24tb", "setting"],
)  # fmt: skip
def test_vm_errors_name_the_scenario_key(tmp_path: Path, run_cli, vm: str, place: str, problem: str) -> None:
    """QA: `vcpus = 64` was reported at `vm[0].settings: numvcpus = 64 ...`."""
    path = write(tmp_path, _SMALL + f'[[vm]]\nname = "a"\n{vm}\n')
    code, _, err = run_cli("run", str(path))
    assert code == 1
    assert err.startswith(f"vmksim: error: {path}:{place}: {problem}"), err


def test_a_bad_key_of_a_base_vmx_names_the_vmx_file_and_line(tmp_path: Path, run_cli) -> None:
    (tmp_path / "b.vmx").write_text('displayName = "b"\nnumvcpus = "2"\nnuma.vcpu.min = "x"\n')
    path = write(tmp_path, _SMALL + '[[vm]]\nvmx = "b.vmx"\nmemory_gb = 2\n')
    code, _, err = run_cli("run", str(path))
    assert code == 1
    assert f"{tmp_path / 'b.vmx'}:3: numa.vcpu.min must be a whole number" in err, err


def test_unknown_host_setting_in_a_scenario_warns(tmp_path: Path, run_cli) -> None:
    settings = '[host.settings]\n"Numa.PrefrHT" = 1\n"Numa.RebalancePeriod" = 4000\n'
    path = write(tmp_path, _SMALL.replace("[run]", settings + "[run]") + '[[vm]]\nname = "a"\nvcpus = 1\n')
    code, _, err = run_cli("run", str(path))
    assert code == 0, err
    assert err.count("unknown host advanced setting") == 1
    assert (
        f"vmksim: warning: {path}:host.settings.Numa.PrefrHT: unknown host advanced setting "
        "(did you mean 'Numa.PreferHT'?); it has no effect"
    ) in err


# --- a host without memory_gb (QA: Machine 0, Free 0 but NonKernel 12288 MB) ----------------------


@pytest.mark.parametrize("example", ["limits.toml", "latency-sensitive.toml"])
def test_a_host_without_memory_gets_the_documented_default(tmp_path: Path, run_cli, example: str) -> None:
    """Machine = DEFAULT_MEMORY_PER_VM_MEMORY x the VMs' memory (whole GB per node), and every
    Memory host counter agrees with it (esxi-memory.md §4.1, §4.3; esxtop.md §1.4)."""
    path = ROOT / "examples" / example
    assert "memory_gb" not in tomllib.loads(path.read_text())["host"]
    scenario = load_scenario(path)
    vm_mb = sum(vm.config.memory_mb for vm in scenario.vms)
    nodes = scenario.host.numa_nodes
    expected = math.ceil(vm_mb * DEFAULT_MEMORY_PER_VM_MEMORY / 1024 / nodes) * 1024 * nodes
    assert scenario.host.memory_mb == expected > vm_mb
    out = tmp_path / "m.csv"
    code, _, err = run_cli("run", str(path), "--batch", str(out), "--duration", "10")
    assert code == 0, err
    rec = read_capture(out, ["Memory"])
    assert len(rec.samples) == 2 and len(rec.columns) >= 12
    for sample in rec.samples:
        m = {c.counter: v for c, v in zip(rec.columns, sample.values, strict=True)}
        assert m["Machine MBytes"] == expected
        assert m["NonKernel MBytes"] == vm_mb  # every configured MB backed
        assert abs(m["Machine MBytes"] - m["Kernel MBytes"] - m["NonKernel MBytes"] - m["Free MBytes"]) <= 1
        assert abs(m["Kernel Managed MBytes"] - (m["Machine MBytes"] - m["Kernel MBytes"])) <= 1
        assert m["Kernel Unreserved MBytes"] == m["Kernel Managed MBytes"] - m["Kernel Reserved MBytes"]
        assert m["Free MBytes"] >= MEM_STATE_THRESHOLDS[0] * m["Kernel MinFree MBytes"]
        assert m["Kernel State"] == 0  # high: no reclamation on a host sized for its VMs


def test_a_host_with_memory_keeps_it(tmp_path: Path) -> None:
    text = '[host]\nsockets = 2\ncores_per_socket = 4\nmemory_gb = 6\n[[vm]]\nname = "a"\nvcpus = 1\nmemory_gb = 64\n'
    assert load_scenario(write(tmp_path, text)).host.memory_mb == 6 * 1024


def test_whatif_errors_name_the_changed_scenario_as_a_place(tmp_path: Path, run_cli) -> None:
    """QA: `simulated with the changes:vm[2].settings: ...` (a label glued to a key)."""
    capture = tmp_path / "c.csv"
    code, _, err = run_cli("run", str(ROOT / "examples" / "limits.toml"), "--batch", str(capture), "-a")
    assert code == 0, err
    code, _, err = run_cli("whatif", str(capture), "--set", "capped:numvcpus=64", "--duration", "5")
    assert code == 1
    assert err.startswith(
        "vmksim: error: <simulated with the changes>:vm[2].settings.numvcpus: numvcpus = 64 is more than"
    ), err


def test_a_defaulted_multi_node_host_fits_its_largest_vm_in_one_node(tmp_path: Path, run_cli) -> None:
    """QA: 2 nodes and one 16 GB VM gave 11 GB nodes, so the default alone made the VM remote (N%L 69)."""
    text = (
        "[host]\nsockets = 2\ncores_per_socket = 8\n[run]\nduration_s = 4\ninterval_s = 2\n"
        '[[vm]]\nname = "big"\nvcpus = 4\nmemory_gb = 16\n'
    )
    scenario = load_scenario(write(tmp_path, text))
    per_node_mb = scenario.host.memory_mb // scenario.host.numa_nodes
    assert per_node_mb == math.ceil(16 * DEFAULT_MEMORY_PER_VM_MEMORY) * 1024
    code, out, err = run_cli("run", str(tmp_path / "s.toml"), "--json", "--no-progress")
    assert code == 0 and "remote" not in err, err
    assert [vm["numa_local_pct"] for vm in json.loads(out)["vms"]] == [100.0]
