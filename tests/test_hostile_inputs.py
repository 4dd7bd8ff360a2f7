"""Regression tests for hostile inputs to the parsers (issue 11 items 4-8, 12-14, semantic gaps).

Each case is a minimal reproducer built here, run through the CLI entry point where the
bug was reachable from the CLI: exit code 1, one line on stderr naming the file (or
option), the place and the problem, and no traceback.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from vmksim.topology.model import MAX_LOGICAL_CPUS, MAX_MEMORY_GB, MAX_NUMA_NODES


def one_error(result: tuple[int, str, str]) -> str:
    """The single error line of a failed CLI run (asserts exit 1, one line, no traceback)."""
    code, _, err = result
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1, err
    assert len(lines) == 1, err
    assert lines[0].startswith("vmksim: error: "), err
    assert "Traceback" not in err
    return lines[0]


# --- hwloc XML (item 4) -------------------------------------------------------------------------

HWLOC_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<topology version="2.0">
  <object type="Machine" os_index="0" cpuset="0x00000003">
    <object type="Package" os_index="0" cpuset="0x00000003">
      <object type="Core" os_index="0" cpuset="0x00000003">
        <object type="PU" os_index="{pu0}" cpuset="0x00000001"/>
        <object type="PU" os_index="1" cpuset="0x00000002"/>
      </object>
    </object>
    <object type="NUMANode" os_index="0" cpuset="{node_cpuset}" local_memory="1073741824"/>
  </object>
</topology>
"""


def hwloc(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "host.xml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_minimal_hwloc_file_reads(tmp_path: Path, run_cli) -> None:
    # The reproducers below differ from this one in one attribute each.
    path = hwloc(tmp_path, HWLOC_TEMPLATE.format(pu0="0", node_cpuset="0x00000003"))
    code, out, err = run_cli("topology", "show", str(path))
    assert code == 0, err
    assert "1 socket(s) x 1 cores, 2 threads/core" in out


@pytest.mark.parametrize(
    ("pu0", "node_cpuset", "problem"),
    [
        ("null", "0x00000003", "PU object has os_index 'null'"),
        ("0", "0xzz", "NUMANode 0: malformed cpuset '0xzz'"),
        ("0", "0xf...f", "malformed cpuset '0xf...f'"),
        ("0", ",".join(["0xffffffff"] * 10_000), "cpuset has 10000 words"),
    ],
    ids=["os_index-null", "bad-hex", "infinite-set", "too-many-words"],
)
def test_hwloc_bad_attributes_are_one_line(
    tmp_path: Path, run_cli, pu0: str, node_cpuset: str, problem: str
) -> None:
    path = hwloc(tmp_path, HWLOC_TEMPLATE.format(pu0=pu0, node_cpuset=node_cpuset))
    line = one_error(run_cli("topology", "show", str(path)))
    assert str(path) in line
    assert problem in line


def test_hwloc_unknown_encoding_is_one_line(tmp_path: Path, run_cli) -> None:
    path = tmp_path / "host.xml"
    path.write_bytes(b'<?xml version="1.0" encoding="no-such-codec"?><topology/>')
    line = one_error(run_cli("topology", "show", str(path)))
    assert str(path) in line and "unknown encoding: no-such-codec" in line


def test_hwloc_deep_nesting_does_not_overflow_the_stack(tmp_path: Path, run_cli) -> None:
    depth = 5000  # well past Python's default recursion limit of 1000
    inner = '<object type="PU" os_index="0" cpuset="0x1"/>'
    text = "<topology>" + '<object type="Group">' * depth + inner + "</object>" * depth + "</topology>"
    code, out, err = run_cli("topology", "show", str(hwloc(tmp_path, text)))
    assert code == 0, err
    assert "1 PCPUs" in out


# --- --host inline specs (items 5, 6, 13) -------------------------------------------------------


def test_host_spec_with_a_part_longer_than_a_file_name(run_cli) -> None:
    spec = "sockets=1,cores_per_socket=4,name=" + "a" * 300  # > NAME_MAX (255) as a path
    code, out, err = run_cli("topology", "show", spec)
    assert code == 0, err
    assert "4 PCPUs" in out


def test_a_long_unknown_host_word_is_one_short_line(run_cli) -> None:
    line = one_error(run_cli("topology", "show", "x" * 300))
    assert line.startswith("vmksim: error: HOST: 'xxx") and "is not a preset" in line
    assert len(line) < 400


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e309"])
def test_host_memory_must_be_finite(run_cli, value: str) -> None:
    line = one_error(run_cli("topology", "show", f"sockets=1,cores_per_socket=4,memory_gb={value}"))
    assert (
        line == f"vmksim: error: HOST:memory_gb: host key 'memory_gb' must be a finite number, got '{value}'"
    )


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        (
            "sockets=2147483647,cores_per_socket=4",
            f"NUMA nodes is more than ESXi 8.0 supports per host ({MAX_NUMA_NODES})",
        ),
        (
            "sockets=2,cores_per_socket=1000000000000",
            f"more than ESXi 8.0 supports per host ({MAX_LOGICAL_CPUS})",
        ),
        ("sockets=100000,cores_per_socket=100000", "NUMA nodes is more than ESXi 8.0 supports"),
        ("sockets=1,cores_per_socket=4,memory_gb=30000", f"from 0 to {MAX_MEMORY_GB} (24 TB"),
        ("sockets=1,cores_per_socket=4,mhz=99999", "mhz must be between 1 and 10000"),
        ("sockets=1,cores_per_socket=" + "9" * 40, "host key 'cores_per_socket' must be an integer"),
    ],
)
def test_host_sizes_are_bounded_by_esxi_maxima(run_cli, spec: str, problem: str) -> None:
    started = time.monotonic()
    line = one_error(run_cli("topology", "show", spec))
    assert line.startswith("vmksim: error: HOST")
    assert problem in line
    assert time.monotonic() - started < 5


