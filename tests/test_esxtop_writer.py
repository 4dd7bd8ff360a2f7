"""The batch CSV writer: byte-compatible with `esxtop -b` (esxtop.md §1.3), pinned by golden files."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from vmksim.errors import InputError
from vmksim.esxtop import BatchWriter, format_entities, parse_entities, write_batch
from vmksim.stats.fake import SteadySource
from vmksim.stats.sample import Column, Recording, Sample
from vmksim.stats.sampler import Sampler, run_batch
from vmksim.stats.source import GroupInfo, WorldInfo, WorldKind
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
    rec = Recording(sampler.host, sampler.columns, list(run_batch(sampler, src.advance, 5_000_000, 2)))
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
