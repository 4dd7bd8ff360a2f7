"""The fuzz harness catches what it promises to: each misbehaviour below must be judged a failure."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fuzz_harness import Case, judge, run_cases


def _behave(argv: list[str]) -> int:
    """A stand-in CLI whose first argument says how it misbehaves."""
    what = argv[0]
    if what == "ok":
        Path("out.txt").write_text("done")
        return 0
    if what == "raise":
        raise AssertionError("a bug")
    if what == "spin":
        while True:
            pass
    if what == "block":
        with open("fifo") as fh:  # no writer: blocks without using CPU
            fh.read()
    if what == "allocate":
        hog = [bytearray(1 << 20) for _ in range(100_000)]  # 100 GB
        return len(hog)
    if what == "partial":
        Path(".out.txt.part").write_text("half")
        return 1
    if what == "usage":
        raise SystemExit(2)
    return 0


CASES: dict[str, tuple[str, ...]] = {
    "ok": (),
    "raise": ("traceback: AssertionError: a bug",),
    "spin": ("CPU time cap", "slow"),  # the wall clock may come first on a loaded machine
    "block": ("blocked",),
    "allocate": ("traceback: MemoryError",),
    "partial": ("left ['.out.txt.part']",),
    "usage": ("exit code 2",),
}


def test_each_misbehaviour_is_a_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import fuzz_harness

    monkeypatch.setattr(fuzz_harness, "CASE_SECONDS", 1)
    monkeypatch.setattr(fuzz_harness, "WALL_FACTOR", 5)
    cases = [
        Case("harness", i, [name], {"fifo": "fifo"}, frozenset({"out.txt"})) for i, name in enumerate(CASES)
    ]
    start = time.perf_counter()
    verdicts = {
        case.argv[0]: judge(case, out) for case, out in run_cases(cases, tmp_path, jobs=2, entry=_behave)
    }
    assert time.perf_counter() - start < 30
    for name, expected in CASES.items():
        verdict = verdicts[name]
        if not expected:
            assert verdict is None, (name, verdict)
        else:
            assert verdict is not None and any(e in verdict for e in expected), (name, verdict)