def test_the_largest_supported_host_is_accepted(run_cli) -> None:
    # 8 sockets x 56 cores x 2 threads = 896 PCPUs, 16 nodes, 24 TB: exactly at the maxima.
    spec = "sockets=8,cores_per_socket=56,threads_per_core=2,numa_nodes=16,memory_gb=24576"
    code, out, err = run_cli("topology", "show", spec)
    assert code == 0, err
    assert "896 PCPUs" in out


def test_integral_floats_do_not_size_a_host(tmp_path: Path, run_cli) -> None:
    path = tmp_path / "host.toml"
    path.write_text("[host]\nsockets = 1\ncores_per_socket = 1e12\n")
    line = one_error(run_cli("topology", "show", str(path)))
    assert line == (
        f"vmksim: error: {path}:cores_per_socket: host key 'cores_per_socket' must be an integer, got 1000000000000.0"
    )


@pytest.mark.parametrize("value", ["inf", "nan", "1e309"])
def test_scenario_host_memory_must_be_finite(tmp_path: Path, run_cli, value: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        f'[host]\nsockets = 1\ncores_per_socket = 4\nmemory_gb = {value}\n[[vm]]\nname = "a"\nvcpus = 1\n'
    )
    line = one_error(run_cli("run", str(path), "--duration", "1"))
    assert f"{path}:host.memory_gb:" in line and "must be a finite number" in line


# --- sysfs (item 8) -----------------------------------------------------------------------------


def test_sysfs_cpu_list_range_is_bounded(tmp_path: Path, run_cli) -> None:
    cpu = tmp_path / "devices" / "system" / "cpu"
    cpu.mkdir(parents=True)
    (cpu / "online").write_text("0-1000000000\n")
    started = time.monotonic()
    line = one_error(run_cli("topology", "show", str(tmp_path)))
    assert time.monotonic() - started < 5
    assert f"{cpu / 'online'}" in line
    assert f"names more than {MAX_LOGICAL_CPUS} CPUs" in line


@pytest.mark.parametrize("text", ["3-1", "0-", "a", "0--2"])
def test_sysfs_bad_cpu_lists(tmp_path: Path, run_cli, text: str) -> None:
    cpu = tmp_path / "devices" / "system" / "cpu"
    cpu.mkdir(parents=True)
    (cpu / "online").write_text(text)
    line = one_error(run_cli("topology", "show", str(tmp_path)))
    assert f"{cpu / 'online'}: bad CPU list" in line


