"""esxtop's formats: the batch CSV writer and reader, entity files (and the TUI in :mod:`.app`).

ESXi counterpart: ``esxtop -b`` output (PDH-CSV, esxtop.md §1.3), its
``--export-entity`` / ``--import-entity`` files (§1.2) and the interactive
screens (§3). The TUI needs the ``tui`` extra and is imported on demand.
"""

from __future__ import annotations

from vmksim.esxtop.entities import Entities, format_entities, parse_entities
from vmksim.esxtop.reader import CaptureReader, CaptureWarning, read_capture
from vmksim.esxtop.writer import PDH_HEADER, TIME_FORMAT, BatchWriter, write_batch

__all__ = [
    "PDH_HEADER",
    "TIME_FORMAT",
    "BatchWriter",
    "CaptureReader",
    "CaptureWarning",
    "Entities",
    "format_entities",
    "parse_entities",
    "read_capture",
    "write_batch",
]
