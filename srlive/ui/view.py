"""The live view (``--view``): a small panel redrawn each bar, in place of the one-line status.

It shows the bar just heard and the answer about to play (before it sounds: the engine hands the
view its snapshot right after the answer is scheduled, half a step before the bar line) as a
compact piano roll, with the bar counter, tempo and clock source, model ms, lateness, skipped
and dropped.

Two parts:

- **Rendering is pure**: a ``ViewState`` (an immutable snapshot) and a terminal size in, a rich
  renderable out (``render``); ``render_text`` gives the same as plain text (tests, captures).
  The roll: one pitch per terminal row when the range fits the height, else two per row with
  half blocks (▀ upper pitch, ▄ lower, █ both); a column a sixteenth (16 a bar in 4/4, 12 in 3/4
  and 6/8) with ┊ between the meter's beats and │
  at the bar lines; C rows labelled (C4 = MIDI 60); the shade follows the velocity. The pitch
  range is the union of both bars' notes, padded by ``PAD`` and at least ``MIN_SPAN`` semitones,
  clipped to the height there is. Heard and answer side by side, one above the other when the
  terminal is narrow, the status text alone when it is narrower still.
- **LiveView** owns rich's ``Live`` and redraws from its own thread, never the scheduler's nor
  the engine's. ``submit(state)`` (the engine's sink) is a reference swap plus an event: it never
  blocks and keeps only the newest state. The thread redraws when a new state or message arrives
  or the terminal was resized (checked every ``RESIZE_POLL`` s), at most ``MAX_FPS`` times a
  second. ``Live`` runs with ``auto_refresh=False`` (no timer thread of rich's own: a redraw is
  only ever the view thread's doing), ``screen=False`` (no alternate screen: the messages above
  the panel and the scrollback stay) and ``transient=False`` (the last panel stays on the
  terminal after exit). ``close()`` stops the thread, draws the last state and hands the
  terminal back (cursor shown); srlive calls it on every way out, Ctrl-C included.
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from dataclasses import dataclass
from typing import Iterable

import numpy as np
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.text import Text

from srlive import roll
from srlive.contract import DEFAULT_METER, HIGHEST_PITCH, LOWEST_PITCH, METERS, Meter

PAD = 2  # semitones shown above the highest and below the lowest note
MIN_SPAN = 12  # at least an octave of pitches, so a single note is placed in context
EMPTY_RANGE = (60, 71)  # both bars silent: the octave from C4
MAX_ROWS = 24  # terminal rows a roll takes at most, however tall the terminal
LABEL_W = 4  # "C4  "
GAP = 3


def bar_width(meter: Meter) -> int:
    """Columns of one bar's roll: │ steps with ┊ between beats │."""
    return 1 + meter.steps + (meter.beats - 1) + 1


def side_width(meter: Meter) -> int:
    """Columns of the labels and the two rolls side by side."""
    return LABEL_W + 2 * bar_width(meter) + GAP


BAR_W = bar_width(METERS[DEFAULT_METER])  # a 4/4 bar
SIDE_W = side_width(METERS[DEFAULT_METER])
MAX_FPS = 10.0
RESIZE_POLL = 0.25  # seconds between looks at the terminal's size when nothing else happens
NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
COLOURS = {"heard": "yellow", "next": "cyan"}


def note_name(pitch: int) -> str:
    return f"{NAMES[pitch % 12]}{pitch // 12 - 1}"


def _frozen_roll(cells, steps: int) -> np.ndarray:
    a = np.array(roll.empty_roll(steps) if cells is None else cells, dtype=np.float32)
    a = a.reshape(roll.N_PITCHES, steps)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class ViewState:
    """What the view shows of one bar: bar ``bar`` (0-based, as the engine counts) was heard,
    ``answer`` will play in bar ``bar + 1``. The rolls are copied and read-only."""

    bar: int
    heard: np.ndarray
    answer: np.ndarray
    tempo: float
    source: str  # clock: "internal", "MIDI clock", "Link"
    model_ms: float | None
    late_ms: float | None  # the worst send of the bar that just ended, ms after its deadline
    skipped: int
    dropped: int
    mode: str
    muted: bool = False
    meter: Meter = METERS[DEFAULT_METER]

    def __post_init__(self):
        object.__setattr__(self, "heard", _frozen_roll(self.heard, self.meter.steps))
        object.__setattr__(self, "answer", _frozen_roll(self.answer, self.meter.steps))


# --- from the engine -------------------------------------------------------------------------
def snapshot(engine, bar: int, plan) -> ViewState:
    """The engine's state once bar ``bar``'s window closed and ``plan`` (bar+1's
    srlive.live.engine.BarPlan: its answer as it sounds) is scheduled.

    Reads the engine's attributes: ``heard`` (the roll quantised from bar's window),
    ``last_bar_lateness_ms``, ``clock`` (its ``name`` and ``tempo``), ``skipped``,
    ``scheduler.dropped``, ``settings.mode``, ``muted``, ``last_inference_ms``."""
    clock = engine.clock
    return ViewState(
        bar=bar, heard=engine.heard, answer=plan.answer,
        tempo=float(clock.tempo), source=clock.name, model_ms=engine.last_inference_ms,
        late_ms=engine.last_bar_lateness_ms, skipped=engine.skipped,
        dropped=engine.scheduler.dropped, mode=engine.settings.mode, muted=engine.muted, meter=engine.meter)