# --- esxcli text ---------------------------------------------------------------------------------


def test_esxcli_without_core_id_says_ht_was_assumed_off(tmp_path: Path, run_cli) -> None:
    path = tmp_path / "esx.txt"
    path.write_text("CPU:0\n   Id: 0\n   Package Id: 0\nCPU:1\n   Id: 1\n   Package Id: 0\n")
    code, out, err = run_cli("topology", "show", str(path))
    assert code == 0, err
    assert "no HT" in out
    warning = [line for line in err.splitlines() if line.strip()]
    assert len(warning) == 1
    assert warning[0].startswith(f"vmksim: warning: {path}: no 'Core Id'")
    assert "assumed 1 thread per core (hyper-threading off)" in warning[0]


@pytest.mark.parametrize("value", ["9" * 5000, "٣"], ids=["5000-digits", "arabic-indic-digit"])
def test_esxcli_numbers_are_bounded_ascii(tmp_path: Path, run_cli, value: str) -> None:
    path = tmp_path / "esx.txt"
    path.write_text(f"CPU:0\n   Id: 0\n   Core Id: 0\n   Package Id: {value}\n", encoding="utf-8")
    line = one_error(run_cli("topology", "show", str(path)))
    assert str(path) in line and "Package Id is not a number" in line


def test_esxcli_leading_zero_is_decimal(tmp_path: Path, run_cli) -> None:
    path = tmp_path / "esx.txt"
    path.write_text("CPU:0\n   Id: 00\n   Package Id: 00\n   Core Id: 07\n")
    code, out, err = run_cli("topology", "show", str(path))
    assert code == 0, err
    assert "1 PCPUs" in out  # int("07", 0) used to raise ValueError


def test_memory_not_given_is_not_zero_gb(run_cli) -> None:
    code, out, err = run_cli("topology", "show", "sockets=1,cores_per_socket=4")
    assert code == 0, err
    assert "0 GB" not in out
    assert "memory not given" in out


def test_memory_label_finite() -> None:
    from vmksim.topology.model import memory_label

    assert memory_label(0) == "memory not given"
    assert memory_label(512) == "512 MB"
    assert memory_label(384 * 1024) == "384 GB"
    assert math.isfinite(MAX_MEMORY_GB)


# --- scenarios (items 6, 7, 14, semantic gaps; issue 10 esxi and misspelt keys) ----------------

SCENARIO_HEAD = (
    "[host]\nsockets = 1\ncores_per_socket = 4\nmemory_gb = 32\n[run]\nduration_s = 0.1\ninterval_s = 0.05\n"
)


def scenario(tmp_path: Path, body: str, head: str = SCENARIO_HEAD) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(head + body, encoding="utf-8")
    return path


def run_scenario(run_cli, path: Path) -> tuple[int, str, str]:
    return run_cli("run", str(path), "--no-progress")


def test_a_minimal_scenario_runs(tmp_path: Path, run_cli) -> None:
    code, out, err = run_scenario(run_cli, scenario(tmp_path, '[[vm]]\nname = "a"\nvcpus = 1\n'))
    assert code == 0, err
    assert "a" in out


@pytest.mark.parametrize("value", ["inf", "nan", "1e309"])
def test_scenario_vm_memory_must_be_finite(tmp_path: Path, run_cli, value: str) -> None:
    path = scenario(tmp_path, f'[[vm]]\nname = "a"\nvcpus = 1\nmemory_gb = {value}\n')
    line = one_error(run_scenario(run_cli, path))
    assert f"{path}:vm[0].memory_gb: must be a number" in line


