"""``vmksim top``'s interactive screen: an esxtop look-alike drawn with Textual.

ESXi counterpart: interactive esxtop (esxtop.md §3): header lines over a
table, one panel at a time, switched and tuned with single keys. Every key is
one row of :data:`KEYS` (a binding table, not a key handler); panels come
from :data:`vmksim.esxtop.screens.PANELS`; data comes from a
:class:`~vmksim.esxtop.feed.Feed`, so a simulation and a replayed capture
drive the same screens.

Simplifications: esxtop's ``s`` and ``#`` read a number at the bottom line;
here they open a small prompt. ``P`` pauses and the arrow keys step through
samples (replay has no such keys in esxtop; they are vmksim's). ``W``
(write rc file) and ``k`` (kill a world) are not offered.
"""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import DataTable, Input, SelectionList, Static
from textual.widgets.selection_list import Selection

from vmksim.esxtop.feed import Feed
from vmksim.esxtop.screens import (
    PANELS,
    FieldGroup,
    Frame,
    Topology,
    ViewState,
    field_groups,
    field_menu,
    missing_note,
    render,
    reorder,
)
from vmksim.metrics import Panel

__all__ = ["KEYS", "TopApp"]

#: (key, action, what it does) — the help screen is generated from this table too.
KEYS: tuple[tuple[str, str, str], ...] = (
    ("c", "panel('c')", "CPU panel"),
    ("m", "panel('m')", "memory panel (with NUMA fields)"),
    ("p", "panel('p')", "power panel"),
    ("i", "panel('i')", "interrupt panel"),
    ("V", "toggle_vms", "show only VMs"),
    ("e", "expand", "expand / collapse the highlighted group into its worlds"),
    ("f", "fields", "choose field groups"),
    ("o", "order", "change the order of field groups"),
    ("U", "sort('U')", "sort by %USED (CPU)"),
    ("R", "sort('R')", "sort by %RDY (CPU)"),
    ("M", "sort('M')", "sort by MEMSZ (memory)"),
    ("B", "sort('B')", "sort by MCTLSZ (memory)"),
    ("N", "sort('N')", "sort by id"),
    ("number_sign", "limit", "limit the number of rows (#)"),
    ("s", "delay", "set the delay between samples"),
    ("space", "refresh", "next sample now"),
    ("P", "pause", "pause / resume"),
    ("2", "", "highlight the next row (also down)"),
    ("8", "", "highlight the previous row (also up)"),
    ("right", "step(1)", "replay: one sample forward"),
    ("left", "step(-1)", "replay: one sample back"),
    ("h", "help", "this help"),
    ("question_mark", "help", "this help"),
    ("q", "quit", "quit"),
)


