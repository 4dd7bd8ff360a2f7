"""The batch CSV writer: byte-compatible with `esxtop -b` (esxtop.md §1.3), pinned by golden files."""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import sample_run
from vmksim.counters import GroupInfo, WorldInfo, WorldKind
from vmksim.errors import InputError
from vmksim.esxtop import BatchWriter, format_entities, parse_entities, write_batch
from vmksim.esxtop.reader import read_capture
from vmksim.stats.fake import SteadySource
from vmksim.stats.sample import Column, Recording, Sample
from vmksim.stats.sampler import Sampler
from vmksim.topology import HostTopology

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("VMKSIM_UPDATE_GOLDEN") == "1"


def tiny_source() -> SteadySource:
    host = HostTopology.from_counts(
        name="tiny", sockets=1, cores_per_socket=2, threads_per_core=2, memory_gb=8
    )
    groups = (GroupInfo(1, "system", False, 0, 0), GroupInfo(12345, "web-1", True, 2, 2048, cpu_shares=2000))
    worlds = (
        WorldInfo(65537, 0, WorldKind.SYSTEM, "idle1", -1),
        WorldInfo(2001, 1, WorldKind.VMX, "vmx", -1),
        WorldInfo(2002, 1, WorldKind.VCPU, "vmx-vcpu-0:web-1", 0),
        WorldInfo(2003, 1, WorldKind.VCPU, "vmx-vcpu-1:web-1", 1),
    )
    shares = {0: (0.1, 0.0, 0.0), 1: (0.02, 0.0, 0.0), 2: (0.6, 0.2, 0.04), 3: (0.8, 0.1, 0.02)}
    return SteadySource(host, groups, worlds, shares, host_name="esxi-01.example.org")


def batch_text(all_counters: bool, groups: frozenset[int] | None = None) -> str:
    src = tiny_source()
    sampler = Sampler(src, all_counters=all_counters, groups=groups)
    rec = Recording(sampler.host, sampler.columns, list(sample_run(sampler, src, 5_000_000, 2)))
    out = io.StringIO(newline="")
    write_batch(rec, out)
    return out.getvalue()


@pytest.mark.parametrize(("name", "all_counters"), [("esxtop_default.csv", False), ("esxtop_all.csv", True)])
def test_golden_batch_output(name: str, all_counters: bool) -> None:
    text = batch_text(all_counters)
    golden = GOLDEN / name
    if UPDATE:
        golden.write_bytes(text.encode())
    assert text.encode() == golden.read_bytes(), (
        f"run with VMKSIM_UPDATE_GOLDEN=1 to accept changes to {name}"
    )


def test_layout_follows_pdh_csv_as_esxtop_writes_it() -> None:
    lines = batch_text(False).split("\n")
    assert lines[-1] == "" and "\r" not in "".join(lines)  # LF only, final newline
    header, first = lines[0], lines[1]
    assert header.startswith(
        '"(PDH-CSV 4.0) (UTC)(0)","\\\\esxi-01.example.org\\Memory\\Memory Overcommit (1 Minute Avg)"'
    )
    assert header.endswith('",') and first.endswith('",')  # trailing comma of default captures
    assert '"\\\\esxi-01.example.org\\Group Cpu(12345:web-1)\\% Ready"' in header
    assert '"\\\\esxi-01.example.org\\Vcpu(12345:web-1:2002:vmx-vcpu-0:web-1)\\% Ready"' in header
    assert first.startswith('"01/01/2026 00:00:05","0.00","0.00","0.00","')  # 3 overcommit averages
    cells = first[1:-2].split('","')
    names = header[1:-2].split('","')
    assert len(cells) == len(names)
    memory = {n.rpartition("\\")[2]: c for n, c in zip(names, cells, strict=True) if "\\Memory\\" in n}
    assert [memory[k] for k in ("Machine MBytes", "Kernel MBytes", "NonKernel MBytes", "Free MBytes")] == [
        "8192", "82", "2048", "6062",
    ]  # fmt: skip
    assert all(
        c.replace(".", "").replace("-", "").replace("/", "").replace(":", "").replace(" ", "").isdigit()
        for c in cells
    )


def test_numbers_are_formatted_per_counter() -> None:
    cols = [Column("Memory", None, "Free MBytes"), Column("Group Cpu", "1:system", "% Used"),
            Column("Group Memory", "1:system", "Memctl?"), Column("Physical Disk", "vmhba0", "Reads/sec")]  # fmt: skip
    out = io.StringIO()
    w = BatchWriter(out, "h", cols)
    w.write(Sample(datetime(2026, 11, 28, 9, 5, 7, tzinfo=UTC), np.array([8082.6, -0.001, 1.0, np.nan])))
    assert out.getvalue() == '"11/28/2026 09:05:07","8083","0.00","1","",\n'
    with pytest.raises(ValueError, match="2 values for 4 columns"):
        w.write(Sample(datetime(2026, 1, 1, tzinfo=UTC), np.zeros(2)))