def test_hyperexponential_cv2_is_bounded(tmp_path: Path, run_cli) -> None:
    from vmksim.scenario import MAX_CV2

    body = '[[vm]]\nname = "a"\nvcpus = 1\n[vm.workload]\nkind = "onoff"\ndistribution = "hyperexponential"\n'
    path = scenario(tmp_path, body + "cv2 = 1e17\n")
    line = one_error(run_scenario(run_cli, path))
    assert line == f"vmksim: error: {path}:vm[0].workload.cv2: must be <= {MAX_CV2:g}, got 1e+17"
    # At the bound the run completes: the draw stays finite.
    path.write_text(SCENARIO_HEAD + body + f"cv2 = {MAX_CV2}\n")
    code, _, err = run_scenario(run_cli, path)
    assert code == 0, err


def test_hyperexponential_draws_stay_finite_past_double_precision() -> None:
    import numpy as np

    from vmksim.scenario import Distribution
    from vmksim.workload import _draw

    # p = (1 + sqrt((cv2-1)/(cv2+1)))/2 rounds to 1.0 from cv2 ~ 1e16 on; the clamp keeps 1 - p > 0.
    draws = _draw(np.random.default_rng(1), Distribution.HYPEREXPONENTIAL, 5.0, 1e17, 1000)
    assert np.isfinite(draws).all()
    assert (draws >= 0).all()


def test_vms_per_host_maximum_is_an_admission_error(tmp_path: Path, run_cli) -> None:
    from vmksim.scenario import MAX_VMS_PER_HOST

    path = scenario(tmp_path, '[[vm]]\nname = "a"\nvcpus = 1\ncount = 100000\n')
    started = time.monotonic()
    line = one_error(run_scenario(run_cli, path))
    assert time.monotonic() - started < 5
    assert f"{path}:vm[0].count: 100000 VMs on one host" in line
    assert f"at most {MAX_VMS_PER_HOST} VMs per host" in line


def test_vms_per_host_counts_every_vm_table(tmp_path: Path, run_cli) -> None:
    body = '[[vm]]\nname = "a"\nvcpus = 1\ncount = 1000\n[[vm]]\nname = "b"\nvcpus = 1\ncount = 25\n'
    line = one_error(run_scenario(run_cli, scenario(tmp_path, body)))
    assert ":vm[1].count: 1025 VMs on one host" in line


def test_threads_above_vcpus_is_refused(tmp_path: Path, run_cli) -> None:
    body = '[[vm]]\nname = "a"\nvcpus = 2\n[vm.workload]\nkind = "threads"\nthreads = 3\n'
    path = scenario(tmp_path, body)
    line = one_error(run_scenario(run_cli, path))
    assert f"{path}:vm[0].workload.threads: threads = 3 is more than the VM's 2 vCPUs" in line


@pytest.mark.parametrize(
    ("settings", "place", "problem"),
    [
        (
            '"sched.cpu.min" = 1000\n"sched.cpu.max" = 500\n',
            "vm[0].settings.sched.cpu.max",
            "sched.cpu.max = 500 is below sched.cpu.min = 1000",
        ),
        (
            '"sched.mem.min" = 2048\n"sched.mem.max" = 1024\n',
            "vm[0].settings.sched.mem.max",
            "sched.mem.max = 1024 is below sched.mem.min = 2048",
        ),
    ],
    ids=["cpu", "memory"],
)
def test_limit_below_reservation_is_refused(
    tmp_path: Path, run_cli, settings: str, place: str, problem: str
) -> None:
    path = scenario(tmp_path, '[[vm]]\nname = "a"\nvcpus = 1\n[vm.settings]\n' + settings)
    line = one_error(run_scenario(run_cli, path))
    assert f"{path}:{place}: {problem}" in line


def test_unlimited_minus_one_is_still_accepted(tmp_path: Path, run_cli) -> None:
    path = scenario(
        tmp_path,
        '[[vm]]\nname = "a"\nvcpus = 1\n[vm.settings]\n"sched.cpu.min" = 100\n"sched.cpu.max" = -1\n',
    )
    code, _, err = run_scenario(run_cli, path)
    assert code == 0, err


