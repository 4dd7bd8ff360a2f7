"""`vmksim compare`: two captures side by side (table, JSON, HTML report), VMs matched by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vmksim.analyze import analyze_file
from vmksim.analyze.compare import compare
from vmksim.analyze.synth import CASES, VmScript, write_scripted_capture
from vmksim.topology.presets import PRESETS

HOST = PRESETS["xeon-2x10-ht"]


@pytest.fixture
def before_after(tmp_path: Path) -> tuple[Path, Path]:
    """Before: a VM held back by a limit; after: the limit removed (and one VM added)."""
    base = CASES["healthy"](HOST)
    before = tmp_path / "before.csv"
    after = tmp_path / "after.csv"
    write_scripted_capture(
        before, HOST, [*base, VmScript("capped", 4, run=30, ready=14, max_limited=12, home_node=1)]
    )
    write_scripted_capture(
        after, HOST, [*base, VmScript("capped", 4, run=42, ready=1), VmScript("new-vm", 2)], seed=1
    )
    return before, after


def test_comparison_matches_vms_by_name_and_tracks_findings(before_after: tuple[Path, Path]) -> None:
    c = compare(analyze_file(before_after[0]), analyze_file(before_after[1]))
    rows = {r.name: r for r in c.vm_rows()}
    assert rows["capped"].a is not None and rows["capped"].b is not None
    assert rows["capped"].a.max_limited == pytest.approx(12, abs=0.6) and rows["capped"].b.max_limited == 0
    assert rows["new-vm"].a is None and rows["new-vm"].b is not None
    assert c.vm_rows()[0].name == "capped"  # worst %RDY first
    assert [(f.vm, f.metric) for f in c.fixed] == [("capped", "%MLMTD")]
    assert c.new == []
    host = {k: (x, y) for k, x, y in c.host_rows()}
    assert host["VMs"] == (5, 6) and host["findings"] == (1, 0)


def test_compare_cli_table_and_json(before_after: tuple[Path, Path], run_cli) -> None:
    a, b = map(str, before_after)
    code, out, _ = run_cli("compare", a, b, "--labels", "before,after")
    assert code == 0
    assert "before" in out and "after" in out and "capped" in out and "gone: capped: held back" in out
    code, out, _ = run_cli("compare", a, b, "--json")
    data = json.loads(out)
    capped = next(v for v in data["vms"] if v["name"] == "capped")
    assert capped["delta"]["max_limited"] == pytest.approx(-12, abs=0.6)
    assert capped["delta"]["ready"] < -10
    assert [f["metric"] for f in data["fixed"]] == ["%MLMTD"] and data["new"] == []
    assert data["a"]["host"]["pcpus"] == 40 and data["labels"] == ["A", "B"]


def test_compare_report_is_self_contained(before_after: tuple[Path, Path], tmp_path: Path, run_cli) -> None:
    out = tmp_path / "cmp.html"
    code, _, _ = run_cli("compare", *map(str, before_after), "--report", str(out), "--labels", "before,after")
    assert code == 0
    head, _, body = out.read_text().partition("</head>")
    assert "<script src" not in head and len(head) > 1_000_000
    assert body.count("Plotly.newPlot") == 5
    assert "Findings gone in after" in body and "capped" in body


def test_compare_errors_are_one_line(before_after: tuple[Path, Path], tmp_path: Path, run_cli) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("not a capture\n")
    code, out, err = run_cli("compare", str(before_after[0]), str(bad))
    assert code == 1 and out == "" and err.count("\n") == 1 and "bad.csv" in err
    code, _, err = run_cli("compare", *map(str, before_after), "--labels", "one")
    assert code == 1 and "--labels" in err


def test_every_changed_counter_is_shown_not_only_four(before_after: tuple[Path, Path]) -> None:
    c = compare(analyze_file(before_after[0]), analyze_file(before_after[1]))
    capped = next(r for r in c.vm_rows() if r.name == "capped")
    changed = {ch.metric.column: ch for ch in capped.changes}
    # The script moved RUN 30 -> 42, RDY 14 -> 1, MLMTD 12 -> 0 (per vCPU): each of them, and what the
    # contract derives from them (USED = RUN x 0.8 on HT, LAT_C = RDY - MLMTD + CSTP), must be listed.
    for column in ("%USED", "%RUN", "%RDY", "%MLMTD", "%LAT_C"):
        assert column in changed, column
    assert changed["%RUN"].delta == pytest.approx(12, abs=1.5)
    assert changed["%USED"].delta == pytest.approx(12 * 0.8, abs=1.5)
    # %LAT_C = RDY - MLMTD + CSTP: 14 - 12 = 2 before, 1 after.
    assert changed["%LAT_C"].a == pytest.approx(2, abs=0.8) and changed["%LAT_C"].b == pytest.approx(
        1, abs=0.3
    )
    # Nothing that prints the same is listed as a change.
    for ch in capped.changes:
        assert round(ch.a, 1) != round(ch.b, 1)


def test_counts_print_as_integers(before_after: tuple[Path, Path], run_cli) -> None:
    code, out, _ = run_cli("compare", *map(str, before_after), "--json")
    host = {row["figure"]: row for row in json.loads(out)["host"]}
    for label in ("PCPUs", "NUMA nodes", "VMs", "findings"):
        assert isinstance(host[label]["a"], int) and isinstance(host[label]["b"], int)
    code, out, _ = run_cli("compare", *map(str, before_after))
    assert code == 0
    assert "│ VMs              │    5 │    6 │    +1 │" in out
    assert "5.0" not in next(line for line in out.splitlines() if "│ VMs" in line)


def test_comparing_two_different_hosts_warns(tmp_path: Path, run_cli) -> None:
    vms = CASES["healthy"](HOST)
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    write_scripted_capture(a, HOST, vms, host_name="esx01")
    write_scripted_capture(b, HOST, vms, host_name="esx02", seed=1)
    write_scripted_capture(c, PRESETS["tiny-1x4"], CASES["healthy"](PRESETS["tiny-1x4"]), host_name="esx01")
    same = compare(analyze_file(a), analyze_file(a))
    assert same.warnings == []
    named = compare(analyze_file(a), analyze_file(b)).warnings
    assert len(named) == 1 and "different hosts (esx01 and esx02)" in named[0]
    shaped = compare(analyze_file(a), analyze_file(c)).warnings
    assert len(shaped) == 1 and "40 PCPUs (HT), 2 NUMA node(s)" in shaped[0]
    code, out, _ = run_cli("compare", str(a), str(b), "--labels", "old,new")
    assert code == 0 and "warning: old and new are captures of different hosts" in out
