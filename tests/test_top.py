"""`vmksim top`: esxtop's screens over a replayed capture, driven by keys (textual pilot), and its CLI."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import sample_run
from vmksim.cli import main
from vmksim.esxtop import CaptureReader, write_batch
from vmksim.esxtop.app import KEYS, TopApp
from vmksim.esxtop.feed import Feed
from vmksim.esxtop.screens import PANELS, Frame, Topology, ViewState, render, reorder
from vmksim.metrics import EsxObject, Panel
from vmksim.stats.fake import FakeSource
from vmksim.stats.sample import Recording
from vmksim.stats.sampler import Sampler
from vmksim.topology import HostTopology

FIXTURES = Path(__file__).parent / "fixtures" / "esxtop"


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    host = HostTopology.from_counts(
        name="t", sockets=2, cores_per_socket=2, threads_per_core=2, numa_nodes=2, memory_gb=16
    )
    src = FakeSource(host, [("web-1", 2, 2048), ("db (prod)", 4, 4096)], seed=5)
    sampler = Sampler(src, all_counters=True)
    rec = Recording(sampler.host, sampler.columns, list(sample_run(sampler, src, 5_000_000, 3)))
    path = tmp_path_factory.mktemp("top") / "cap.csv"
    with open(path, "w", newline="") as fh:
        write_batch(rec, fh)
    return path


def feed_of(path: Path) -> Feed:
    reader = CaptureReader(path)
    return Feed(reader.host, reader.columns, iter(reader), title=path.name)


def text(app: TopApp, widget: str) -> str:
    return str(app.query_one(widget).render())


def table(app: TopApp) -> tuple[list[str], list[list[str]]]:
    from textual.widgets import DataTable

    t = app.query_one(DataTable)
    heads = [c.label.plain for c in t.columns.values()]
    return heads, [[str(c) for c in t.get_row_at(i)] for i in range(t.row_count)]


def drive(path: Path, keys: list[str], check: object) -> None:
    drive_feed(feed_of(path), keys, check)


def drive_feed(feed: Feed, keys: list[str], check: object) -> None:
    async def go() -> None:
        app = TopApp(feed, delay=3600, autoplay=False)
        async with app.run_test(size=(200, 50)) as pilot:
            await pilot.pause()
            for key in keys:
                await pilot.press(key)
                await pilot.pause()
            check(app)  # type: ignore[operator]

    asyncio.run(go())


def test_cpu_panel_header_and_group_rows(capture: Path) -> None:
    def check(app: TopApp) -> None:
        header = text(app, "#header").splitlines()
        assert header[0].startswith(
            "12:00:05am up 0 days 00:00, 10 worlds, 2 VMs, 6 vCPUs; CPU load average: "
        )
        assert header[1].startswith("PCPU USED(%): ") and " AVG: " in header[1]
        assert header[2].startswith("PCPU UTIL(%): ") and header[3].startswith("CORE UTIL(%): ")
        heads, rows = table(app)
        assert heads[:8] == ["ID", "GID", "NAME", "NWLD", "%USED", "%RUN", "%SYS", "%WAIT"]
        assert sorted(r[2] for r in rows) == ["db (prod)", "system", "web-1"]
        used = [float(r[4]) for r in rows]
        assert used == sorted(used, reverse=True)  # esxtop sorts by %USED

    drive(capture, [], check)


def test_expand_vms_only_sort_and_limit(capture: Path) -> None:
    def check(app: TopApp) -> None:
        _heads, rows = table(app)
        # V: VMs only; N: by GID; the highlight stays on db (prod) (first by %USED); e expands it.
        assert [r[2].strip() for r in rows] == ["web-1", "db (prod)", "vmx"] + [
            f"vmx-vcpu-{i}:db (prod)" for i in range(4)
        ]
        assert rows[2][:2] == ["1000100", "102000"] and rows[2][3] == ""  # a world: WID, GID, no NWLD

    drive(capture, ["V", "N", "e"], check)

    def limited(app: TopApp) -> None:
        assert len(table(app)[1]) == 1
        assert "1 rows" in text(app, "#status")

    drive(capture, ["number_sign", "1", "enter"], limited)


def test_memory_power_and_interrupt_panels(capture: Path) -> None:
    def memory(app: TopApp) -> None:
        header = text(app, "#header").splitlines()
        assert "MEM overcommit avg: 0.00, 0.00, 0.00" in header[0]
        assert header[1].startswith("PMEM  /MB: 16384 total: 164 vmk, ")
        assert header[2].endswith("high state")
        assert header[3].startswith("NUMA  /MB: 8192 (")
        heads, rows = table(app)
        # The NUMA fields first after the ids (they must fit an 80-column terminal), then the rest.
        assert heads[:7] == ["GID", "NAME", "NHN", "NMIG", "NRMEM", "NLMEM", "N%L"]
        assert "NWLD" in heads and "MEMSZ" in heads
        assert [r[1] for r in rows] == ["db (prod)", "web-1", "system"]  # sorted by MEMSZ

    drive(capture, ["m"], memory)

    def power(app: TopApp) -> None:
        assert text(app, "#header").splitlines()[2] == "PSTATE MHZ: 2400"
        heads, rows = table(app)
        assert heads[:3] == ["CPU", "%C0", "%C1"] and "PCPU USED(%)" in heads
        assert [r[0] for r in rows] == [str(p) for p in range(8)]

    drive(capture, ["p"], power)

    def interrupts(app: TopApp) -> None:
        heads, rows = table(app)
        assert heads == ["VECTOR", "COUNT/s", "TIME/int"]
        assert [r[0].strip() for r in rows][:3] == ["0x10", "CPU0", "CPU1"]

    drive(capture, ["i", "e"], interrupts)


def test_replay_steps_pause_fields_help_and_quit(capture: Path) -> None:
    def check(app: TopApp) -> None:
        status = text(app, "#status")
        assert "sample 2: the 5 s interval ending 00:00:10 (3 read so far)" in status and "paused" in status
        heads, _rows = table(app)
        assert "%USED" not in heads and "%RDY" not in heads and "SWTCH/s" in heads  # f hid %STATE TIMES

    # right right left: samples 2, 3, 2; f, space (toggle the first group), escape.
    drive(capture, ["right", "right", "left", "f", "down", "space", "escape"], check)

    def helped(app: TopApp) -> None:
        assert type(app.screen).__name__ == "HelpScreen"
        assert "expand" in str(app.screen.query_one("#help").render())

    drive(capture, ["h"], helped)

    def quit_(app: TopApp) -> None:
        assert app._exit_renderables == [] or app.return_value is None

    drive(capture, ["q"], quit_)


def test_cpu_field_menu_offers_esxtops_field_groups(capture: Path, tmp_path: Path) -> None:
    def check(app: TopApp) -> None:
        from textual.widgets import SelectionList

        choice = app.screen.query_one(SelectionList)
        labels = [str(choice.get_option_at_index(i).prompt) for i in range(choice.option_count)]
        # esxtop.md §1.2 (S36): E NWLD, F %STATE TIMES, G EVENT COUNTS/s, H CPU ALLOC, I SUMMARY STATS.
        assert labels == ["E NWLD", "F %STATE TIMES", "G EVENT COUNTS/s", "H CPU ALLOC", "I SUMMARY STATS"]

    drive(capture, ["f"], check)
    # A default-field capture (no -a) still lists every group; the absent ones are disabled.
    host = HostTopology.from_counts(name="t", sockets=1, cores_per_socket=2, threads_per_core=1, numa_nodes=1)
    src = FakeSource(host, [("web-1", 2, 2048)], seed=5)
    sampler = Sampler(src, all_counters=False)
    rec = Recording(sampler.host, sampler.columns, list(sample_run(sampler, src, 5_000_000, 2)))
    path = tmp_path / "default.csv"
    with open(path, "w", newline="") as fh:
        write_batch(rec, fh)

    def default(app: TopApp) -> None:
        from textual.widgets import SelectionList

        choice = app.screen.query_one(SelectionList)
        options = [choice.get_option_at_index(i) for i in range(choice.option_count)]
        enabled = [str(o.prompt) for o in options if not o.disabled]
        assert enabled == ["E NWLD", "F %STATE TIMES"]
        assert [str(o.prompt).split(" (")[0] for o in options if o.disabled] == [
            "G EVENT COUNTS/s", "H CPU ALLOC", "I SUMMARY STATS"
        ]  # fmt: skip
        assert all("with -a" in str(o.prompt) for o in options if o.disabled)

    drive(path, ["f"], default)


def test_numa_memory_columns_fit_an_80_column_terminal(capture: Path) -> None:
    async def go() -> None:
        from textual.widgets import DataTable

        app = TopApp(feed_of(capture), delay=3600, autoplay=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("m")
            await pilot.pause()
            t = app.query_one(DataTable)
            widths = [c.get_render_width(t) for c in t.columns.values()]
            heads = [c.label.plain for c in t.columns.values()]
            assert sum(widths[: heads.index("N%L") + 1]) <= 80, list(zip(heads, widths, strict=True))

    asyncio.run(go())


def test_delay_and_pause_keys(capture: Path) -> None:
    def check(app: TopApp) -> None:
        assert app.delay == 2.0
        assert "every 2s" in text(app, "#status")

    drive(capture, ["P", "s", "2", "enter"], check)


def test_every_binding_names_an_action() -> None:
    for _key, action, _what in KEYS:
        assert not action or hasattr(TopApp, "action_" + action.partition("(")[0])
    assert set(PANELS) == {p.value for p in Panel}


def test_screens_render_without_a_terminal(capture: Path) -> None:
    reader = CaptureReader(capture)
    first = next(iter(reader))
    topo = Topology.of(reader.columns)
    from datetime import timedelta

    frame = Frame(topo, first.values, first.time, first.time, timedelta(seconds=5))
    screen = render(frame, ViewState(panel=Panel.CPU, vms_only=True, expanded={"102000:db (prod)"}))
    assert [r.cells[2].strip() for r in screen.rows][:2] == ["db (prod)", "vmx"]
    assert topo.vms == {"101000:web-1", "102000:db (prod)"} and topo.vcpus == 6


# --- CLI ---------------------------------------------------------------------------------
def test_replay_batch_rewrites_selected_columns(
    capture: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cpu.csv"
    assert (
        main(
            ["top", "--replay", str(capture), "--batch", "--select", "Group Cpu(*)\\% Ready", "-o", str(out)]
        )
        == 0
    )
    lines = out.read_text().splitlines()
    assert len(lines) == 4 and lines[0].count('","') == 3
    assert (
        main(["top", "--replay", str(capture), "--batch", "-n", "1", "--select", "Memory\\Free MBytes"]) == 0
    )
    printed = capsys.readouterr().out.splitlines()
    assert (
        printed[0] == '"(PDH-CSV 4.0) (UTC)(0)","\\\\localhost\\Memory\\Free MBytes",' and len(printed) == 2
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["top"], "nothing to show"),
        (["top", "--replay", str(FIXTURES / "not_esxtop.csv")], "not an esxtop batch CSV"),
        (["top", "--replay", str(FIXTURES / "names.csv"), "-n", "0"], "-n: must be at least 1, got 0"),
        (["top", "--replay", str(FIXTURES / "names.csv"), "x.toml"], "either --replay"),
        (["capture", "convert", str(FIXTURES / "names.csv")], "needs --parquet"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith("vmksim: error: ")


def test_capture_columns_and_convert(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["capture", "columns", str(FIXTURES / "termcap.csv")]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == "\\\\localhost.home\\Memory\\Free MBytes"
    assert "vmksim: warning:" in captured.err and "termcap" in captured.err
    pq = tmp_path / "n.parquet"
    assert main(["capture", "convert", str(FIXTURES / "names.csv"), "--parquet", str(pq)]) == 0
    import pandas as pd

    assert len(pd.read_parquet(pq)) == 12


def test_help_teaches_with_examples() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "vmksim", "top", "--help"], capture_output=True, text=True, check=True
    )
    assert "examples:" in out.stdout and "--replay host.csv" in out.stdout


SCENARIO = """
[host]
sockets = 1
cores_per_socket = 2
threads_per_core = 2