def test_memory_reservations_above_the_host_are_refused(tmp_path: Path, run_cli) -> None:
    # 32 GB host; two VMs reserving 20 GB each: the second power-on fails admission.
    body = (
        '[[vm]]\nname = "a"\nvcpus = 1\ncount = 2\nmemory_gb = 20\n[vm.settings]\n"sched.mem.min" = 20480\n'
    )
    line = one_error(run_scenario(run_cli, scenario(tmp_path, body)))
    assert "memory reservations (sched.mem.min) total 40960 MB by VM 'a-2'" in line
    assert "the host's 32768 MB" in line


def test_vm_memory_above_the_host_is_allowed(tmp_path: Path, run_cli) -> None:
    # Overcommitment: configured memory beyond the host is backed by swap, ESXi powers it on.
    code, _, err = run_scenario(
        run_cli, scenario(tmp_path, '[[vm]]\nname = "a"\nvcpus = 1\nmemory_gb = 64\n')
    )
    assert code == 0, err


def test_misspelt_vmx_key_in_a_scenario_names_the_nearest(tmp_path: Path, run_cli) -> None:
    body = '[[vm]]\nname = "a"\nvcpus = 1\ncount = 3\n[vm.settings]\n"sched.cpu.shars" = "high"\n'
    path = scenario(tmp_path, body)
    code, _, err = run_scenario(run_cli, path)
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("vmksim: warning:")]
    assert warnings == [
        f"vmksim: warning: {path}:vm[0].settings.sched.cpu.shars: unknown .vmx key 'sched.cpu.shars' "
        "(did you mean 'sched.cpu.shares'?); it is kept but has no effect"
    ]


def test_misspelt_vmx_key_in_set_names_the_nearest(run_cli) -> None:
    code, _, err = run_cli("plan", "--host", "tiny-1x4", "--vcpus", "2", "--set", "numa.vcpu.preferHt=TRUE")
    assert code == 0, err  # keys are case-insensitive: this one is known
    assert "warning" not in err
    code, _, err = run_cli("plan", "--host", "tiny-1x4", "--vcpus", "2", "--set", "numa.vcpu.prefer_ht=TRUE")
    assert code == 0, err
    assert "unknown .vmx key 'numa.vcpu.prefer_ht' (did you mean 'numa.vcpu.preferHT'?)" in err


@pytest.mark.parametrize(
    ("head", "ok"),
    [
        ('esxi = "7.0"\n' + SCENARIO_HEAD, True),
        (SCENARIO_HEAD.replace("[host]\n", '[host]\nesxi = "7.0"\n'), True),
        ('esxi = "7.0"\n' + SCENARIO_HEAD.replace("[host]\n", '[host]\nesxi = "7.0"\n'), True),
        ('esxi = "7.0"\n' + SCENARIO_HEAD.replace("[host]\n", '[host]\nesxi = "8.0"\n'), False),
    ],
    ids=["top", "host", "both-agree", "both-disagree"],
)
def test_esxi_release_at_top_level_or_under_host(tmp_path: Path, head: str, ok: bool) -> None:
    from vmksim.errors import ScenarioError
    from vmksim.scenario import load_scenario

    path = scenario(tmp_path, '[[vm]]\nname = "a"\nvcpus = 1\n', head=head)
    if ok:
        assert load_scenario(path).esxi == "7.0"
    else:
        with pytest.raises(
            ScenarioError, match=r"host\.esxi: esxi = '7.0' at the top level but '8.0' under \[host\]"
        ):
            load_scenario(path)


# --- .vmx ---------------------------------------------------------------------------------------


def test_an_empty_vmx_says_it_plans_a_default_vm(tmp_path: Path, run_cli) -> None:
    path = tmp_path / "empty.vmx"
    path.write_text("")
    code, _, err = run_cli("plan", "--host", "tiny-1x4", str(path))
    assert code == 0, err
    assert (
        err.strip()
        == f"vmksim: warning: {path}: no settings in the file; using ESXi's defaults (numvcpus = 1, no memSize, normal shares)"
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('numvcpus = "100000000"\n', "1: numvcpus must be at most 768, got 100000000"),
        ('memSize = "99999999999"\n', "1: memSize must be at most 25165824, got 99999999999"),
        (
            'sched.cpu.affinity = "0-1000000000"\n',
            "1: sched.cpu.affinity names 1000000000, beyond the 896 logical CPUs",
        ),
        ('sched.cpu.min = "' + "9" * 5000 + '"\n', "1: sched.cpu.min must be a whole number, got '999"),
        ('sched.cpu.min = "99999999999999"\n', "1: sched.cpu.min must be at most 2147483647"),
    ],
    ids=["vcpus", "memory", "affinity-range", "5000-digits", "huge-mhz"],
)
def test_vmx_sizes_are_bounded(tmp_path: Path, run_cli, text: str, problem: str) -> None:
    path = tmp_path / "vm.vmx"
    path.write_text(text)
    started = time.monotonic()
    line = one_error(run_cli("plan", "--host", "tiny-1x4", str(path)))
    assert time.monotonic() - started < 5
    assert line.startswith(f"vmksim: error: {path}:{problem}")


