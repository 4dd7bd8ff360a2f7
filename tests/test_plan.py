"""`vmksim plan` against documented ESXi layouts (../shared/data/vnuma-cases-A.yaml) and invariants."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import FIXTURES, SHARED
from vmksim.errors import VmxError
from vmksim.numa.plan import plan_vm, plan_vms
from vmksim.topology import PRESETS, HostTopology
from vmksim.vmx import vm_from_options
from vmksim.vmx.advanced import MODELLED_HOST_SETTINGS

CASES_FILE = SHARED / "data" / "vnuma-cases-A.yaml"


def _versions(label: str) -> list[str]:
    """ESXi releases a case's label covers: '6.0-6.5' → both ends, '3.5/4.0' → 4.0, '6.x (2019)' → 6.7."""
    if "6.x" in label:
        return ["6.7"]  # the 2019 sources describe 6.7-era behaviour
    found = re.findall(r"\d+\.\d+", label)
    if "/" in label:
        return [found[-1]]
    return found[:2] if "-" in label else found[:1]


def _cases() -> list[Any]:
    if not CASES_FILE.exists():
        return []
    params = []
    for case in yaml.safe_load(CASES_FILE.read_text())["cases"]:
        for version in _versions(str(case["vm"]["esxi_version"])):
            marks = []
            if case["evidence"] == "disputed":
                marks.append(
                    pytest.mark.xfail(reason=f"{case['id']}: layout disputed between sources", strict=False)
                )
            params.append(pytest.param(case, version, id=f"{case['id']}-{version}", marks=marks))
    return params


