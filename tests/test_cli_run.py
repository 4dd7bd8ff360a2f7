"""`vmksim run`: table, esxtop batch CSV (deterministic), one-line errors and no partial output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

TINY = """
name = "tiny"
[host]
sockets = 1
cores_per_socket = 2
threads_per_core = 2
[run]
duration_s = 2
interval_s = 0.5
seed = 3
[[vm]]
name = "web"
count = 2
vcpus = 2
[vm.workload]
kind = "onoff"
busy_ms = 4
idle_ms = 2
[[vm]]
name = "capped"
vcpus = 1
[vm.settings]
"sched.cpu.max" = 600
[vm.workload]
kind = "constant"
demand_pct = 100
"""


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    p = tmp_path / "tiny.toml"
    p.write_text(TINY)
    return p


def test_table_lists_every_vm(run_cli, tiny: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run_cli("run", str(tiny), "--engine", "python", "--no-progress")
    assert code == 0, err
    for name in ("web-1", "web-2", "capped", "%RDY", "%CSTP", "%MLMTD", "N%L"):
        assert name in out


def test_json_rows(run_cli, tiny: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run_cli("run", str(tiny), "--engine", "python", "--json", "--vcpus")
    assert code == 0
    data = json.loads(out)
    assert [r["name"] for r in data["vms"]] == ["web-1", "web-2", "capped"]
    capped = data["vms"][2]
    assert capped["run"] + capped["ready"] + capped["costop"] + capped["wait"] == pytest.approx(100)
    assert capped["max_limited"] > 0 and len(data["vcpus"]) == 5


def test_batch_csv_is_byte_identical_for_the_same_seed(run_cli, tiny: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    assert run_cli("run", str(tiny), "--engine", "python", "--batch", str(a))[0] == 0
    assert run_cli("run", str(tiny), "--engine", "python", "--batch", str(b))[0] == 0
    assert a.read_bytes() == b.read_bytes()
    assert run_cli("run", str(tiny), "--engine", "python", "--batch", str(c), "--seed", "4")[0] == 0
    assert a.read_bytes() != c.read_bytes()
    lines = a.read_text().splitlines()
    assert len(lines) == 1 + 4  # header + -n samples (2 s / 0.5 s)
    header = lines[0]
    assert '"\\\\host\\Group Cpu(10000:web-1)\\% Ready"' in header
    assert "Group Cpu(12000:capped)\\% Max Limited" in header


def test_d_and_n_set_interval_and_count(run_cli, tiny: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "dn.csv"
    assert (
        run_cli("run", str(tiny), "--engine", "python", "--batch", str(out), "-d", "0.25", "-n", "3")[0] == 0
    )
    assert len(out.read_text().splitlines()) == 4


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (TINY.replace("busy_ms = 4", "busy_ms = -4"), ":vm[0].workload.busy_ms: must be >= 0.001, got -4"),
        (TINY.replace("cores_per_socket = 2", "cores_per_socket = 'two'"), ":host.cores_per_socket:"),
        (
            TINY + '[[vm]]\nname = "ls"\nvcpus = 1\n[vm.settings]\n"sched.cpu.latencySensitivity" = "high"\n',
            "sched.cpu.min",
        ),
    ],
)
def test_bad_scenario_is_one_line_exit_1_and_no_output(  # type: ignore[no-untyped-def]
    run_cli, tmp_path: Path, text: str, message: str
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    out = tmp_path / "out.csv"
    code, _stdout, err = run_cli("run", str(bad), "--engine", "python", "--batch", str(out))
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("vmksim: error: ") and message in err
    assert not out.exists() and list(tmp_path.glob("*.part")) == []
