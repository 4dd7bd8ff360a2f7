"""Shared fixtures: named hosts, a seeded generator, the in-process CLI, paths, golden-file options.

Options and markers:

- ``pytest --update-goldens`` rewrites the golden files of tests that support it
  (tests/golden/examples/, see its README.md) from the current code instead of
  comparing. Use it only when a change is meant to move the numbers (a scheduler
  fix, a new kind of world), and review ``git diff tests/golden`` before committing.
- ``slow``: theory tests (tests/test_sched_theory.py) and browser tests are marked
  slow here, in one place. ``make test`` runs them; ``pytest -m "not slow"`` is
  the quick loop.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vmksim.cli import main
from vmksim.topology import PRESETS, HostTopology

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SHARED = ROOT.parent / "shared"

#: Test modules whose every test is slow (theory tests: many simulated seconds per case).
SLOW_MODULES = frozenset({"test_sched_theory.py"})
#: Seed of the ``rng`` fixture (any fixed value: tests must not depend on which).
RNG_SEED = 20240601


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite golden files from the current code instead of comparing (review the diff!)",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name in SLOW_MODULES or item.get_closest_marker("browser") is not None:
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    """True when the run was started with ``--update-goldens``."""
    return bool(request.config.getoption("--update-goldens"))


# --- hosts ---------------------------------------------------------------------------------------


@pytest.fixture
def tiny_host() -> HostTopology:
    """One socket, 4 cores, no HT, one NUMA node (the ``tiny-1x4`` preset)."""
    return PRESETS["tiny-1x4"]


@pytest.fixture
def two_node_ht_host() -> HostTopology:
    """The smallest interesting NUMA host: 2 sockets x 2 cores x 2 threads, one node per socket, 16 GB."""
    return HostTopology.from_counts(
        name="two-node-ht", sockets=2, cores_per_socket=2, threads_per_core=2, numa_nodes=2, memory_gb=16
    )


@pytest.fixture
def nfv_host() -> HostTopology:
    """The NFV platform host of the demo: 2 x 24 cores with HT, 2 nodes (``nfv-2x24-ht``)."""
    return PRESETS["nfv-2x24-ht"]


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator: tests pass randomness explicitly (DESIGN.md "Determinism")."""
    return np.random.default_rng(RNG_SEED)


# --- the CLI -------------------------------------------------------------------------------------


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]):
    """Run the vmksim CLI in-process; return (exit code, stdout, stderr)."""

    def _run(*argv: str) -> tuple[int, str, str]:
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse usage errors and --help
            code = int(exc.code or 0)
        out = capsys.readouterr()
        return code, out.out, out.err

    return _run


def sample_run(sampler, source, interval_us: int, count: int) -> list:
    """esxtop ``-b -d D -n N`` over *source* through the one simulation driver (kernel.drive)."""
    from vmksim.kernel import drive
    from vmksim.stats.observer import SampleObserver

    samples: list = []
    drive(source, [interval_us] * count, [SampleObserver(sampler, [samples.append])])
    return samples