# --- pure rendering -----------------------------------------------------------------------------
def status_parts(s: ViewState) -> list[str]:
    ms = "-" if s.model_ms is None else f"{s.model_ms:.1f}"
    late = "-" if s.late_ms is None else f"{s.late_ms:.1f}"
    return [f"bar {s.bar + 1}", f"{s.tempo:.1f} BPM {s.source}", f"{s.mode}{' (muted)' if s.muted else ''}",
            f"model {ms} ms", f"late {late} ms", f"skipped {s.skipped}", f"dropped {s.dropped}"]


def status_lines(s: ViewState, width: int) -> list[str]:
    """The status parts joined by " | ", as many to a line as ``width`` holds."""
    lines: list[str] = []
    for part in status_parts(s):
        if lines and len(lines[-1]) + 3 + len(part) <= width:
            lines[-1] += " | " + part
        else:
            lines.append(part)
    return lines


def pitch_range(rolls: Iterable[np.ndarray], max_pitches: int) -> tuple[int, int]:
    """(lowest, highest) MIDI pitch to show: every sounding pitch of ``rolls``, padded, at least
    MIN_SPAN, at most ``max_pitches`` (then centred on the notes), inside the keyboard."""
    rows = np.flatnonzero(np.any([np.asarray(r).max(axis=1) > 0 for r in rolls], axis=0))
    if rows.size:
        lo, hi = int(rows[0]) + LOWEST_PITCH - PAD, int(rows[-1]) + LOWEST_PITCH + PAD
    else:
        lo, hi = EMPTY_RANGE
    want = min(max(hi - lo + 1, MIN_SPAN), max(int(max_pitches), 1))
    centre = (lo + hi + 1) // 2
    lo = centre - want // 2
    lo = min(max(lo, LOWEST_PITCH), HIGHEST_PITCH - want + 1)
    return lo, lo + want - 1


def _shade(value: float, colour: str) -> str:
    if value >= 0.8:
        return f"bold {colour}"
    return colour if value >= 0.45 else f"dim {colour}"


def roll_lines(cells: np.ndarray, lo: int, hi: int, per_row: int, colour: str,
               meter: Meter = METERS[DEFAULT_METER]) -> list[Text]:
    """The roll's pitches hi..lo as terminal lines, highest first, ``per_row`` (1 or 2) a line,
    with ┊ before each of the meter's beats but the first."""
    beats = set(meter.beat_steps[1:])
    lines = []
    for top in range(hi, lo - 1, -per_row):
        pitches = [p for p in range(top, top - per_row, -1) if p >= lo]
        vals = cells[[p - LOWEST_PITCH for p in pitches]]  # (1 or 2, steps)
        line = Text("│", style="grey50")
        for k in range(cells.shape[1]):
            if k in beats:
                line.append("┊", style="grey35")
            v = vals[:, k]
            if per_row == 1:
                glyph = "█" if v[0] > 0 else " "
            else:
                upper, lower = v[0] > 0, len(v) > 1 and v[1] > 0
                glyph = "█" if upper and lower else "▀" if upper else "▄" if lower else " "
            line.append(glyph, style=_shade(float(v.max()), colour) if glyph != " " else None)
        line.append("│", style="grey50")
        lines.append(line)
    return lines


def label_lines(lo: int, hi: int, per_row: int) -> list[Text]:
    out = []
    for top in range(hi, lo - 1, -per_row):
        c = [p for p in range(top, max(top - per_row, lo - 1), -1) if p % 12 == 0]
        out.append(Text(f"{note_name(c[0]) if c else '':<{LABEL_W}}", style="grey62"))
    return out


def _title(name: str, bar: int, s: ViewState) -> Text:
    extra = " (muted)" if name == "next" and s.muted else ""
    return Text(f"{name} · bar {bar + 1}{extra}", style=f"bold {COLOURS[name]}")