def test_pandas_and_polars_read_our_csv_as_numbers(tmp_path: Path) -> None:
    import pandas as pd
    import polars as pl

    path = tmp_path / "b.csv"
    path.write_text(batch_text(True), newline="")
    df = pd.read_csv(path)
    ready = df["\\\\esxi-01.example.org\\Group Cpu(12345:web-1)\\% Ready"]
    assert ready.dtype == np.float64 and ready.tolist() == [30.0, 30.0]
    assert df["\\\\esxi-01.example.org\\Memory\\Machine MBytes"].tolist() == [8192, 8192]
    pdf = pl.read_csv(path)
    assert pdf["\\\\esxi-01.example.org\\Vcpu(12345:web-1:2003:vmx-vcpu-1:web-1)\\% Run"].to_list() == [
        80.0,
        80.0,
    ]


def test_entity_files_round_trip_and_limit_the_capture() -> None:
    src = tiny_source()
    text = format_entities(src.groups, (0x10,))
    assert text == "SchedGroup\n1 system\n12345 web-1\n\nInterruptCookie\n16 0x10\n"
    entities = parse_entities(text.replace("1 system\n", ""))
    assert entities.groups == {12345} and entities.interrupts == {16}
    limited = batch_text(False, entities.groups)
    assert "Group Cpu(1:system)" not in limited and "Vcpu(1:system" not in limited
    assert "Group Cpu(12345:web-1)" in limited and "Physical Cpu(0)" in limited


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("12 web\n", "line 1: expected a section keyword"),
        ("SchedGroup\nweb 12\n", "line 2: expected '<numeric id> <name>'"),
        ("Adapter\n1 vmhba0\n", "no SchedGroup section"),
    ],
)
def test_bad_entity_files(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_entities(text, source="e.txt")


# --- simulated hosts like the real ones (issue 10 "Must show") ----------------------------------
#: A home lab like the real ESXi 6.5 captures: 2 PCPUs, 6 VMs (esxtop.md §1.4b, §1.5).
HOME_LAB = {
    "esxi": "6.5",
    "host": {"name": "localhost.home", "sockets": 1, "cores_per_socket": 2, "memory_gb": 8},
    "run": {"duration_s": 10, "interval_s": 5, "seed": 7, "start": "2018-06-01T12:00:00Z"},
    "vm": [
        {
            "name": name,
            "vcpus": vcpus,
            "memory_gb": 1,
            "workload": {"kind": "onoff", "busy_ms": 1, "idle_ms": 40},
        }
        for name, vcpus in (
            ("styx", 1),
            ("web 1", 2),
            ("db-2", 2),
            ("dns", 1),
            ("backup (old)", 1),
            ("lab", 1),
        )
    ],
}
#: A 32-thread ESXi 6.0 host like the one in esxtop.md §1.5: 2 sockets x 8 cores with HT.
TWO_BY_EIGHT_HT = {
    "esxi": "6.0",
    "host": {"name": "esxi-32.example.org", "sockets": 2, "cores_per_socket": 8, "threads_per_core": 2,
             "numa_nodes": 2, "memory_gb": 128},
    "run": {"duration_s": 2, "interval_s": 1, "seed": 7},
    "vm": [{"name": f"app{i}", "vcpus": (1, 2, 4)[i % 3], "memory_gb": 4,
            "workload": {"kind": "onoff", "busy_ms": 2, "idle_ms": 8}} for i in range(6)],
}  # fmt: skip


def simulated_csv(mapping: dict[str, object], all_counters: bool) -> tuple[str, Recording]:
    from vmksim.analyze.synth import simulated_recording

    rec = simulated_recording(mapping, all_counters=all_counters, jit=False)
    out = io.StringIO(newline="")
    write_batch(rec, out)
    return out.getvalue(), rec


def schema(text: str) -> str:
    """The header's structure: each counter set once, then every instance with its set, in column order.

    A counter is written with its encoding as the first data row prints it (``i`` integer, ``f``
    two decimals); consecutive columns of one instance form one row.
    """
    header, first = (line[1:-2].split('","') for line in text.split("\n")[:2])
    rows: list[tuple[str, list[str]]] = []
    for path, cell in zip(header[1:], first[1:], strict=True):
        _, col = Column.parse(path)
        middle = col.object if col.instance is None else f"{col.object}({col.instance})"
        enc = "f" if "." in cell else "i"
        if not rows or rows[-1][0] != middle:
            rows.append((middle, []))
        rows[-1][1].append(f"{col.counter}:{enc}")
    sets: dict[tuple[str, ...], str] = {}
    lines = []
    for middle, counters in rows:
        key = tuple(counters)
        if key not in sets:
            sets[key] = f"S{len(sets) + 1}"
            lines.append(f"{sets[key]} = {' | '.join(counters)}")
        lines.append(f"{middle} {sets[key]}")
    return "\n".join(lines) + "\n"


def check_golden(name: str, text: str) -> None:
    golden = GOLDEN / name
    if UPDATE:
        golden.write_bytes(text.encode())
    assert text.encode() == golden.read_bytes(), (
        f"run with VMKSIM_UPDATE_GOLDEN=1 to accept changes to {name}"
    )


@pytest.mark.parametrize(("all_counters", "suffix"), [(False, "default"), (True, "all")])
def test_home_lab_capture_golden(all_counters: bool, suffix: str) -> None:
    text, _ = simulated_csv(HOME_LAB, all_counters)
    check_golden(f"home_lab_{suffix}.csv", text)
    assert text.split("\n")[1].startswith('"06/01/2018 12:00:05",')  # [run] start


@pytest.mark.parametrize(("all_counters", "suffix"), [(False, "default"), (True, "all")])
def test_two_by_eight_ht_schema_golden(all_counters: bool, suffix: str) -> None:
    text, _ = simulated_csv(TWO_BY_EIGHT_HT, all_counters)
    check_golden(f"two_by_eight_ht_{suffix}.schema", schema(text))


def _counter_sets(rec: Recording) -> dict[tuple[str, str | None], list[str]]:
    out: dict[tuple[str, str | None], list[str]] = {}
    for c in rec.columns:
        out.setdefault((c.object, c.instance), []).append(c.counter)
    return out


@pytest.mark.parametrize("mapping", [HOME_LAB, TWO_BY_EIGHT_HT], ids=["2-pcpu", "2x8-ht"])
def test_simulated_capture_has_a_real_captures_objects_sets_and_encodings(mapping: dict[str, object]) -> None:
    """Rules from real ``esxtop -b`` files (esxtop.md §1.3, §1.4, §1.4b), not from our own output."""
    text_a, rec_a = simulated_csv(mapping, True)
    _, rec_d = simulated_csv(mapping, False)
    ht = mapping is TWO_BY_EIGHT_HT
    for rec, full in ((rec_a, True), (rec_d, False)):
        sets = _counter_sets(rec)
        vm = {i for (o, i) in sets if o == "Group Cpu" and i is not None and int(i.split(":")[0]) >= 10000}
        for (obj, inst), counters in sets.items():
            if obj == "Group Cpu":
                want = (26 if inst in vm else 25) if full else (12 if inst in vm else 11)
                assert len(counters) == want and counters[0] == "Members"
                assert (counters[5] == "% VmWait") == (inst in vm)
            elif obj == "Vcpu":
                assert len(counters) == (24 if full else 11) and counters[4] == "% VmWait"
            elif obj == "Group Memory":
                assert len(counters) == (47 if full else len(counters))
                assert full or ("Llswap Read MBytes/sec" in counters and "Members" not in counters)
            elif obj == "Physical Cpu":
                assert len(counters) == (3 if ht else 2)
        objects = list(dict.fromkeys(c.object for c in rec.columns))
        expected = ["Memory", *(["Numa Node"] if ht else []), "Physical Cpu Load", "Physical Cpu", "Power",
                    "Group Cpu", "Vcpu", "Group Memory", "PCPU Power State"]  # fmt: skip
        assert objects == expected
        groups = {i for (o, i) in sets if o == "Group Cpu"}
        names = {i.split(":", 1)[1] for i in groups if i is not None}
        assert {"system", "helper", "drivers", "ft", "vmotion"} <= names
        assert ("idle" in names) == (mapping["esxi"] == "6.0")  # ESXi 6.0 has its own idle group
    # encodings of the first data row: share-level code, Alloc Min Limited -1, integers without decimals
    header, first = (line[1:-2].split('","') for line in text_a.split("\n")[:2])
    cell = {Column.parse(p)[1]: c for p, c in zip(header[1:], first[1:], strict=True)}
    for col, value in cell.items():
        if (
            col.object == "Group Cpu"
            and col.counter == "Alloc Shares"
            and int(col.instance.split(":")[0]) >= 10000
        ):  # type: ignore[union-attr]
            assert value == "-3"  # every VM here is at the normal share level
        if col.counter == "Alloc Min Limited":
            assert value == "-1"
        if col.counter in (
            "% Demand",
            "Numa % Local",
            "% Active Estimate",
            "Commit Pages Per Share",
            "Members",
        ):
            assert value.lstrip("-").isdigit(), (col, value)
    members = [int(v) for c, v in cell.items() if c.object == "Group Cpu" and c.counter == "Members"
               and int(c.instance.split(":")[0]) >= 10000]  # type: ignore[union-attr]  # fmt: skip
    assert all(8 <= m <= 11 for m in members)  # 7-11 worlds per 1-4 vCPU VM on real hosts


# --- VM names holding CSV metacharacters (QA: a name with '"' made a broken CSV) -------------------

#: Characters a VM display name may hold that mean something to CSV, PDH paths or the reader's
#: "safe split" (esxtop.md §1.3), drawn often; any other printable character too.
_NAME_CHARS = st.one_of(
    st.sampled_from('"",,\\()::  -é漢\u2028\t\x1b\x0b\x0c\x85'),
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"),
)


def named_source(name: str) -> SteadySource:
    """tiny_source with the VM called *name* (its group and its vCPU worlds)."""
    host = HostTopology.from_counts(name="tiny", sockets=1, cores_per_socket=2, memory_gb=8)
    groups = (GroupInfo(1, "system", False, 0, 0), GroupInfo(12345, name, True, 1, 2048))
    worlds = (
        WorldInfo(65537, 0, WorldKind.SYSTEM, "idle1", -1),
        WorldInfo(2002, 1, WorldKind.VCPU, f"vmx-vcpu-0:{name}", 0),
    )
    return SteadySource(host, groups, worlds, {1: (0.5, 0.1, 0.0)}, host_name="h")


def write_named(path: Path, name: str) -> None:
    src = named_source(name)
    sampler = Sampler(src, all_counters=False)
    rec = Recording(sampler.host, sampler.columns, list(sample_run(sampler, src, 5_000_000, 2)))
    with open(path, "w", encoding="utf-8", newline="") as fh:
        write_batch(rec, fh)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(_NAME_CHARS, min_size=1, max_size=24))
