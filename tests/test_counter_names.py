"""The analyzer names esxtop counters only through the catalogue (issue 12 item 7).

vmksim.metrics is the one table of counter names; vmksim.analyze.counters looks
the analyzer's counters up in it once. A string literal elsewhere in
vmksim/analyze that equals a catalogue counter name would be a second spelling
that a catalogue change would silently leave behind.
"""

from __future__ import annotations

import ast
from pathlib import Path

import vmksim.analyze
from vmksim.analyze.facts import COUNTERS
from vmksim.metrics import CATALOGUE

ANALYZE = Path(vmksim.analyze.__file__).parent
NAMES = frozenset(m.counter for m in CATALOGUE)


def raw_counter_names(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string literal in *source* equal to a catalogue counter name."""
    return [
        (node.lineno, node.value)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in NAMES
    ]


def test_scan_finds_a_raw_counter_name() -> None:
    # The scan must be able to fail: a raw name in a call, a tuple and a comparison is caught,
    # one inside longer text (a message, a docstring) is not a counter name.
    src = 'x = f("% Ready")\ny = ("Physical Cpu", "Alloc Shares")\nz = "the % Ready counter"\n'
    assert raw_counter_names(src) == [(1, "% Ready"), (2, "Physical Cpu"), (2, "Alloc Shares")]


def test_no_raw_counter_names_in_analyze() -> None:
    files = [p for p in sorted(ANALYZE.rglob("*.py")) if p.name != "counters.py"]
    assert len(files) > 3  # the package was found
    found = [f"{p.name}:{line}: {text!r}" for p in files for line, text in raw_counter_names(p.read_text())]
    assert found == [], "use vmksim.analyze.counters instead of: " + "; ".join(found)


def test_the_columns_the_analyzer_reads_are_catalogue_counters() -> None:
    catalogue = {(m.object.value, m.counter) for m in CATALOGUE}
    assert set(COUNTERS) <= catalogue
    assert len(set(COUNTERS)) == len(COUNTERS)