[run]
duration_s = 20
interval_s = 5
seed = 1

[[vm]]
name = "web-1"
vcpus = 2
workload = { kind = "constant", demand_pct = 60 }
"""


def test_batch_over_the_simulated_kernel(tmp_path: Path) -> None:
    pytest.importorskip("vmksim.kernel")
    scenario = tmp_path / "s.toml"
    scenario.write_text(SCENARIO)
    out = tmp_path / "run.csv"
    assert main(["top", "--batch", "-n", "2", str(scenario), "-o", str(out)]) == 0
    rec = CaptureReader(out, ["Group Cpu(*web-1)\\% Run"]).to_recording()
    assert len(rec) == 2 and [s.time.second for s in rec] == [5, 10]
    assert 0 < rec[1].values[0] <= 200
    ents = tmp_path / "e.txt"
    assert main(["top", "--export-entity", str(ents), str(scenario)]) == 0
    assert ents.read_text().startswith("SchedGroup\n")


def test_sample_label_says_what_it_counts(capture: Path) -> None:
    feed = feed_of(capture)  # 3 samples, 5 s apart; the feed reads one ahead
    assert feed.label() == "sample 1: the 5 s interval ending 00:00:05 (2 read so far)"
    assert feed.forward() and feed.forward() and not feed.forward()
    assert feed.label() == "sample 3: the 5 s interval ending 00:00:15 (the last of 3)"
    assert feed.back()
    assert feed.label() == "sample 2: the 5 s interval ending 00:00:10 (3 in all)"


# --- live view over a simulation (QA: no NUMA fields without -a, empty `i` panel, `o` unlisted) ---


def live_feed(tmp_path: Path, run_cli, monkeypatch: pytest.MonkeyPatch, *argv: str) -> Feed:
    """The feed `vmksim top SCENARIO` gives the TUI, through the CLI (the TUI itself not run)."""
    pytest.importorskip("vmksim.kernel")
    import vmksim.cli.top as top_cli

    scenario = tmp_path / "s.toml"
    scenario.write_text(SCENARIO)
    feeds: list[Feed] = []
    monkeypatch.setattr(top_cli, "_interactive", lambda feed, args: feeds.append(feed) or 0)
    code, _, err = run_cli("top", *argv, str(scenario))
    assert code == 0 and len(feeds) == 1, err
    return feeds[0]


def test_live_view_has_every_counter_batch_keeps_the_default_set(
    tmp_path: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = live_feed(tmp_path, run_cli, monkeypatch)
    every = live_feed(tmp_path, run_cli, monkeypatch, "-a")
    assert live.columns == every.columns
    numa = {c.counter for c in live.columns if c.object == "Group Memory"}
    assert {"Numa Home Nodes", "Numa % Local"} <= numa
    out = tmp_path / "b.csv"
    code, _, err = run_cli("top", "--batch", "-n", "1", str(tmp_path / "s.toml"), "-o", str(out))
    assert code == 0, err
    batch = CaptureReader(out).columns
    assert len(batch) < len(live.columns)  # esxtop -b without -a: the default set only

    def memory(app: TopApp) -> None:
        heads, _rows = table(app)
        assert heads[:7] == ["GID", "NAME", "NHN", "NMIG", "NRMEM", "NLMEM", "N%L"]

    drive_feed(live, ["m"], memory)


def test_a_panel_the_data_lacks_is_not_shown_empty(
    tmp_path: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = live_feed(tmp_path, run_cli, monkeypatch)
    assert not any(c.object == EsxObject.INTERRUPT for c in feed.columns)  # a simulated host has none

    def stayed(app: TopApp) -> None:
        assert app.state.panel is Panel.CPU
        assert text(app, "#status").startswith("CPU |")
        notes = [str(n.message) for n in app._notifications]
        assert notes == [
            "no interrupt vectors in this data (interrupt panel: no 'Interrupt Cookie' counters)"
        ]

    drive_feed(feed, ["i"], stayed)


def test_o_reorders_field_groups_and_is_in_the_help(capture: Path) -> None:
    def check(app: TopApp) -> None:
        heads, _rows = table(app)
        # CPU groups in screen order: A NWLD, B %STATE TIMES, ...; "B" moves the state times first.
        assert heads[3] == "%USED" and heads.index("%USED") < heads.index("NWLD")

    drive(capture, ["o", "B", "enter"], check)

    def helped(app: TopApp) -> None:
        assert "     o  change the order of field groups" in str(app.screen.query_one("#help").render())

    drive(capture, ["h"], helped)


@pytest.mark.parametrize(
    ("answer", "result"),
    [("b", ("y", "x", "z")), ("CA", ("z", "x", "y")), ("", ("x", "y", "z")), ("D", "'D' is not a field letter (A to C)"), ("AA", "'A' is given twice")],
)  # fmt: skip
def test_reorder_answers(answer: str, result: object) -> None:
    assert reorder(["x", "y", "z"], answer) == result
