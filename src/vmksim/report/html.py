"""One self-contained HTML page: plotly.js inlined once, figures, tables; no network at view time.

Peer tools either need a server (esxtop-grafana, esxtop-batch-data-visualizer)
or load a CDN script (esxtop.md §6); a report that must be mailed or opened on
an air-gapped jump host has to carry everything. plotly.js is written once in
the page head (``plotly.offline.get_plotlyjs``) and each figure is a ``div``
plus a call to ``Plotly.newPlot`` (``include_plotlyjs=False``). The file is
written atomically (vmksim.fileio): complete or absent.

Plotly is the ``report`` extra and is imported only here, on demand.
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from typing import Any

from vmksim.errors import MissingExtraError
from vmksim.fileio import atomic_write

__all__ = ["SIDE_WIDTH_PX", "Page", "plotly"]

#: Width of each of two figures shown side by side (fits a 1400-px window).
SIDE_WIDTH_PX = 620

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 28px; }
p.facts { color: #444; margin: 2px 0; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.critical { color: #b00020; font-weight: bold; } .warning { color: #b36b00; font-weight: bold; }
.info { color: #006b8f; } .good { color: #1b7f3b; } .bad { color: #b00020; }
.note { color: #666; font-size: 12px; }
.side { display: flex; gap: 16px; } .side > div { flex: 1; min-width: 0; }
"""


def plotly() -> Any:
    """The plotly package, or MissingExtraError naming the extra."""
    try:
        import plotly as _plotly
        import plotly.graph_objects
        import plotly.offline
    except ImportError:
        raise MissingExtraError("report", "--report") from None
    return _plotly


class Page:
    """Build a report page piece by piece, then :meth:`write` it."""

    def __init__(self, title: str) -> None:
        self._plotly = plotly()
        self.title = title
        self._parts: list[str] = []
        self._figures = 0

    def heading(self, text: str, level: int = 2) -> None:
        self._parts.append(f"<h{level}>{html.escape(text)}</h{level}>")

    def paragraph(self, text: str, css: str = "facts") -> None:
        self._parts.append(f'<p class="{css}">{html.escape(text)}</p>')

    def raw(self, markup: str) -> None:
        self._parts.append(markup)

    def figure_html(self, fig: Any) -> str:
        self._figures += 1
        return str(
            fig.to_html(
                full_html=False,
                include_plotlyjs=False,
                div_id=f"fig{self._figures}",
                config={"displaylogo": False, "responsive": True},
            )
        )

    def figure(self, fig: Any) -> None:
        self._parts.append(self.figure_html(fig))

    def side_by_side(self, figs: Sequence[Any], width: int = SIDE_WIDTH_PX) -> None:
        """Figures in one row, each of a fixed width (plotly's autosize misjudges flex columns)."""
        for f in figs:
            f.update_layout(width=width, autosize=False)
        self._parts.append(
            '<div class="side">' + "".join(f"<div>{self.figure_html(f)}</div>" for f in figs) + "</div>"
        )

    def table(
        self, header: Sequence[str], rows: Sequence[Sequence[Any]], *, classes: Sequence[str] = ()
    ) -> None:
        """A plain HTML table; numbers right-aligned; (text, css) tuples style a cell."""
        out = ["<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>"]
        for i, row in enumerate(rows):
            cls = f' class="{classes[i]}"' if i < len(classes) and classes[i] else ""
            cells = []
            for cell in row:
                css = ""
                if isinstance(cell, tuple):
                    cell, css = cell
                if isinstance(cell, int | float) and not isinstance(cell, bool):
                    css = (css + " num").strip()
                cells.append(
                    f'<td class="{css}">{html.escape(str(cell))}</td>'
                    if css
                    else f"<td>{html.escape(str(cell))}</td>"
                )
            out.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
        out.append("</table>")
        self._parts.append("".join(out))

    def render(self) -> str:
        js = self._plotly.offline.get_plotlyjs()
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(self.title)}</title><style>{_CSS}</style>"
            f'<script type="text/javascript">{js}</script></head><body>'
            f"<h1>{html.escape(self.title)}</h1>" + "\n".join(self._parts) + "</body></html>\n"
        )

    def write(self, path: str | os.PathLike[str]) -> None:
        text = self.render()
        with atomic_write(path, "w", encoding="utf-8") as fh:
            fh.write(text)
