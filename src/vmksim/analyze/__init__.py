"""Offline analysis of esxtop batch captures (real or simulated): facts, findings, summaries.

``analyze_file(path)`` reads the columns it needs (:mod:`.facts`), applies the
rules of :mod:`.findings` with the :class:`.Thresholds` and returns an
:class:`.Analysis` (JSON-able); :mod:`vmksim.report` renders it as HTML.
"""

from __future__ import annotations

from vmksim.analyze.facts import CaptureData, HostFacts, VmFacts, load_capture
from vmksim.analyze.findings import Finding, Severity, find
from vmksim.analyze.summary import Analysis, HostSummary, VmSummary, analyze, analyze_file
from vmksim.analyze.thresholds import Thresholds

__all__ = [
    "Analysis",
    "CaptureData",
    "Finding",
    "HostFacts",
    "HostSummary",
    "Severity",
    "Thresholds",
    "VmFacts",
    "VmSummary",
    "analyze",
    "analyze_file",
    "find",
    "load_capture",
]
