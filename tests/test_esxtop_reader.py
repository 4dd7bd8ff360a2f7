"""The esxtop batch CSV reader: every quirk of esxtop.md §1.3 and the malformed files."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vmksim.errors import CaptureError
from vmksim.esxtop import CaptureReader, CaptureWarning, read_capture, write_batch
from vmksim.esxtop.reader import parse_numbers
from vmksim.metrics import format_value, lookup
from vmksim.stats.fake import FakeSource
from vmksim.stats.sample import Column, Recording
from vmksim.stats.sampler import Sampler, run_batch
from vmksim.topology import HostTopology

FIXTURES = Path(__file__).parent / "fixtures" / "esxtop"


def read(name: str, **kw: object) -> tuple[CaptureReader, Recording]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CaptureWarning)
        reader = CaptureReader(FIXTURES / name, **kw)  # type: ignore[arg-type]
        return reader, reader.to_recording()


def t(hh: int, mm: int, ss: int) -> datetime:
    return datetime(2026, 11, 28, hh, mm, ss, tzinfo=UTC)


def test_trailing_comma_capture_reads_whole_rows() -> None:
    reader, rec = read("trailing_comma.csv")
    assert reader.host == "localhost.home"
    assert reader.warnings == []
    assert [c.label for c in rec.columns] == [
        "Memory\\Free MBytes",
        "Physical Cpu(0)\\% Processor Time",
        "Physical Cpu(1)\\% Processor Time",
        "Physical Cpu(_Total)\\% Processor Time",
        "Group Cpu(1302698:styx)\\% Ready",
    ]
    assert [s.time for s in rec] == [t(10, 0, 5), t(10, 0, 10)]
    assert rec[0].values.tolist() == [8083, 5.87, 6.36, 6.11, 1.07]
    assert rec[1].values.tolist() == [8080, 7.0, 5.0, 6.0, 0.5]


def test_power_state_junk_field_is_dropped_and_the_quoted_value_kept() -> None:
    reader, rec = read("power_junk.csv")
    assert [c.instance for c in rec.columns] == ["PCPU 0", "PCPU 0", "PCPU 1", "PCPU 1"]
    assert [c.counter for c in rec.columns] == ["%C-State C0", "%C-State C1"] * 2
    assert rec[0].values.tolist() == [8.93, 91.07, 8.93, 91.07]
    assert rec[1].values.tolist() == [10.0, 90.0, 12.5, 87.5]
    assert any("junk" in w for w in reader.warnings)


def test_terminal_warning_glued_before_the_header_is_ignored() -> None:
    reader, rec = read("termcap.csv")
    assert [c.counter for c in rec.columns] == ["Free MBytes", "Cpu Load (1 Minute Avg)"]
    assert rec[0].values.tolist() == [8083, 0.06]
    assert any("termcap" in w for w in reader.warnings)


def test_instance_names_with_colons_and_parentheses_and_ragged_counter_sets() -> None:
    reader, rec = read("names.csv")
    assert reader.host == "esxi-01.example.org"
    assert rec.columns == (
        Column("Group Cpu", "1302698:styx", "Members"),
        Column("Group Cpu", "1302698:styx", "% VmWait"),
        Column("Group Cpu", "1:system", "Members"),
        Column("Vcpu", "1302698:styx:444774:vmx-vcpu-0:styx", "% Ready"),
        Column("Vcpu", "1302698:styx:444775:vmx-mks:styx", "% Ready"),
        Column("Group Cpu", "5001:SQL02 (df09-prod)", "% Used"),
        Column("Memory", None, "Memory Overcommit (1 Minute Avg)"),
        Column("Interrupt Cookie", "0x10", "Interrupts/second"),
        Column("Interrupt Cookie", "0x10", "Processing Time MicroSec/Interrupt"),
        Column("Interrupt Cookie", "0x10:CPU1", "Interrupts/second"),
        Column("Power", None, "Power Usage Now Watts"),
        Column("Power", "0", "P-State MHZ"),
    )
    assert rec[0].values.tolist() == [8, 800, 130, 1.07, 0, 12.5, 0.78, 1523.4, 2.1, 700.2, 210, 2400]


def test_selection_by_object_instance_and_counter_patterns() -> None:
    reader, rec = read("names.csv", select=["Group Cpu(*styx*)", "Vcpu(*vcpu*)\\% Ready", "*\\P-State MHZ"])
    assert [c.label for c in rec.columns] == [
        "Group Cpu(1302698:styx)\\Members",
        "Group Cpu(1302698:styx)\\% VmWait",
        "Vcpu(1302698:styx:444774:vmx-vcpu-0:styx)\\% Ready",
        "Power(0)\\P-State MHZ",
    ]
    assert rec[0].values.tolist() == [8, 800, 1.07, 2400]
    assert len(reader.all_columns) == 12


@pytest.mark.parametrize("name", ["spreadsheet.csv", "spreadsheet_cr.csv"])
def test_spreadsheet_damaged_files_are_read_with_a_warning(name: str) -> None:
    with pytest.warns(CaptureWarning, match="spreadsheet"):
        rec = CaptureReader(FIXTURES / name).to_recording()
    assert [c.label for c in rec.columns] == ["Memory\\Free MBytes", "Group Cpu(1:system)\\% Used"]
    assert [s.values.tolist() for s in rec] == [[8083, 1.5], [8080, 2.0]]
    if name == "spreadsheet.csv":
        assert [s.time for s in rec] == [t(10, 0, 0), t(10, 1, 0)]
    else:
        assert [s.time.time().isoformat() for s in rec] == ["10:00:05", "10:00:10"]


def test_a_cut_last_row_is_dropped_with_a_warning_or_refused_when_strict() -> None:
    reader, rec = read("truncated.csv")
    assert len(rec) == 1 and rec[0].values.tolist() == [8083, 40, 1.5]
    assert any("truncated" in w for w in reader.warnings)
    with pytest.raises(CaptureError, match=r"truncated\.csv:line 3: row cut short \(3 of 4 cells\)"):
        list(CaptureReader(FIXTURES / "truncated.csv", strict=True))


def test_a_short_row_in_the_middle_is_an_error() -> None:
    with pytest.raises(CaptureError, match=r"short_middle\.csv:line 2: row has 3 cells but the header has 4"):
        list(CaptureReader(FIXTURES / "short_middle.csv"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name,value\nfoo,1\n", "not an esxtop batch CSV"),
        (b"", "empty file"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00" * 100, "binary data"),
        (b'"(PDH-CSV 4.0) (UTC)(0)","\\\\h\\Memory\\Free', "ends inside the header"),
        (b'"(PDH-CSV 4.0) (UTC)(0)","Free MBytes"\n', "header cell 2 is not a counter path"),
        (b'"(PDH-CSV 4.0) (UTC)(0)","\\\\h\\Memory\\Free MBytes"\n"yesterday","1"\n', "bad timestamp"),
        (
            b'"(PDH-CSV 4.0) (UTC)(0)","\\\\h\\Memory\\Free MBytes"\n"11/28/2026 10:00:05","lots"\n',
            "not a number",
        ),
    ],
)
def test_malformed_files_give_one_capture_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(CaptureError, match=message) as info:
        list(CaptureReader(path))
    assert "\n" not in str(info.value)
    assert str(info.value).startswith(str(path))


def test_missing_file_is_a_capture_error(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="cannot read"):
        CaptureReader(tmp_path / "nope.csv")


def test_bad_selection_pattern_is_a_capture_error() -> None:
    with pytest.raises(CaptureError, match="bad column pattern"):
        CaptureReader(FIXTURES / "names.csv", select=["(x)"])


@pytest.fixture
def simulated(tmp_path: Path) -> tuple[Recording, Path]:
    host = HostTopology.from_counts(name="t", sockets=2, cores_per_socket=2, threads_per_core=2, memory_gb=16)
    src = FakeSource(host, [("web-1", 2, 2048), ("db (prod), eu:1", 4, 4096)], seed=7)
    sampler = Sampler(src, all_counters=True)
    rec = Recording(sampler.host, sampler.columns, list(run_batch(sampler, src.advance, 5_000_000, 4)))
    path = tmp_path / "sim.csv"
    with open(path, "w", newline="") as fh:
        write_batch(rec, fh)
    return rec, path


def test_round_trip_sampler_to_csv_to_reader_gives_the_same_samples(
    simulated: tuple[Recording, Path],
) -> None:
    rec, path = simulated
    back = read_capture(path)
    assert back.host == rec.host and back.columns == rec.columns
    assert [s.time for s in back] == [s.time for s in rec]
    fmts = [lookup(c.object, c.counter).fmt for c in rec.columns]  # type: ignore[union-attr]
    for ours, theirs in zip(rec, back, strict=True):
        assert [format_value(f, v) for f, v in zip(fmts, ours.values, strict=True)] == [
            format_value(f, v) for f, v in zip(fmts, theirs.values, strict=True)
        ]


def test_long_dataframes_and_parquet(simulated: tuple[Recording, Path], tmp_path: Path) -> None:
    import pandas as pd
    import polars as pl

    _rec, path = simulated
    reader = CaptureReader(path, select=["Group Cpu(*)\\% Ready"])
    df = reader.to_pandas()
    assert list(df.columns) == ["time", "object", "instance", "counter", "value"]
    assert len(df) == 4 * 3
    assert set(df["instance"]) == {"1:system", "101000:web-1", "102000:db (prod), eu:1"}
    pl_df = reader.to_polars()
    assert pl_df.height == 12 and pl_df["value"].dtype == pl.Float64
    out = tmp_path / "x.parquet"
    assert reader.to_parquet(out) == 12
    again = pd.read_parquet(out)
    assert np.allclose(again["value"].to_numpy(), df["value"].to_numpy())
    wide = reader.to_pandas(long=False)
    assert wide.shape == (4, 4)


@given(
    st.lists(
        st.one_of(st.integers(-(10**9), 10**9).map(str), st.floats(-1e6, 1e6).map(lambda v: f"{v:.2f}")),
        min_size=1,
        max_size=50,
    )
)
def test_vectorised_number_parser_equals_float(cells: list[str]) -> None:
    body = ('"' + '","'.join(cells) + '"').encode()
    parsed = parse_numbers(body, len(cells))
    assert parsed is not None and parsed.tolist() == [float(c) for c in cells]
    assert parse_numbers(b"1e5,2", 2) is None and parse_numbers(b"1,2", 3) is None