def test_any_vm_name_round_trips_through_the_csv(tmp_path: Path, name: str) -> None:
    import pandas as pd
    import polars as pl

    path = tmp_path / "n.csv"
    write_named(path, name)
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert len({len(r) for r in rows}) == 1, "every row has as many cells as the header"
    width = len(rows[0]) - 1  # the empty cell after the trailing comma (esxtop.md §1.3)
    rec = read_capture(path)
    instances = {c.instance for c in rec.columns if c.object == "Group Cpu"}
    assert f"12345:{name}" in instances
    assert len(rec.columns) == width - 1 and len(rec.samples) == 2
    assert pd.read_csv(path).shape[1] == len(rows[0])
    assert pl.read_csv(path).width == len(rows[0])


@pytest.mark.parametrize("name", ['db "prod"', 'web "1", prod:a\\b', "ü (x), y\\"])
def test_a_quoted_vm_name_survives_run_then_analyze(tmp_path: Path, run_cli, name: str) -> None:
    """The QA case through the CLI: the VM vanished from `analyze` ("0 VMs ... No findings")."""
    toml_name = name.replace("\\", "\\\\").replace('"', '\\"')
    scenario = tmp_path / "q.toml"
    scenario.write_text(
        "[host]\nsockets = 1\ncores_per_socket = 2\nmemory_gb = 8\n[run]\nduration_s = 4\ninterval_s = 2\n"
        f'[[vm]]\nname = "{toml_name}"\nvcpus = 1\n[vm.workload]\nkind = "constant"\ndemand_pct = 50\n',
        encoding="utf-8",
    )
    csv_path = tmp_path / "q.csv"
    code, _, err = run_cli("run", str(scenario), "--batch", str(csv_path))
    assert code == 0, err
    code, out, err = run_cli("analyze", str(csv_path), "--json")
    assert code == 0, err
    vms = [vm["name"] for vm in json.loads(out)["vms"]]
    assert vms == [name]


def test_a_line_break_in_a_vm_name_is_refused(tmp_path: Path, run_cli) -> None:
    """A line break cannot be written in a one-line-per-row CSV or .vmx: one clear error."""
    scenario = tmp_path / "q.toml"
    scenario.write_text('[host]\nsockets = 1\ncores_per_socket = 2\n[[vm]]\nname = "a\\nb"\nvcpus = 1\n')
    code, _, err = run_cli("run", str(scenario), "--batch", str(tmp_path / "q.csv"))
    assert code == 1
    assert f"{scenario}:vm[0].name: the VM name 'a\\nb' holds '\\n'; a name cannot hold a line break" in err
    assert not (tmp_path / "q.csv").exists()
