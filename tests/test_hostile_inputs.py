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
    assert line.startswith("vmksim: error: --host: 'xxx") and "is not a preset" in line
    assert len(line) < 400


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e309"])
def test_host_memory_must_be_finite(run_cli, value: str) -> None:
    line = one_error(run_cli("topology", "show", f"sockets=1,cores_per_socket=4,memory_gb={value}"))
    assert (
        line
        == f"vmksim: error: --host:memory_gb: host key 'memory_gb' must be a finite number, got '{value}'"
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
    assert line.startswith("vmksim: error: --host")
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