# --- captures (item 12) -------------------------------------------------------------------------


def capture(tmp_path: Path, pcpu_ids: list[str]) -> Path:
    host = "\\\\esx"
    cols = ['"(PDH-CSV 4.0) (UTC)(0)"'] + [f'"{host}\\Physical Cpu({i})\\% Util Time"' for i in pcpu_ids]
    rows = [",".join(cols)]
    for t in ("01/01/2024 00:00:00", "01/01/2024 00:00:05"):
        rows.append(",".join([f'"{t}"'] + ['"10.0"'] * len(pcpu_ids)))
    path = tmp_path / "cap.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_a_minimal_capture_analyzes(tmp_path: Path, run_cli) -> None:
    code, _, err = run_cli("analyze", str(capture(tmp_path, ["0", "1"])))
    assert code == 0, err


@pytest.mark.parametrize("command", ["analyze", "compare"])
def test_a_huge_pcpu_id_is_one_line_not_a_hang(tmp_path: Path, run_cli, command: str) -> None:
    path = capture(tmp_path, ["0", "9223372036854775807"])
    args = [command, str(path)] + ([str(path)] if command == "compare" else [])
    started = time.monotonic()
    line = one_error(run_cli(*args))
    assert time.monotonic() - started < 10
    assert f"{path}: column 'Physical Cpu(9223372036854775807)': PCPU numbers must run 0..N-1" in line


# --- entitlement water-fill (item 14) -----------------------------------------------------------


def _scalar_water_fill(
    capacity: float, shares: list[float], floors: list[float], caps: list[float]
) -> list[float]:
    """The scalar bisection the vectorised water_fill replaced (the reference it must equal)."""
    n = len(shares)
    caps = [max(c, 0.0) for c in caps]
    floors = [min(max(f, 0.0), c) for f, c in zip(floors, caps, strict=True)]
    if sum(caps) <= capacity:
        return list(caps)
    floor_sum = sum(floors)
    if floor_sum >= capacity:
        return [f * capacity / floor_sum if floor_sum else 0.0 for f in floors]

    def alloc(theta: float) -> list[float]:
        return [min(max(theta * shares[i], floors[i]), caps[i]) for i in range(n)]

    lo, hi = 0.0, 1.0
    while sum(alloc(hi)) < capacity:
        hi *= 2.0
        if hi > 1e30:
            break
    for _ in range(200):
        mid = (lo + hi) / 2
        if sum(alloc(mid)) < capacity:
            lo = mid
        else:
            hi = mid
    return alloc(hi)


def test_water_fill_is_bit_identical_to_the_scalar_bisection() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from vmksim.sched.entitlement import water_fill

    child = st.tuples(
        st.integers(1, 200_000),
        st.sampled_from([0.0, 0.0, 100.0, 1500.0, 3000.0]),
        st.sampled_from([2400.0, 4800.0, 1000.0, 9600.0]),
    )

    @settings(max_examples=200, deadline=None)
    @given(st.lists(child, min_size=1, max_size=40), st.floats(100.0, 400_000.0))
    def check(children: list[tuple[int, float, float]], capacity: float) -> None:
        shares = [float(s) for s, _, _ in children]
        floors = [f for _, f, _ in children]
        caps = [c for _, _, c in children]
        assert water_fill(capacity, shares, floors, caps) == _scalar_water_fill(
            capacity, shares, floors, caps
        )

    check()