def _cli_args(case: dict[str, Any], version: str) -> list[str]:
    h, vm = case["host"], case["vm"]
    sockets = h["sockets"] or 1  # c21: socket count not stated; one package of 4 dies
    nodes = h["numa_nodes"] or sockets * (h["cores_per_socket"] // h["cores_per_numa_node"])
    spec = (
        f"sockets={sockets},cores_per_socket={h['cores_per_socket']},threads_per_core={h['threads_per_core'] or 1},"
        f"numa_nodes={nodes},memory_gb={h['memory_gb'] or 0}"
    )
    args = [
        "plan",
        "--json",
        "--host",
        spec,
        "--esxi",
        version,
        "--vcpus",
        str(vm["vcpus"]),
        "--name",
        case["id"],
    ]
    if vm["cores_per_socket"]:
        args += ["--cores-per-socket", str(vm["cores_per_socket"])]
    if vm["memory_gb"]:
        args += ["--memory-gb", str(vm["memory_gb"])]
    for key, value in vm["settings"].items():
        if key.startswith("host:"):
            args += ["--host-setting", f"{key[5:]}={value}"]
        elif key.startswith("remove:"):
            continue  # the entry is absent from a fresh VM built from options
        else:
            args += ["--set", f"{key}={'TRUE' if value is True else 'FALSE' if value is False else value}"]
    return args


@pytest.mark.skipif(not CASES_FILE.exists(), reason=f"{CASES_FILE} not found (../shared missing)")
@pytest.mark.parametrize(("case", "version"), _cases())
def test_documented_layouts(run_cli, case: dict[str, Any], version: str) -> None:
    code, out, err = run_cli(*_cli_args(case, version))
    assert code == 0, err
    got = json.loads(out)
    expected = case["expected"]
    checked = 0
    for key in (
        "vnuma_nodes",
        "vcpus_per_vnuma_node",
        "numa_clients",
        "vcpus_per_numa_client",
        "virtual_sockets",
        "cores_per_virtual_socket",
    ):
        if expected.get(key) is not None:
            assert got[key] == expected[key], f"{case['id']} {key}: {case['expected'].get('notes')}"
            checked += 1
    assert checked >= 2
    assert got["numa_managed"] is (expected["numa_clients"] != 0)


def test_release_rules_differ_where_the_docs_say() -> None:
    host = PRESETS["xeon-2x10-ht"]
    vm, _ = vm_from_options(name="v", vcpus=16, cores_per_socket=2)
    # 5.x-6.0: cores per socket drives vNUMA (8 nodes of 2); 6.5+: decoupled (2 nodes of 8).
    assert plan_vm(host, vm, "5.5").vcpus_per_vnuma_node == (2,) * 8
    assert plan_vm(host, vm, "6.5").vcpus_per_vnuma_node == (8, 8)
    wide, _ = vm_from_options(name="w", vcpus=12)
    assert plan_vm(host, wide, "4.0").numa_managed is False
    assert plan_vm(host, wide, "4.1").vcpus_per_numa_client == (10, 2)
    assert plan_vm(host, wide, "8.0").vcpus_per_numa_client == (6, 6)


def test_vmx_writes_and_log_line() -> None:
    host = PRESETS["xeon-2x20-ht"]
    vm, _ = vm_from_options(name="v", vcpus=30, cores_per_socket=2)
    plan = plan_vm(host, vm, "7.0")
    assert plan.log_line == "numaHost: 30 VCPUs 2 VPDs 2 PPDs"
    assert plan.vmx_writes["numa.autosize.vcpu.maxPerVirtualNode"] == "16"
    frozen, _ = vm_from_options(name="v", vcpus=30, settings=dict(plan.vmx_writes))
    assert plan_vm(host, frozen, "7.0").vmx_writes == {}


def test_warnings_an_engineer_would_give() -> None:
    host = PRESETS["nfv-2x24-ht"]

    def warn(**kw: Any) -> str:
        vm, _ = vm_from_options(name="v", **kw)
        return " ".join(plan_vm(host, vm, "8.0").warnings)

    assert "Wide VM" in warn(vcpus=32)
    assert "preferHT packs" in warn(vcpus=32, settings={"numa.vcpu.preferHT": True})
    assert "splits the clients unevenly" in warn(vcpus=30, cores_per_socket=2)
    assert "hot-add disables vNUMA" in warn(vcpus=32, settings={"vcpu.hotadd": True})
    assert "larger than a node" in warn(vcpus=8, memory_gb=512)
    assert warn(vcpus=8, memory_gb=64) == ""


def test_several_vms_are_placed_in_order_on_the_least_loaded_nodes(run_cli) -> None:
    host = PRESETS["nfv-2x24-ht"]
    vms = [vm_from_options(name=f"v{i}", vcpus=20)[0] for i in range(3)]
    assert [p.home_nodes for p in plan_vms(host, vms)] == [(0,), (1,), (0,)]
    code, out, _ = run_cli("plan", "--json", "--vcpus", "8", str(FIXTURES / "vmx" / "sql01.vmx"))
    assert code == 0
    data = json.loads(out)
    assert [d["name"] for d in data] == ['sql01 "prod"', "vm"]


@settings(max_examples=150, deadline=None)
@given(
    vcpus=st.integers(1, 96),
    cps_pick=st.integers(0, 5),
    version=st.sampled_from(["4.0", "4.1", "5.5", "6.0", "6.5", "6.7", "7.0", "8.0"]),
    prefer_ht=st.booleans(),
    hotadd=st.booleans(),
    consolidate=st.booleans(),
    host_name=st.sampled_from(["nfv-2x24-ht", "xeon-2x10-ht", "xeon-4x14-ht", "epyc-2x64-nps4"]),
)
def test_layout_invariants(
    vcpus: int, cps_pick: int, version: str, prefer_ht: bool, hotadd: bool, consolidate: bool, host_name: str
) -> None:
    host: HostTopology = PRESETS[host_name]
    divisors = [d for d in range(1, vcpus + 1) if vcpus % d == 0]
    cps = divisors[cps_pick % len(divisors)]
    settings_ = {"numa.vcpu.preferHT": prefer_ht, "vcpu.hotadd": hotadd, "numa.consolidate": consolidate}
    vm, _ = vm_from_options(name="v", vcpus=vcpus, cores_per_socket=cps, settings=settings_)
    if vcpus > host.pcpus:
        with pytest.raises(VmxError, match="more than the host's"):
            plan_vm(host, vm, version)
        return
    plan = plan_vm(host, vm, version)
    assert plan == plan_vm(host, vm, version)  # deterministic
    assert sum(plan.vcpus_per_vnuma_node) == vcpus
    assert sorted(v for c in plan.clients for v in c.vcpus) == (
        list(range(vcpus)) if plan.numa_managed else []
    )
    capacity = host.threads_per_node if prefer_ht else host.cores_per_node
    for client in plan.clients:
        # Only a hot-add VM's single client may span nodes (KB 340275), and then it lists them all.
        if client.size > capacity:
            assert hotadd
            assert len(client.nodes) == min(math.ceil(client.size / host.cores_per_node), host.numa_nodes)
        assert all(0 <= n < host.numa_nodes for n in client.nodes)
    assert plan.virtual_sockets * plan.cores_per_virtual_socket == vcpus


# --- errors name the option the user typed (QA: `--vcpus:memSize:` for a bad --memory-gb) ------


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        # checked as parsed: at least one MB (cli.plan.MIN_MEMORY_GB), before any .vmx is built
        (["--memory-gb", "-1"], "vmksim: error: --memory-gb: must be at least 0.000976562, got -1"),
        # ESXi 8.0's VM maximum is 24 TB (vmx.config.MAX_VM_MEMORY_MB)
        (["--memory-gb", "100000"], "vmksim: error: --memory-gb: memSize must be at most 25165824, got"),
        (["--cores-per-socket", "3"], "vmksim: error: --cores-per-socket: cpuid.coresPerSocket = 3 does not"),
        (["--set", "numa.vcpu.min=x"], "vmksim: error: --set numa.vcpu.min: numa.vcpu.min must be a whole"),
        (
            ["--host", "sockets=0,cores_per_socket=4"],
            "vmksim: error: --host:sockets: sockets must be at least 1",
        ),
        (
            ["--vcpus", "200"],
            "vmksim: error: --vcpus: numvcpus = 200 is more than the host's 96 logical CPUs",
        ),
    ],
    ids=["memory-negative", "memory-above-24tb", "cores", "set", "sockets", "vcpus-above-host"],
)
def test_plan_errors_name_the_option(run_cli, argv: list[str], line: str) -> None:
    code, out, err = run_cli("plan", "--vcpus", "4", *argv)
    assert code == 1 and not out
    assert err.startswith(line), err


