"""Parquet export needs only vmksim's core dependencies (QA item 8): pyarrow is one of them.

`make demo` installs the tui and report extras, not `data`; `capture convert --parquet` must work
there. pandas / polars frames still need the `data` extra.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CAPTURE = ROOT / "tests" / "fixtures" / "esxtop" / "names.csv"

#: Runs the CLI with the `data` extra's packages not installed (imports of them fail as if absent).
_WITHOUT_DATA_EXTRA = """
import importlib.abc, sys
class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("pandas", "polars"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, NotInstalled())
from vmksim.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_capture_convert_to_parquet_works_without_the_data_extra(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    out = tmp_path / "names.parquet"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _WITHOUT_DATA_EXTRA,
            "capture",
            "convert",
            str(CAPTURE),
            "--parquet",
            str(out),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "extra" not in proc.stderr
    table = pq.read_table(out)
    assert table.num_rows > 0 and {"time", "object", "counter", "value"} <= set(table.column_names)


def test_a_missing_pyarrow_is_a_broken_install_not_a_missing_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from vmksim.errors import MissingExtraError, VmksimError
    from vmksim.stats import export

    monkeypatch.setitem(sys.modules, "pyarrow", None)  # `import pyarrow` now fails
    with pytest.raises(VmksimError) as info:
        export._pyarrow()
    assert not isinstance(info.value, MissingExtraError) and "a dependency of vmksim" in str(info.value)