def test_water_fill_scales_to_100000_children() -> None:
    from vmksim.sched.entitlement import water_fill

    n = 100_000
    shares = [float(500 * (1 + i % 4)) for i in range(n)]
    caps = [2400.0 * (1 + i % 3) for i in range(n)]
    capacity = n * 500.0
    started = time.monotonic()
    got = water_fill(capacity, shares, [0.0] * n, caps)
    assert time.monotonic() - started < 5  # the scalar loop took ~11 s here
    assert sum(got) == pytest.approx(capacity, rel=1e-12)
    # Weighted max-min: allocations are proportional to shares below the caps.
    theta = got[0] / shares[0]
    assert all(
        a == pytest.approx(min(theta * s, c), rel=1e-9) for a, s, c in zip(got, shares, caps, strict=True)
    )


# --- trace CSV ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("csv_text", "problem"),
    [
        ("time_s,a\n0,nan\n", "2: demand must be finite and >= 0"),
        ("time_s,a\n0,10\ninf,10\n", "3: demand must be finite and >= 0"),
        ("time_s,a\n0," + "9" * 200_000 + "\n", "not a readable CSV: field larger than field limit"),
    ],
    ids=["nan-demand", "inf-time", "huge-field"],
)
def test_trace_csv_bad_values_are_one_line(tmp_path: Path, run_cli, csv_text: str, problem: str) -> None:
    (tmp_path / "t.csv").write_text(csv_text)
    body = '[[vm]]\nname = "a"\nvcpus = 1\n[vm.workload]\nkind = "trace"\ntrace = "t.csv"\n'
    line = one_error(run_scenario(run_cli, scenario(tmp_path, body)))
    assert f"{tmp_path / 't.csv'}:" in line and problem in line


@pytest.mark.parametrize("key", ["busy_ms", "idle_ms"])
def test_workload_times_are_bounded(tmp_path: Path, run_cli, key: str) -> None:
    from vmksim.scenario import MAX_WORKLOAD_MS

    body = f'[[vm]]\nname = "a"\nvcpus = 1\n[vm.workload]\nkind = "onoff"\n{key} = 2147483648\n'
    path = scenario(tmp_path, body)
    started = time.monotonic()
    line = one_error(run_scenario(run_cli, path))
    assert time.monotonic() - started < 5
    assert (
        line == f"vmksim: error: {path}:vm[0].workload.{key}: must be <= {MAX_WORKLOAD_MS:g}, got 2147483648"
    )


def test_periodic_times_are_bounded(tmp_path: Path, run_cli) -> None:
    body = '[[vm]]\nname = "a"\nvcpus = 1\n[vm.workload]\nkind = "periodic"\nperiod_ms = 1e300\n'
    path = scenario(tmp_path, body)
    line = one_error(run_scenario(run_cli, path))
    assert f"{path}:vm[0].workload.period_ms: must be <= 8.64e+07, got 1e+300" in line


def test_draws_stay_inside_the_kernel_time_horizon() -> None:
    import numpy as np

    from vmksim.scenario import MAX_CV2, MAX_WORKLOAD_MS, Distribution
    from vmksim.sched import core
    from vmksim.workload import MAX_DRAW_US, _draw

    # A draw added to any time of a run shorter than MAX_DRAW_US stays below the heap-key limit.
    assert 2 * MAX_DRAW_US <= core.MAX_TIME_US
    mean_us = MAX_WORKLOAD_MS * 1000
    for dist in Distribution:
        draws = _draw(np.random.default_rng(7), dist, mean_us, MAX_CV2, 10_000)
        assert draws.max() <= MAX_DRAW_US
        assert np.isfinite(draws).all()


