"""Seeded, bounded mutation campaigns against every input parser, through the real CLI (issue 11).

Per parser, VMKSIM_FUZZ_CASES cases (default SHORT_CASES, what `make test`
runs; `make fuzz` sets a larger number): each a seed input mutated with a
random.Random seeded by (VMKSIM_FUZZ_SEED, parser, case), run by
fuzz_harness in a forked child with a wall-clock, CPU and address-space cap.
A case passes when the CLI exits 0, 1, 3 or 4 without a traceback, within the
caps, and leaves no file behind except the output of a successful run.

A failure names the case; `VMKSIM_FUZZ_ONLY=parser:index` re-runs just that
case and VMKSIM_FUZZ_SAVE=DIR keeps its input files for a look.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest
from fuzz_corpus import CAMPAIGNS, Corpus, build_corpus
from fuzz_harness import Case, _lay_out, judge, run_cases

SHORT_CASES = 200
"""Cases per parser in `make test`: the whole short campaign stays under a minute on 2 cores."""
CASES = int(os.environ.get("VMKSIM_FUZZ_CASES", SHORT_CASES))
SEED = int(os.environ.get("VMKSIM_FUZZ_SEED", "20261129"))
JOBS = int(os.environ.get("VMKSIM_FUZZ_JOBS", str(min(2, os.cpu_count() or 1))))
REAL_IMAGES_FROM = 1000
"""The real VMFS images (seconds to inflate) join the VMFS campaign from this many cases on."""
ONLY = os.environ.get("VMKSIM_FUZZ_ONLY", "")
MIN_CASES_FOR_ACCEPTED = 20
"""From this many cases on, at least one must be accepted (else the seeds are broken)."""


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    return build_corpus(real_images=CASES >= REAL_IMAGES_FROM)


def make_case(corpus: Corpus, parser: str, index: int) -> Case:
    rng = random.Random(f"{SEED}:{parser}:{index}")
    return CAMPAIGNS[parser](corpus, rng, index)


def _indices(parser: str) -> list[int]:
    if ONLY:
        only_parser, _, index = ONLY.partition(":")
        return [int(index)] if only_parser == parser else []
    return list(range(CASES))


def _describe(case: Case, problem: str) -> str:
    inputs = ", ".join(
        f"{n}: {v if isinstance(v, str) else f'{len(v)} bytes'}" for n, v in case.files.items()
    )
    argv = " ".join(repr(a) if len(a) < 120 else f"<{len(a)} chars>" for a in case.argv)
    return f"{case.parser}:{case.index} {problem}\n    vmksim {argv}  [{inputs or 'no input file'}]"


def _save(case: Case) -> None:
    where = os.environ.get("VMKSIM_FUZZ_SAVE")
    if where:
        folder = Path(where) / f"{case.parser}-{case.index}"
        folder.mkdir(parents=True, exist_ok=True)
        _lay_out(case, folder)


@pytest.mark.parametrize("parser", list(CAMPAIGNS))
def test_campaign(parser: str, corpus: Corpus, tmp_path: Path) -> None:
    indices = _indices(parser)
    if not indices:
        pytest.skip(f"VMKSIM_FUZZ_ONLY={ONLY}")
    start = time.perf_counter()
    cases = (make_case(corpus, parser, i) for i in indices)
    failures, exits, cpu = [], {}, 0.0
    for case, outcome in run_cases(cases, tmp_path, JOBS):
        exits[outcome.code] = exits.get(outcome.code, 0) + 1
        cpu += outcome.cpu
        problem = judge(case, outcome)
        if problem is not None:
            failures.append(_describe(case, problem))
            _save(case)
    took = time.perf_counter() - start
    print(
        f"\n{parser}: {len(indices)} cases in {took:.1f} s ({cpu:.1f} CPU s in the cases), "
        f"exit codes {sorted(exits.items(), key=str)}"
    )
    assert not failures, f"{len(failures)} of {len(indices)} {parser} cases failed:\n" + "\n".join(
        sorted(failures, key=lambda f: int(f.split(":")[1].split()[0]))
    )
    # a campaign in which every case is rejected tests only the first check of a parser
    assert len(indices) < MIN_CASES_FOR_ACCEPTED or exits.get(0, 0) + exits.get(3, 0) + exits.get(4, 0) > 0, (
        f"no {parser} case was accepted"
    )
