"""The command line as a user meets it: help, usage errors, the demo."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from conftest import ROOT
from vmksim.cli import build_parser


def test_no_command_is_a_usage_error(run_cli) -> None:
    code, _, err = run_cli()
    assert code == 2 and "usage:" in err


def test_python_dash_m_runs_the_cli() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "vmksim", "--version"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0 and proc.stdout.startswith("vmksim ")


def test_demo_shows_the_nfv_plan_table(run_cli) -> None:
    code, out, _ = run_cli("demo")
    assert code == 0
    assert "nfv-2x24-ht" in out and "ESXi 8.0" in out and "ESXi 6.0" in out and "preferHT" in out
    # 48 vCPUs: two 24-vCPU clients by default, one 48-vCPU client on a node's threads with preferHT.
    assert "24@0 + 24@1" in out and "48@0" in out
    # Then the NFV scenario simulated without and with preferHT on the tenant, side by side.
    assert "What numa.vcpu.preferHT on the dp-vnf tenant does" in out
    assert "dp-vnf (tenant)" in out and "everyone else" in out and "%LAT_C" in out


def test_demo_scenario_sets_preferht_on_the_tenant_only() -> None:
    from vmksim.demo import TENANT, demo_scenario

    for prefer in (False, True):
        scenario = demo_scenario(prefer)
        flags = {vm.name: vm.config.prefer_ht for vm in scenario.vms}
        assert flags[TENANT] is prefer
        assert not any(v for name, v in flags.items() if name != TENANT)


# Run in a fresh interpreter where every optional extra fails to import, as when it is not installed.
_WITHOUT_EXTRAS = """
import argparse, contextlib, io, json, sys
for name in sys.argv[1:]:
    sys.modules[name] = None  # `import name` (and name.anything) now raises ImportError
from vmksim.cli import build_parser
parser = build_parser()
sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
for command in sub.choices:
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            parser.parse_args([command, "--help"])
        except SystemExit as exc:
            assert exc.code == 0, command
print(json.dumps(sorted(sub.choices)))
"""


def _extra_modules() -> list[str]:
    """Import names of the optional extras' packages (pyproject [project.optional-dependencies])."""
    import re
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = {k: v for k, v in project["optional-dependencies"].items() if k != "dev"}
    names = {re.split(r"[^A-Za-z0-9_.-]", req, maxsplit=1)[0] for reqs in extras.values() for req in reqs}
    return sorted(n.lower().replace("-", "_") for n in names)


def test_parser_builds_without_optional_extras_installed() -> None:
    blocked = _extra_modules()
    assert {"textual", "plotly", "pandas"} <= set(blocked)  # the extras DESIGN.md calls heavy
    proc = subprocess.run(
        [sys.executable, "-c", _WITHOUT_EXTRAS, *blocked], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    # every command is there and shows its help, as with the extras installed
    assert json.loads(proc.stdout.splitlines()[-1]) == sorted(sub.choices)


@pytest.mark.parametrize(
    "args", [["plan", "--esxi", "9.9", "--vcpus", "4"], ["plan"], ["plan", "--vcpus", "0"]]
)
def test_plan_input_errors_are_one_line(run_cli, args: list[str]) -> None:
    code, out, err = run_cli(*args)
    assert code == 1 and out == "" and err.count("\n") == 1 and err.startswith("vmksim: error: ")


def test_analyze_report_without_plotly_prints_the_analysis_first(tmp_path, monkeypatch, run_cli) -> None:
    """Issue 10 item 1: a missing 'report' extra must not cost the user the analysis itself."""
    from vmksim.analyze.synth import VmScript, write_scripted_capture
    from vmksim.topology import resolve_host

    capture = tmp_path / "c.csv"
    write_scripted_capture(capture, resolve_host("tiny-1x4"), [VmScript("capped-vm", 1, ready=20)], samples=3)
    # A None entry in sys.modules makes `import plotly` raise ImportError, as when it is not installed.
    monkeypatch.setitem(sys.modules, "plotly", None)
    # What each prints first: analyze its VM table (with %RDY), compare its per-VM change table.
    for argv, heading in (
        (["analyze", str(capture)], "%RDY"),
        (["compare", str(capture), str(capture)], "every counter that changed"),
    ):
        code, out, err = run_cli(*argv, "--report", str(tmp_path / "r.html"))
        assert code == 1 and "needs the 'report' extra" in err and err.count("\n") == 1
        assert "capped-vm" in out and heading in out  # the analysis / comparison was printed
        assert not (tmp_path / "r.html").exists()


def test_make_demo_installs_the_tui_and_report_extras() -> None:
    """`make demo` must leave the commands the README suggests after it working (issue 10 item 1)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    makefile = (root / "Makefile").read_text()
    demo_rule = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    stamp = demo_rule.split()[0]
    recipe = makefile.split(f"\n{stamp}:", 1)[1].split("\n\n", 1)[0]
    assert "pip install" in recipe and "'.[tui,report]'" in recipe
    readme = (root / "README.md").read_text()
    assert "vmksim top src/vmksim/data/scenarios/nfv-demo.toml" in readme and "--report nfv.html" in readme