def test_unknown_host_setting_warns_with_the_nearest_known_one(run_cli) -> None:
    code, _, err = run_cli(
        "plan", "--vcpus", "4", "--host-setting", "Numa.Bogus=1", "--host-setting", "Numa.PrefrHT=1"
    )
    assert code == 0
    warnings = [w for w in err.splitlines() if w.startswith("vmksim: warning: --host-setting")]
    assert warnings == [
        "vmksim: warning: --host-setting Numa.Bogus: unknown host advanced setting (vmksim models "
        + ", ".join(MODELLED_HOST_SETTINGS)
        + "); it has no effect",
        "vmksim: warning: --host-setting Numa.PrefrHT: unknown host advanced setting "
        "(did you mean 'Numa.PreferHT'?); it has no effect",
    ]


def test_every_host_setting_vmksim_reads_is_in_the_catalogue() -> None:
    """The warning's list (vmx.advanced) holds every key the planner and the scheduler read."""
    import inspect

    from vmksim.numa import plan as numa_plan
    from vmksim.sched.params import HOST_SETTING_FIELDS

    modelled = {k.lower() for k in MODELLED_HOST_SETTINGS}
    read_by_plan = set(re.findall(r'_host_flag\([^)]*"([A-Za-z.]+)"', inspect.getsource(numa_plan)))
    assert read_by_plan and {k.lower() for k in read_by_plan} <= modelled
    assert set(HOST_SETTING_FIELDS) <= modelled
