"""Host topology: presets, ESXi PCPU numbering, inline specs and importers."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import FIXTURES
from vmksim.errors import TopologyError
from vmksim.topology import PRESETS, HostTopology, resolve_host
from vmksim.topology.hwloc import parse_cpuset
from vmksim.topology.sysfs import from_sysfs

TOPO = FIXTURES / "topology"


def shape(h: HostTopology) -> tuple[int, int, int, int, int, int]:
    return (
        h.sockets,
        h.nodes_per_socket,
        h.cores_per_node,
        h.threads_per_core,
        h.memory_per_node_mb,
        h.llc_per_node,
    )


def test_required_presets_exist_with_their_shapes() -> None:
    assert shape(PRESETS["nfv-2x24-ht"])[:4] == (2, 1, 24, 2)
    assert shape(PRESETS["xeon-2x20-ht"])[:4] == (2, 1, 20, 2)
    assert shape(PRESETS["xeon-2x10-ht"])[:4] == (2, 1, 10, 2)
    assert shape(PRESETS["epyc-2x64-nps1"])[:4] == (2, 1, 64, 2)
    assert shape(PRESETS["epyc-2x64-nps4"])[:4] == (2, 4, 16, 2)
    assert shape(PRESETS["xeon-4x14-ht"])[:4] == (4, 1, 14, 2)


def test_esxi_numbers_sibling_threads_adjacently() -> None:
    h = PRESETS["nfv-2x24-ht"]
    assert h.pcpus == 96
    assert [(p.core, p.thread, p.node) for p in h.pcpu_list[:4]] == [
        (0, 0, 0),
        (0, 1, 0),
        (1, 0, 0),
        (1, 1, 0),
    ]
    assert h.pcpu(48) == h.pcpu(48)._replace(core=24, thread=0, node=1, socket=1)
    assert h.sibling(6) == 7 and h.sibling(7) == 6
    assert list(h.node_pcpus(1)) == list(range(48, 96))


@given(
    sockets=st.integers(1, 4),
    per_socket=st.sampled_from([1, 2, 4]),
    cores=st.integers(1, 12),
    threads=st.integers(1, 2),
)
def test_pcpu_numbering_is_a_partition(sockets: int, per_socket: int, cores: int, threads: int) -> None:
    h = HostTopology("h", sockets, per_socket, cores, threads, 1024)
    ids = [p.id for p in h.pcpu_list]
    assert ids == list(range(h.pcpus))
    for p in h.pcpu_list:
        assert p.id in h.node_pcpus(p.node)
        assert p.socket == p.node // per_socket
        sib = h.sibling(p.id)
        if threads == 2:
            assert sib is not None and h.pcpu(sib).core == p.core and h.sibling(sib) == p.id
        else:
            assert sib is None
    nodes = [list(h.node_pcpus(n)) for n in range(h.numa_nodes)]
    assert sorted(x for n in nodes for x in n) == ids


def test_inline_spec_counts_nodes_and_memory_for_the_whole_host() -> None:
    h = resolve_host("sockets=2,cores_per_socket=24,threads_per_core=2,numa_nodes=4,memory_gb=768")
    assert shape(h) == (2, 2, 12, 2, 192 * 1024, 1)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("sockets=2,cores_per_socket=24,numa_nodes=3", "numa_nodes (3) must be a multiple of sockets (2)"),
        ("sockets=2,cores_per_socket=12,numa_nodes=6", "NUMA nodes per socket must be 1, 2 or 4"),
        ("sockets=2,cores_per_socket=10,numa_nodes=8", "cores_per_socket (10) must divide evenly"),
        ("sockets=two,cores_per_socket=24", "host key 'sockets' must be an integer, got 'two'"),
        ("sockets=2,cores=24", "unknown host key 'cores'"),
        ("sockets=2", "missing host key 'cores_per_socket'"),
        ("no-such-preset", "is not a preset"),
    ],
)
def test_bad_host_specs_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(TopologyError, match="^.*" + message.replace("(", r"\(").replace(")", r"\)")):
        resolve_host(spec)


def make_sysfs(root: Path, sockets: int, cores: int, threads: int, mem_kb: int) -> None:
    """A fake Linux sysfs tree numbered the Linux way: thread siblings are cpu i and i + cores*sockets."""
    system = root / "sys" / "devices" / "system"
    ncpu = sockets * cores * threads
    (system / "cpu").mkdir(parents=True)
    (system / "cpu" / "online").write_text(f"0-{ncpu - 1}\n")
    for cpu in range(ncpu):
        core_global = cpu % (sockets * cores)
        pkg = core_global // cores
        d = system / "cpu" / f"cpu{cpu}"
        (d / "topology").mkdir(parents=True)
        (d / "topology" / "physical_package_id").write_text(f"{pkg}\n")
        (d / "topology" / "core_id").write_text(f"{core_global % cores}\n")
        (d / "cache" / "index3").mkdir(parents=True)
        same = [c for c in range(ncpu) if (c % (sockets * cores)) // cores == pkg]
        (d / "cache" / "index3" / "shared_cpu_list").write_text(",".join(map(str, same)) + "\n")
        (d / "cpufreq").mkdir()
        (d / "cpufreq" / "base_frequency").write_text("2100000\n")
    for node in range(sockets):
        d = system / "node" / f"node{node}"
        d.mkdir(parents=True)
        cpus = [c for c in range(ncpu) if (c % (sockets * cores)) // cores == node]
        (d / "cpulist").write_text(",".join(map(str, cpus)) + "\n")
        (d / "meminfo").write_text(f"Node {node} MemTotal:       {mem_kb} kB\nNode {node} MemFree: 1 kB\n")


def test_sysfs_import_of_a_fake_two_socket_tree(tmp_path: Path) -> None:
    make_sysfs(tmp_path, sockets=2, cores=4, threads=2, mem_kb=64 * 1024 * 1024)
    h = from_sysfs(tmp_path)
    assert shape(h) == (2, 1, 4, 2, 64 * 1024, 1)
    assert h.mhz == 2100
    assert resolve_host(str(tmp_path)) == h


def test_sysfs_import_refuses_a_directory_that_is_not_sysfs(tmp_path: Path) -> None:
    with pytest.raises(TopologyError, match="not a sysfs tree"):
        from_sysfs(tmp_path)


def test_sysfs_of_this_machine_imports() -> None:
    if not Path("/sys/devices/system/cpu/online").exists():
        pytest.skip("no /sys on this machine")
    assert from_sysfs("/").pcpus >= 1


def test_hwloc_cpuset_words_and_empty_words() -> None:
    assert parse_cpuset("0x0000000f") == {0, 1, 2, 3}
    assert parse_cpuset("0x00000001,0x00000000") == {32}
    assert parse_cpuset("0xffffffff,,0x0") == set(range(64, 96))


def test_hwloc_xml_made_by_lstopo() -> None:
    # Generated with: lstopo --input "pack:2 [numa(memory=412316860416)] l3:1 core:24 pu:2" --of xml
    h = resolve_host(str(TOPO / "synthetic-2x24-ht.xml"))
    assert shape(h) == (2, 1, 24, 2, 384 * 1024, 1)
    # lstopo --input "pack:2 group:4 [numa(memory=137438953472)] l3:4 core:4 pu:2" --of xml (EPYC NPS4 shape)
    e = resolve_host(str(TOPO / "synthetic-epyc-nps4.xml"))
    assert shape(e) == (2, 4, 16, 2, 128 * 1024, 4)
    # lstopo --of xml on the 2-core build machine (a real, non-synthetic hwloc backend)
    assert resolve_host(str(TOPO / "this-machine.xml")).pcpus == 2


@pytest.mark.parametrize("name", ["esxcli-2x10-ht.txt", "esxcli-2x10-ht-no-node.txt"])
def test_esxcli_cpu_list_and_memory_get(name: str) -> None:
    h = resolve_host(str(TOPO / name))
    assert shape(h) == (2, 1, 10, 2, 128 * 1024, 1)
    assert h.mhz == 2200
    assert "E5-2630 v4" in h.cpu_model


def test_malformed_topology_files_name_the_file(tmp_path: Path) -> None:
    bad_xml = tmp_path / "bad.xml"
    bad_xml.write_text("<?xml version='1.0'?><topology><object type='Machine'>")
    with pytest.raises(TopologyError, match=r"bad\.xml: malformed hwloc XML"):
        resolve_host(str(bad_xml))
    bad_esx = tmp_path / "esx.txt"
    bad_esx.write_text("CPU:0\n   Package Id: zero\n")
    with pytest.raises(TopologyError, match=r"esx\.txt: Package Id is not a number"):
        resolve_host(str(bad_esx))
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01 not toml [")
    with pytest.raises(TopologyError, match=r"junk\.bin: not hwloc XML, esxcli text or TOML"):
        resolve_host(str(junk))


def test_topology_cli(run_cli) -> None:
    code, out, _ = run_cli("topology", "show", "xeon-2x10-ht")
    assert code == 0 and "40 PCPUs" in out and "0-19" in out
    code, out, _ = run_cli("topology", "list")
    assert code == 0 and all(name in out for name in PRESETS)
    code, _, err = run_cli("topology", "show", "sockets=2,cores_per_socket=3,numa_nodes=4")
    assert code == 1 and err.count("\n") == 1 and err.startswith("vmksim: error:")


def test_esxcli_text_with_long_blank_runs_parses_in_linear_time(tmp_path: Path) -> None:
    # A lazy field regex followed by \s*$ was quadratic here (fuzz suite): 400,000 blanks took minutes.
    text = (TOPO / "esxcli-2x10-ht.txt").read_text()
    padded = tmp_path / "esx.txt"
    padded.write_text(text.replace("Core Speed:", "Core Speed:" + " " * 400_000, 1) + " " * 400_000 + "x\n")
    with pytest.raises(TopologyError, match=r"unexpected line 'x'"):
        resolve_host(str(padded))
    padded.write_text(text.replace("Core Speed:", "Core Speed:" + " " * 400_000, 1))
    assert shape(resolve_host(str(padded))) == (2, 1, 10, 2, 128 * 1024, 1)


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["plan", "--vcpus", "4", "--host", "sockets=0,cores_per_socket=4"], "--host:sockets: sockets must be at least 1, got 0"),
        (["plan", "--vcpus", "4", "--host", "sockets=1,cores_per_socket=0"], "--host:cores_per_socket: cores_per_socket must be at least 1"),
        (["plan", "--vcpus", "4", "--host", "sockets=1,cores_per_socket=4,numa_nodes=0"], "--host:numa_nodes: numa_nodes must be at least 1"),
        (["topology", "show", "sockets=2,cores_per_socket=4,numa_nodes=3"], "HOST:numa_nodes: numa_nodes (3) must be a multiple of sockets (2)"),
        (["topology", "show", "X"], "HOST: 'X' is not a preset"),
        (["topology", "show", "sockets"], "HOST: 'sockets' is not a preset"),
        (["topology", "show", "sockets=2,x"], "HOST: expected key=value, got 'x'"),
    ],
)  # fmt: skip
def test_host_errors_name_the_argument_and_the_key(run_cli, argv: list[str], line: str) -> None:
    """QA: sockets=0 read "numa_nodes (0) must be a multiple of sockets (0)"; HOST is positional."""
    code, out, err = run_cli(*argv)
    assert code == 1 and not out
    assert err.startswith(f"vmksim: error: {line}"), err
