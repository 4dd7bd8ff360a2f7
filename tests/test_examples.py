"""Every examples/*.toml runs a few simulated seconds and gives the summary recorded in its golden file.

``vmksim run EXAMPLE --duration 3 --json`` is run in-process; its per-VM rows,
rounded as esxtop prints percentages (two decimals, esxtop.md §1.3), must equal
tests/golden/examples/EXAMPLE.json. A run is a pure function of (scenario, seed)
(DESIGN.md "Determinism"), so any difference is a change in behaviour: either a
bug, or an intended change whose goldens are rewritten deliberately with
``pytest tests/test_examples.py --update-goldens`` and reviewed in the diff
(tests/golden/examples/README.md).

Before the golden comparison each row is checked against the state identity,
which needs no golden: RUN + READY + COSTOP + WAIT = elapsed for every vCPU, so
a VM's per-vCPU means (what ``vmksim run`` prints) sum to 100, within the rounding
of four figures printed to two decimals.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT

EXAMPLES = sorted((ROOT / "examples").glob("*.toml"))
GOLDEN = ROOT / "tests" / "golden" / "examples"
#: Simulated seconds per example: long enough for NUMA placement, limits and bursts to show.
SIM_SECONDS = 3
#: Decimals kept, as esxtop prints percentages (esxtop.md §1.3).
DECIMALS = 2
#: Four figures each rounded to DECIMALS: their sum is within 4 x half a unit of the last place.
STATE_ROUNDING = 4 * 0.5 * 10**-DECIMALS + 1e-9
REGENERATE = "pytest tests/test_examples.py --update-goldens (see tests/golden/examples/README.md)"


def _command(example: Path) -> list[str]:
    return ["run", str(example), "--duration", str(SIM_SECONDS), "--json", "--no-progress"]


def _rounded(value: Any) -> Any:
    return round(value, DECIMALS) if isinstance(value, float) else value


def _golden_doc(example: Path, rows: list[dict[str, Any]]) -> dict[str, Any]:
    command = " ".join(["vmksim", *_command(example.relative_to(ROOT))])
    return {"command": command, "vms": [{k: _rounded(v) for k, v in row.items()} for row in rows]}


def _differences(want: dict[str, Any], got: dict[str, Any]) -> list[str]:
    if [r["name"] for r in want["vms"]] != [r["name"] for r in got["vms"]]:
        return [f"VMs: golden {[r['name'] for r in want['vms']]}, now {[r['name'] for r in got['vms']]}"]
    out = (
        [f"command: golden {want['command']!r}, now {got['command']!r}"]
        if want["command"] != got["command"]
        else []
    )
    for w, g in zip(want["vms"], got["vms"], strict=True):
        for key in sorted(set(w) | set(g)):
            if w.get(key) != g.get(key):
                out.append(f"{w['name']}.{key}: golden {w.get(key)!r}, now {g.get(key)!r}")
    return out


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs_and_matches_its_golden_summary(example: Path, run_cli, update_goldens: bool) -> None:
    code, out, err = run_cli(*_command(example))
    assert code == 0 and err == "", err
    rows = json.loads(out)["vms"]
    assert rows, f"{example.name} simulated no VM"
    for row in rows:
        states = row["run"] + row["ready"] + row["costop"] + row["wait"]
        assert math.isclose(states, 100.0, abs_tol=STATE_ROUNDING), (row["name"], states)
    got = _golden_doc(example, rows)
    golden = GOLDEN / f"{example.stem}.json"
    if update_goldens:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(json.dumps(got, indent=2, allow_nan=False) + "\n", encoding="utf-8")
        return
    assert golden.is_file(), f"{golden.relative_to(ROOT)} is missing: write it with {REGENERATE}"
    diff = _differences(json.loads(golden.read_text(encoding="utf-8")), got)
    assert not diff, (
        f"{example.name}: the summary differs from {golden.relative_to(ROOT)}; if the change is intended, "
        f"run {REGENERATE} and review the diff:\n  " + "\n  ".join(diff)
    )


def test_every_golden_belongs_to_an_example() -> None:
    orphans = sorted({p.stem for p in GOLDEN.glob("*.json")} - {e.stem for e in EXAMPLES})
    assert not orphans, f"golden files without an example (delete them): {orphans}"


def test_the_differences_name_vm_and_field() -> None:
    want = {"command": "c", "vms": [{"name": "a", "ready": 1.0}, {"name": "b", "ready": 2.0}]}
    got = {"command": "c", "vms": [{"name": "a", "ready": 1.0}, {"name": "b", "ready": 2.5}]}
    assert _differences(want, got) == ["b.ready: golden 2.0, now 2.5"]
    assert _differences(want, {"command": "c", "vms": want["vms"][:1]})[0].startswith(
        "VMs: golden ['a', 'b']"
    )