def test_warnings_do_not_precede_an_error(tmp_path: Path, run_cli) -> None:
    # vm[0] has a misspelt key (a warning if the scenario were valid), vm[1] an error: one line only.
    body = (
        '[[vm]]\nname = "a"\nvcpus = 1\n[vm.settings]\n"sched.cpu.shars" = "high"\n'
        '[[vm]]\nname = "b"\nvcpus = 1\n[vm.settings]\n"numvcpus" = "x"\n'
    )
    line = one_error(run_scenario(run_cli, scenario(tmp_path, body)))
    assert ":vm[1].settings.numvcpus: numvcpus must be a whole number" in line
    esx = tmp_path / "esx.txt"
    esx.write_text("CPU:0\n   Package Id: zero\n")  # no Core Id (would warn) and a bad number
    line = one_error(run_cli("topology", "show", str(esx)))
    assert "Package Id is not a number" in line
    code, _, err = run_cli(
        "plan", "--host", "tiny-1x4", "--vcpus", "2", "--set", "sched.cpu.shars=high", "--set", "numvcpus=0"
    )
    assert code == 1 and err.count("\n") == 1 and "numvcpus must be at least 1" in err


def test_special_files_in_topology_inputs_do_not_block(tmp_path: Path, run_cli) -> None:
    import os

    fifo = tmp_path / "host.fifo"
    os.mkfifo(fifo)
    line = one_error(run_cli("topology", "show", str(fifo)))
    assert line == f"vmksim: error: {fifo}: not a regular file or a directory"
    # A FIFO planted as a sysfs attribute is skipped (sysfs attributes are regular files).
    cpu = tmp_path / "sys" / "devices" / "system" / "cpu"
    (cpu / "cpu0" / "topology").mkdir(parents=True)
    os.mkfifo(cpu / "online")
    (cpu / "cpu0" / "topology" / "physical_package_id").write_text("0\n")
    (cpu / "cpu0" / "topology" / "core_id").write_text("0\n")
    code, out, err = run_cli("topology", "show", str(tmp_path))
    assert code == 0, err
    assert "1 PCPUs" in out


def test_a_huge_host_file_is_refused_by_size(tmp_path: Path, run_cli) -> None:
    from vmksim.topology.spec import MAX_TOML_BYTES

    path = tmp_path / "host.toml"
    path.write_text("# " + "x" * MAX_TOML_BYTES + "\n[host]\nsockets = 1\ncores_per_socket = 1\n")
    line = one_error(run_cli("topology", "show", str(path)))
    assert line.startswith(f"vmksim: error: {path}: larger than 1024 KiB")


# --- host advanced settings: a value outside the option's range (QA: 0 divided by zero, -3 hung)


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("Numa.RebalancePeriod", "0", "must be from 100 to 60000, got 0"),
        ("Numa.RebalancePeriod", "-3", "must be from 100 to 60000, got -3"),
        ("Numa.RebalancePeriod", '"0.001"', "must be a whole number from 100 to 60000, got '0.001'"),
        ("Numa.PreferHT", '"abc"', "must be a whole number from 0 to 1, got 'abc'"),
        ("Numa.RebalanceEnable", "7", "must be from 0 to 1, got 7"),
        ("Numa.MigImbalanceThreshold", "-10", "must be from 1 to 200, got -10"),
    ],
)
def test_host_settings_out_of_their_range_are_one_line(
    tmp_path: Path, run_cli, key: str, value: str, problem: str
) -> None:
    head = SCENARIO_HEAD + f'[host.settings]\n"{key}" = {value}\n'
    path = scenario(tmp_path, '[[vm]]\nname = "a"\nvcpus = 1\n', head=head)
    line = one_error(run_scenario(run_cli, path))
    assert line == f"vmksim: error: {path}:host.settings.{key}: {problem}"
    plain = value.strip('"')
    line = one_error(run_cli("plan", "--vcpus", "4", "--host-setting", f"{key}={plain}"))
    assert line == f"vmksim: error: --host-setting {key}: {problem}"


def test_host_settings_in_range_and_esxi_booleans_are_accepted(tmp_path: Path, run_cli) -> None:
    head = SCENARIO_HEAD + '[host.settings]\n"Numa.PreferHT" = true\n"Numa.RebalancePeriod" = 100\n'
    code, _, err = run_scenario(run_cli, scenario(tmp_path, '[[vm]]\nname = "a"\nvcpus = 1\n', head=head))
    assert code == 0, err
