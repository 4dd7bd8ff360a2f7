"""Regression tests for the new-user QA pass over the CLI (numeric options, pipes, usage errors).

Each test goes through the CLI entry point (conftest ``run_cli``) or, where a real pipe or
file descriptor is the point, through ``python -m vmksim`` in a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NFV = str(ROOT / "examples" / "nfv.toml")
CAPTURE = str(ROOT / "tests" / "fixtures" / "esxtop" / "names.csv")
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def one_error(result: tuple[int, str, str], code: int = 1) -> str:
    got, out, err = result
    assert out == "" or got == 0
    assert got == code, err
    assert "Traceback" not in err and err.count("\n") == 1, err
    return err


# --- 1: numeric options ----------------------------------------------------------------------

#: (command prefix, option) for every numeric option of run/top/whatif/plan, with the bound its
#: meaning sets: a seed is >= 0 (numpy's SeedSequence), a count >= 1, a time or size > 0.
NUMERIC_OPTIONS = [
    (["run", NFV], "--seed", "at least 0"),
    (["run", NFV], "-d", "at least 0.001"),
    (["run", NFV], "-n", "at least 1"),
    (["run", NFV], "--duration", "at least 0.001"),
    (["top", "--batch", NFV], "--seed", "at least 0"),
    (["top", "--batch", NFV], "-d", "at least 0.001"),
    (["top", "--batch", NFV], "-n", "at least 1"),
    (["whatif", "capture.csv"], "--seed", "at least 0"),
    (["whatif", "capture.csv"], "--duration", "at least 0.001"),
    (["plan"], "--vcpus", "at least 1"),
    (["plan", "--vcpus", "2"], "--cores-per-socket", "at least 1"),
    (["plan", "--vcpus", "2"], "--memory-gb", "at least 0.000976562"),
]


@pytest.mark.parametrize(("prefix", "option", "bound"), NUMERIC_OPTIONS)
def test_a_number_below_an_options_range_is_one_line_exit_1(run_cli, prefix, option, bound) -> None:
    # The range is checked as the option is parsed, before any file is read: the capture
    # named above need not exist.
    err = one_error(run_cli(*prefix, option, "-1"))
    assert err.startswith(f"vmksim: error: {option}: must be {bound}, got -1"), err


@pytest.mark.parametrize("value", ["nan", "inf"])
@pytest.mark.parametrize(
    ("prefix", "option"), [(p, o) for p, o, _ in NUMERIC_OPTIONS if o in ("-d", "--duration", "--memory-gb")]
)
def test_nan_and_infinity_are_refused_by_every_float_option(run_cli, prefix, option, value) -> None:
    err = one_error(run_cli(*prefix, option, value))
    assert f"{option}: must be a finite number, got {value}" in err


@pytest.mark.parametrize("option", ["-d", "--duration"])
def test_a_time_too_short_for_the_kernels_microseconds_is_refused(run_cli, option: str) -> None:
    # 1e-300 s rounds to 0 µs: it divided by zero before (ZeroDivisionError traceback).
    from vmksim.cli._common import MIN_SECONDS

    err = one_error(run_cli("run", NFV, option, "1e-300", "--no-progress"))
    assert f"{option}: must be at least {MIN_SECONDS:g}, got 1e-300" in err


def test_a_huge_iteration_count_is_refused_by_the_kernels_time_horizon(run_cli) -> None:
    err = one_error(run_cli("run", NFV, "-n", str(10**20), "--no-progress"))
    assert "run.duration_s: must be below" in err


def test_a_negative_seed_no_longer_reaches_numpy(run_cli) -> None:
    # The QA crash: numpy's "expected non-negative integer" traceback.
    for argv in (["run", NFV, "--seed", "-1"], ["top", "--batch", "--seed", "-1", NFV]):
        assert "non-negative" not in one_error(run_cli(*argv))


def test_a_word_where_a_number_belongs_stays_a_usage_error(run_cli) -> None:
    code, _, err = run_cli("run", NFV, "--seed", "x")
    assert code == 2 and "usage: vmksim run" in err


# --- 6: pipes ----------------------------------------------------------------------------------


def test_tables_in_a_pipe_honour_columns_and_have_no_trailing_blanks(monkeypatch) -> None:
    from rich.padding import Padding

    from vmksim.console import make_console

    monkeypatch.setenv("COLUMNS", "72")
    console = make_console(file=open(os.devnull, "w"))  # noqa: SIM115 - not a terminal
    assert console.width == 72
    with console.capture() as cap:
        console.print(Padding("indented", (0, 0, 0, 4)))  # rich pads this to the full width
    assert cap.get() == "    indented\n"


# --- 7: a reader that goes away ----------------------------------------------------------------


@pytest.mark.parametrize("argv", [["plan", "--vcpus", "8"], ["top", "--list-counters"], ["topology", "list"]])
def test_a_closed_pipe_ends_quietly_with_exit_0(argv: list[str]) -> None:
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first write: every write is EPIPE
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "vmksim", *argv],
            stdout=write,
            stderr=subprocess.PIPE,
            env=ENV,
            check=False,
        )
    finally:
        os.close(write)
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr


@pytest.mark.parametrize("spec", ["x:2:50:nan", "x:2:50:inf", "x:2:nan"])
def test_add_vm_refuses_nan_and_infinite_sizes(run_cli, spec: str) -> None:
    assert "--add-vm: need VCPUS >= 1" in one_error(run_cli("whatif", CAPTURE, "--add-vm", spec))


# --- 5: usage errors -------------------------------------------------------------------------


def usage_error(result: tuple[int, str, str]) -> list[str]:
    code, out, err = result
    assert code == 2 and out == "", err
    return err.splitlines()


def test_an_unknown_option_shows_the_subcommands_usage_and_the_nearest_option(run_cli) -> None:
    lines = usage_error(run_cli("run", NFV, "--bacth", "y"))
    assert lines[0].startswith("usage: vmksim run ")
    assert lines[-1] == "vmksim run: error: unrecognized arguments: --bacth y; did you mean '--batch'?"


@pytest.mark.parametrize(
    ("argv", "prog", "nearest"),
    [
        (["rnu"], "vmksim", "run"),
        (["anlyze", "x.csv"], "vmksim", "analyze"),
        (["vmfs", "lss"], "vmksim vmfs", "ls"),
    ],
)
def test_a_misspelt_command_names_the_nearest_one(run_cli, argv, prog, nearest) -> None:
    last = usage_error(run_cli(*argv))[-1]
    assert last.startswith(f"{prog}: error: unknown command '{argv[-1] if prog != 'vmksim' else argv[0]}'")
    assert f"did you mean '{nearest}'?" in last


def test_a_word_far_from_every_command_gets_no_suggestion(run_cli) -> None:
    last = usage_error(run_cli("zzzzzz"))[-1]
    assert "did you mean" not in last and "choose from" in last


@pytest.mark.parametrize(
    "argv",
    [
        ["elf", "check", "--esxi", "9.0", "/bin/sh"],
        ["elf", "policy", "--esxi", "9.0"],
        ["plan", "--esxi", "9.0", "--vcpus", "2"],
        ["run", NFV, "--engine", "pyton"],
    ],
)
def test_an_unknown_value_of_an_option_is_a_bad_value_exit_1_everywhere(run_cli, argv) -> None:
    err = one_error(run_cli(*argv))
    assert err.startswith("vmksim: error: --e") and "usage:" not in err


# --- 4: top's help and its simulated batch ------------------------------------------------------

LIMITS = str(ROOT / "examples" / "limits.toml")


def _csv_rows(out: str) -> list[list[str]]:
    import csv
    import io

    return list(csv.reader(io.StringIO(out)))


def test_top_help_states_the_defaults_it_uses(run_cli) -> None:
    code, out, _ = run_cli("top", "--help")
    assert code == 0 and "10000" not in out and "duration_s" in " ".join(out.split())


def test_top_batch_writes_the_scenarios_samples_by_default(run_cli) -> None:
    import tomllib

    run = tomllib.loads(Path(LIMITS).read_text())["run"]
    code, out, _ = run_cli("top", "--batch", LIMITS)
    assert code == 0
    assert len(_csv_rows(out)) == 1 + run["duration_s"] // run["interval_s"]  # header + samples


def test_top_says_when_it_raises_a_delay_to_esxtops_minimum(run_cli) -> None:
    from datetime import datetime

    from vmksim.cli.top import MIN_DELAY_S

    code, out, err = run_cli("top", "--batch", "-d", "1", "-n", "2", NFV)
    assert code == 0
    assert f"-d 1 s is below esxtop's minimum delay; sampling every {MIN_DELAY_S:g} s" in err
    times = [datetime.strptime(r[0], "%m/%d/%Y %H:%M:%S") for r in _csv_rows(out)[1:]]
    assert (times[1] - times[0]).total_seconds() == MIN_DELAY_S


def test_top_select_applies_when_simulating(run_cli) -> None:
    code, out, _ = run_cli("top", "--batch", "-n", "2", "--select", r"Group Cpu(*)\% Ready", NFV)
    header = [c for c in _csv_rows(out)[0][1:] if c]  # esxtop ends each line with a comma
    assert code == 0 and header
    assert all("\\Group Cpu(" in c and c.endswith("\\% Ready") for c in header)


def test_top_select_matching_nothing_is_refused(run_cli) -> None:
    err = one_error(run_cli("top", "--batch", "-n", "2", "--select", "No Such(*)\\x", NFV))
    assert "--select: matches none of the" in err


def test_top_batch_beyond_the_kernels_horizon_is_one_line(run_cli) -> None:
    assert "run.duration_s: must be below" in one_error(run_cli("top", "--batch", "-n", str(10**20), NFV))


# --- 6: what analyze / compare / whatif print ------------------------------------------------------


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Short simulated captures: limits.toml (a host given no name) and nfv.toml (named, bigger)."""
    from vmksim.cli import main

    out = {}
    for name, scenario in (("limits", LIMITS), ("nfv", NFV)):
        path = tmp_path_factory.mktemp("qa") / f"{name}.csv"
        argv = [
            "run",
            scenario,
            "--batch",
            str(path),
            "--duration",
            "10",
            "--no-progress",
            "--engine",
            "python",
        ]
        assert main(argv) == 0
        out[name] = path
    return out


