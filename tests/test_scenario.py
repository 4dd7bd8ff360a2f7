"""Scenario files: one normalise → validate → build path; errors name file, key and value."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmksim.errors import ScenarioError
from vmksim.scenario import Distribution, WorkloadKind, load_scenario, scenario_from_mapping
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
        (('"sched.cpu.min" = 22400', '"sched.cpu.min" = "lots"'), "vm[0].settings", "lots"),
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
