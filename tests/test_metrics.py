"""The esxtop counter catalogue: one table for writer, reader, TUI and docs (esxtop.md §1.4)."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from vmksim.metrics import CATALOGUE, EsxObject, Fmt, Panel, by_object, format_value, lookup, render_markdown

DOCS = Path(__file__).parent.parent / "docs" / "metrics.md"


def test_counter_counts_match_real_a_captures() -> None:
    # esxtop.md §1.4: -a files carry 26 Group Cpu, 24 Vcpu, 47 Group Memory, 24 Memory counters.
    counts = Counter(m.object for m in CATALOGUE)
    assert counts[EsxObject.GROUP_CPU] == 26
    assert counts[EsxObject.VCPU] == 24
    assert counts[EsxObject.GROUP_MEMORY] == 47
    assert counts[EsxObject.MEMORY] == 24
    assert counts[EsxObject.PCPU_LOAD] == 3 and counts[EsxObject.PCPU] == 3
    default = Counter(m.object for m in CATALOGUE if m.default)
    # default fields: 12 Group Cpu counters for a VM (Members + %STATE TIMES), esxtop.md §1.4
    assert default[EsxObject.GROUP_CPU] == 12 and default[EsxObject.VCPU] == 11


def test_every_required_object_and_panel_is_covered() -> None:
    assert {m.object for m in CATALOGUE} == set(EsxObject)
    assert {m.panel for m in CATALOGUE} == set(Panel)
    assert {o.value for o in EsxObject} >= {"Physical Cpu", "Physical Cpu Load", "Group Cpu", "Vcpu", "Memory",
                                            "Group Memory", "Numa Node", "Power", "Interrupt Cookie"}  # fmt: skip


def test_names_are_unique_per_object_and_lookups_work() -> None:
    for obj in EsxObject:
        metrics = by_object(obj)
        assert len({m.counter for m in metrics}) == len(metrics)
        assert len({m.key for m in metrics}) == len(metrics)
        assert all(m.width >= len(m.column) for m in metrics)
    ready = lookup("Group Cpu", "% Ready")
    assert ready is not None and ready.column == "%RDY" and ready.fmt is Fmt.TWO_DECIMALS and ready.default
    assert lookup("Physical Disk", "Reads/sec") is None
    assert by_object("Physical Disk") == ()


def test_state_time_order_of_vcpu_and_group_cpu() -> None:
    # esxtop.md §2.1: CSV keeps the %STATE TIMES order with % VmWait sixth, for groups too.
    states = [
        "%USED",
        "%RUN",
        "%SYS",
        "%WAIT",
        "%VMWAIT",
        "%RDY",
        "%IDLE",
        "%OVRLP",
        "%CSTP",
        "%MLMTD",
        "%SWPWT",
    ]
    assert [m.column for m in by_object("Vcpu")][:11] == states
    assert [m.column for m in by_object("Group Cpu")][:12] == ["NWLD", *states]
    assert [m.counter for m in by_object("Group Cpu")][-2:] == ["Timers/sec", "Power Usage Watts"]
    assert by_object("Vcpu")[-1].counter == "Physical Cpu"


@pytest.mark.parametrize(
    ("obj", "counter"),
    [("Group Cpu", "% Demand"), ("Vcpu", "% Demand"), ("Group Memory", "Numa % Local"),
     ("Group Memory", "% Active Estimate"), ("Group Memory", "% Active Slow Estimate"),
     ("Group Memory", "% Active Fast Estimate"), ("Group Memory", "% Active Next Estimate"),
     ("Group Memory", "Commit Pages Per Share")],
)  # fmt: skip
def test_counters_real_captures_write_as_integers(obj: str, counter: str) -> None:
    m = lookup(obj, counter)  # esxtop.md §1.4b "Encodings seen"
    assert m is not None and m.fmt is Fmt.INTEGER


@pytest.mark.parametrize(
    ("fmt", "value", "text"),
    [
        (Fmt.TWO_DECIMALS, 0.775, "0.78"),
        (Fmt.TWO_DECIMALS, 800, "800.00"),
        (Fmt.TWO_DECIMALS, -0.001, "0.00"),
        (Fmt.INTEGER, 8082.6, "8083"),
        (Fmt.INTEGER, -1, "-1"),
        (Fmt.TWO_DECIMALS, float("nan"), ""),
    ],
)
def test_format_value(fmt: Fmt, value: float, text: str) -> None:
    assert format_value(fmt, value) == text


def test_docs_are_generated_from_the_catalogue() -> None:
    assert DOCS.read_text() == render_markdown() + "\n", (
        "regenerate: vmksim top --list-counters > docs/metrics.md"
    )


def test_list_counters_command_prints_the_docs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "vmksim", "top", "--list-counters"], capture_output=True, text=True, check=True
    )
    assert out.stdout == DOCS.read_text()