def test_findings_in_a_pipe_fit_columns_without_trailing_blanks(run_cli, captures, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "90")
    for argv in (
        ["analyze", str(captures["limits"])],
        ["compare", str(captures["limits"]), str(captures["nfv"])],
    ):
        code, out, _ = run_cli(*argv)
        assert code == 0
        lines = out.splitlines()
        assert max(len(x) for x in lines) <= 90
        assert not [x for x in lines if x != x.rstrip()]


def test_a_host_without_a_name_reads_unnamed_host(run_cli, captures) -> None:
    code, out, _ = run_cli("analyze", str(captures["limits"]))
    assert code == 0 and "host host" not in out and "unnamed host: 4 PCPUs" in out


def test_compare_of_different_hosts_warns_once(run_cli, captures) -> None:
    code, out, _ = run_cli("compare", str(captures["limits"]), str(captures["nfv"]), "--json")
    warnings = __import__("json").loads(out)["warnings"]
    assert code == 0 and len(warnings) == 1
    assert "host and nfv-2x24-ht" in warnings[0] and "A has 4 PCPUs" in warnings[0]


def test_calibration_shows_points_not_a_relative_error_of_a_near_zero_capture(run_cli, captures) -> None:
    import json

    from vmksim.analyze.text import RELATIVE_ERROR_FLOOR

    argv = ["whatif", str(captures["nfv"]), "--duration", "10", "--engine", "python"]
    code, out, err = run_cli(*argv, "--json")
    assert code == 0, err
    rows = json.loads(out)["calibration"]["vms"]
    near_zero = [
        r["name"]
        for r in rows
        if r["ready_capture"] is not None and r["ready_capture"] < RELATIVE_ERROR_FLOOR
    ]
    assert near_zero  # idle VMs have next to no %RDY: the case the floor is for
    code, text, _ = run_cli(*argv)
    table = text[text.index("Calibration") : text.index("error = ")]
    for name in near_zero:
        line = next(x for x in table.splitlines() if f" {name} " in x)
        cells = [c.strip() for c in line.split("│")]
        assert cells[7].endswith(" pt"), line  # the %RDY error cell


def test_run_table_fits_an_80_column_terminal_without_cutting_figures(run_cli, monkeypatch) -> None:
    """QA: at 80 columns the summary read '44…' for 44.95; esxtop-style columns fit 80 and never
    end in an ellipsis (a narrower terminal folds a figure rather than cutting it)."""
    monkeypatch.setenv("COLUMNS", "80")
    code, out, err = run_cli("run", str(ROOT / "examples" / "limits.toml"), "--no-progress", "--vcpus")
    assert code == 0, err
    assert "…" not in out and max(len(line) for line in out.splitlines()) <= 80
    assert all(h in out for h in ("%USED", "%RDY", "%MLMTD", "%LAT_C", "N%L"))