class Rows(DataTable[str], inherit_bindings=False):
    """The table, moving its highlight up and down only: left/right step through samples."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,8", "cursor_up", "up", show=False),
        Binding("down,2", "cursor_down", "down", show=False),
        Binding("pageup", "page_up", "page up", show=False),
        Binding("pagedown", "page_down", "page down", show=False),
        Binding("home", "scroll_top", "top", show=False),
        Binding("end", "scroll_bottom", "bottom", show=False),
    ]


class AskScreen(ModalScreen[str | None]):
    """A one-line prompt (esxtop reads numbers on its bottom line)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "cancel")]

    def __init__(self, prompt: str) -> None:
        super().__init__()
        self._prompt = prompt

    def compose(self) -> ComposeResult:
        with Vertical(id="ask"):
            yield Static(self._prompt)
            yield Input(id="answer")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class FieldsScreen(ModalScreen[set[str] | None]):
    """esxtop's ``f``: every field group of the panel, with esxtop's letter; the ones the data has
    toggle on and off (space toggles, f or escape closes), the others are listed, disabled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,f", "done", "done")]

    def __init__(self, menu: list[FieldGroup], hidden: set[str]) -> None:
        super().__init__()
        self._menu = menu
        self._hidden = hidden

    def compose(self) -> ComposeResult:
        with Vertical(id="fields"):
            yield Static("Fields: up/down move, space toggles, f or escape returns")
            options = [
                Selection(
                    f.label, f.group, f.available and f.group not in self._hidden, disabled=not f.available
                )
                for f in self._menu
            ]
            yield SelectionList[str](*options, id="choice")

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()

    def action_done(self) -> None:
        shown = set(self.query_one(SelectionList).selected)
        self.dismiss({f.group for f in self._menu if f.available and f.group not in shown})


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,h,q,question_mark,enter", "close", "close")]

    def compose(self) -> ComposeResult:
        names = {"number_sign": "#", "question_mark": "?", "space": "space"}
        text = "\n".join(f"  {names.get(k, k):>6}  {what}" for k, _a, what in KEYS)
        yield Static("vmksim top — esxtop keys\n\n" + text + "\n\nany of h, q, escape closes", id="help")

    def action_close(self) -> None:
        self.dismiss(None)


class TopApp(App[None]):
    """Header + table, redrawn for each sample the feed gives."""

    TITLE = "vmksim top"
    CSS = """
    #header { height: auto; }
    #status { height: 1; background: $panel; }
    #table { height: 1fr; }
    #ask, #fields, #help { width: 76; height: auto; border: solid $accent; background: $surface; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding(k, a, d, show=False) for k, a, d in KEYS if a]

    def __init__(self, feed: Feed, *, delay: float = 5.0, autoplay: bool = True) -> None:
        super().__init__()
        self.feed = feed
        self.delay = delay
        self.state = ViewState()
        self.paused = not autoplay
        self.topo = Topology.of(feed.columns)
        self._timer: Timer | None = None
        self._cursor_key: str | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="header")
        yield Rows(id="table", cursor_type="row", zebra_stripes=False)
        yield Static(id="status")

    def on_mount(self) -> None:
        self._timer = self.set_interval(self.delay, self._tick, pause=self.paused)
        self.redraw()

    # --- drawing -------------------------------------------------------------
    def frame(self) -> Frame | None:
        current, first = self.feed.current, self.feed.first
        if current is None or first is None:
            return None
        interval = self.feed.interval or timedelta(seconds=self.delay)
        return Frame(self.topo, current.values, current.time, first.time, interval)

    def redraw(self) -> None:
        table = self.query_one(DataTable)
        header = self.query_one("#header", Static)
        frame = self.frame()
        if frame is None:
            header.update("no samples")
            return
        screen = render(frame, self.state)
        header.update("\n".join(screen.header))
        if table.row_count and table.cursor_row < table.row_count:
            self._cursor_key = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        table.clear(columns=True)
        table.add_columns(*screen.columns)
        for row in screen.rows:
            table.add_row(*row.cells, key=row.key)
        if self._cursor_key is not None:
            keys = [r.key for r in screen.rows]
            if self._cursor_key in keys:
                table.move_cursor(row=keys.index(self._cursor_key))
        self._status()

    def _status(self) -> None:
        spec = PANELS[self.state.panel.value]
        mode = "paused" if self.paused else f"every {self.delay:g}s"
        limit = f", {self.state.limit} rows" if self.state.limit else ""
        vms = ", VMs only" if self.state.vms_only else ""
        self.query_one("#status", Static).update(
            f"{spec.title} | {self.feed.label()} | {mode}{vms}{limit} | {self.feed.title} | h help"
        )

    def _tick(self) -> None:
        if self.feed.forward():
            self.redraw()
        else:
            self._status()

    # --- actions (one per row of KEYS) -------------------------------------------------
    def action_panel(self, key: str) -> None:
        note = missing_note(PANELS[key], self.topo)
        if note is not None:  # an empty table with a header would look broken: stay, and say why
            self.notify(note, severity="warning")
            return
        self.state.panel = Panel(key)
        self._cursor_key = None
        self.redraw()

    def action_toggle_vms(self) -> None:
        self.state.vms_only = not self.state.vms_only
        self.redraw()

    def action_expand(self) -> None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return
        key = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        self.state.expanded.symmetric_difference_update({key})
        self.redraw()

    def action_sort(self, letter: str) -> None:
        spec = PANELS[self.state.panel.value]
        if letter in spec.sort_keys:
            self.state.sort[spec.panel] = spec.sort_keys[letter]
            self.redraw()

    def action_fields(self) -> None:
        spec = PANELS[self.state.panel.value]

        def done(hidden: set[str] | None) -> None:
            if hidden is not None:
                self.state.hidden = {
                    h for h in self.state.hidden if h not in field_groups(spec, self.topo)
                } | hidden
                self.redraw()

        self.push_screen(FieldsScreen(field_menu(spec, self.topo), self.state.hidden), done)

    def action_order(self) -> None:
        spec = PANELS[self.state.panel.value]
        groups = field_groups(spec, self.topo, self.state.order.get(spec.panel, ()))
        listing = ", ".join(f"{chr(ord('A') + i)} {g}" for i, g in enumerate(groups))

        def done(answer: str | None) -> None:
            if not answer:
                return
            order = reorder(groups, answer)
            if isinstance(order, str):
                self.notify(order, severity="warning")
                return
            self.state.order[spec.panel] = order
            self.redraw()

        self.push_screen(AskScreen(f"Field order: {listing}.\nType letters to move first, in order:"), done)

    def action_limit(self) -> None:
        def done(answer: str | None) -> None:
            if answer is None:
                return
            answer = answer.strip()
            self.state.limit = int(answer) if answer.isdigit() and int(answer) > 0 else None
            self.redraw()

        self.push_screen(AskScreen("Number of rows to show (empty or 0: all):"), done)

    def action_delay(self) -> None:
        def done(answer: str | None) -> None:
            try:
                value = float(answer or "")
            except ValueError:
                self.notify(f"not a number of seconds: {answer!r}", severity="warning")
                return
            if value <= 0:
                self.notify("the delay must be positive", severity="warning")
                return
            self.delay = value
            if self._timer is not None:
                self._timer.stop()
            self._timer = self.set_interval(self.delay, self._tick, pause=self.paused)
            self._status()

        self.push_screen(AskScreen(f"Delay between samples in seconds (now {self.delay:g}):"), done)

    def action_refresh(self) -> None:
        self._tick()

    def action_pause(self) -> None:
        self.paused = not self.paused
        if self._timer is not None:
            if self.paused:
                self._timer.pause()
            else:
                self._timer.resume()
        self._status()

    def action_step(self, direction: int) -> None:
        moved = self.feed.forward() if direction > 0 else self.feed.back()
        if moved:
            self.redraw()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())