def render(s: ViewState, width: int, height: int) -> RenderableType:
    """The panel for ``s`` in a terminal ``width`` × ``height`` (cells): side by side when it is
    wide enough, stacked when narrower, the status text alone when narrower or lower still."""
    inner_w, inner_h = width - 4, height - 2  # the panel's border and padding
    bar_w, side_w = bar_width(s.meter), side_width(s.meter)
    side = inner_w >= side_w
    stacked = not side and inner_w >= LABEL_W + bar_w
    header = Text("\n".join(status_lines(s, side_w if side else inner_w)))  # as wide as the rolls: a small panel
    header_h = len(header.split())
    rows = inner_h - header_h - (1 if side else 2)  # a title line above each roll
    rows = min(rows if side else rows // 2, MAX_ROWS)
    if not (side or stacked) or rows < 2:
        return Panel(header, title="srlive", title_align="left", padding=(0, 1))
    lo, hi = pitch_range((s.heard, s.answer), 2 * rows)
    per_row = 1 if hi - lo + 1 <= rows else 2
    labels = label_lines(lo, hi, per_row)
    heard = roll_lines(s.heard, lo, hi, per_row, COLOURS["heard"], s.meter)
    answer = roll_lines(s.answer, lo, hi, per_row, COLOURS["next"], s.meter)
    blank = Text(" " * LABEL_W)
    if side:
        titles = blank + _title("heard", s.bar, s)
        titles.pad_right(LABEL_W + bar_w + GAP - len(titles))
        body = [titles + _title("next", s.bar + 1, s)]
        body += [lab + h + Text(" " * GAP) + a for lab, h, a in zip(labels, heard, answer)]
    else:
        body = [blank + _title("heard", s.bar, s)] + [lab + h for lab, h in zip(labels, heard)]
        body += [blank + _title("next", s.bar + 1, s)] + [lab + a for lab, a in zip(labels, answer)]
    for line in body:
        line.no_wrap, line.overflow = True, "crop"
    return Panel(Group(header, *body), title="srlive", title_align="left", padding=(0, 1), expand=False)


def render_text(s: ViewState, width: int, height: int) -> str:
    """``render`` as plain text, as a ``width``-column terminal shows it."""
    console = Console(width=width, height=height, record=True, file=_Null(), color_system=None)
    console.print(render(s, width, height))
    return console.export_text()


class _Null:
    def write(self, _text: str) -> int:
        return 0

    def flush(self) -> None:
        pass


# --- the terminal ----------------------------------------------------------------------------
class LiveView:
    """rich's Live on a thread of its own; ``submit`` is the engine's never-blocking sink, and
    ``print``/``close`` make it the engine's status too (messages are printed above the panel)."""

    def __init__(self, console: Console | None = None, *, interval: float = 1.0 / MAX_FPS,
                 resize_poll: float = RESIZE_POLL):
        self.console = console if console is not None else Console(stderr=True)
        self.interval = interval
        self.resize_poll = resize_poll
        self._state: ViewState | None = None  # the newest snapshot (a reference swap, no lock)
        self._messages: deque[str] = deque()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._drawn: tuple | None = None  # (state, size) last drawn
        self._live: Live | None = None
        self._thread: threading.Thread | None = None
        self.draws = 0

    # the engine's side: never blocks, never draws
    def submit(self, state: ViewState) -> None:
        self._state = state
        self._wake.set()

    __call__ = submit

    def print(self, message: str) -> None:
        if self._live is None:
            print(message, file=sys.stderr, flush=True)
            return
        self._messages.append(message)
        self._wake.set()

    def update(self, _engine) -> None:
        """The one-line status's per-bar call: the view draws what ``submit`` hands it instead."""

    # the view's side
    def start(self, thread: bool = True) -> "LiveView":
        """Take the terminal (``Live``) and, unless ``thread=False`` (tests draw by hand), start drawing."""
        if self._live is not None:
            return self
        self._live = Live(Text(""), console=self.console, auto_refresh=False, screen=False, transient=False,
                          redirect_stdout=True, redirect_stderr=True)
        self._live.start()
        if thread:
            self._thread = threading.Thread(target=self._run, name="srlive-view", daemon=True)
            self._thread.start()
        return self

    def draw(self) -> bool:
        """Print waiting messages, then redraw when the state or the terminal's size changed.
        True when it redrew. Only the view's thread (or a test, with no thread) calls it."""
        live = self._live
        if live is None:
            return False
        while self._messages:
            live.console.print(self._messages.popleft(), highlight=False, markup=False)
        state, size = self._state, self.console.size
        if state is None or self._drawn == (state, size):
            return False
        self._drawn = (state, size)
        live.update(render(state, size.width, size.height), refresh=True)
        self.draws += 1
        return True

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.resize_poll)
            self._wake.clear()
            if self._stopping.is_set():
                break
            try:
                if self.draw():
                    self._stopping.wait(self.interval)  # at most 1/interval redraws a second
            except Exception as e:  # a drawing problem must never take the session down
                self._messages.append(f"srlive: the view stopped drawing ({type(e).__name__}: {e})")
                break

    def close(self) -> None:
        """Stop the thread, draw the last state and messages, and give the terminal back. Idempotent."""
        self._stopping.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)
        live = self._live
        if live is None:
            return
        try:
            self.draw()
        finally:
            self._live = None
            live.stop()

    stop = close

    def __enter__(self) -> "LiveView":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


def view_wanted(setting: bool | None, stream=None) -> bool:
    """--view / --no-view, or (None, not given) on when ``stream`` (stderr, where it draws) is a terminal."""
    if setting is not None:
        return bool(setting)
    stream = sys.stderr if stream is None else stream
    return bool(getattr(stream, "isatty", lambda: False)())


def terminal_view(forced: bool) -> LiveView:
    """The view on stderr; ``forced`` (--view given) draws even when stderr is not a terminal."""
    return LiveView(Console(stderr=True, force_terminal=True if forced else None))
