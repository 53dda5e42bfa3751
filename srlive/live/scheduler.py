"""The scheduler: sends events at absolute deadlines and closes every note it opens.

- Events (srlive.live.render.Event) carry absolute deadlines on the engine's clock. A thread waits on a
  condition until ``spin`` seconds before the next deadline, then spins the rest with tiny sleeps
  (each one releases the GIL, so the input callback thread is never starved).
- A note-on whose send time is later than ``max_late`` after its deadline is dropped and counted;
  a note-off is always sent.
- Every note it sends is tracked (channel, pitch, source). SWEEP events (one per bar, a hair
  before the bar line) close whatever that bar left open. ``all_notes_off()`` (mute, stop,
  exit) and ``panic()`` (also CC 123 All Notes Off on every channel used) close everything.
- With ``retime`` (``--sync``), an event that carries a clock position (``Event.pos``, in pulses)
  is sent at ``retime(pos)``, asked afresh while it is waited for: the smoothed MIDI clock's latest
  estimate, not the one made a bar earlier. Such events are queued in the order of their positions
  (through one fixed line from pulses to seconds, taken when the first is queued), not of the times
  they were given: those come from estimates a bar apart, and after a tempo change a bar's
  end-of-bar sweep, timed on the older one, would otherwise go out after the next bar's first notes
  and close them.
- ``offset`` (``--offset``, seconds) moves every scheduled send: an event goes out at its deadline
  plus ``offset`` (negative: early, to meet a DAW that records srlive late). It is added here, where
  deadlines become send times, so notes, note-offs, end-of-bar sweeps and metronome clicks move
  together (a retimed ``--sync`` deadline too); ``send_now`` (thru, live controls, panic) is never
  shifted. Lateness and ``--max-late`` are reckoned against the shifted send time: an event handed
  over after its send time has passed (a negative offset larger than the window's budget) is sent
  at once when a note-on is at most ``max_late`` behind it, dropped when later; note-offs always go.
- now() and sleep() are injectable: tests drive ``dispatch_due()`` on a fake clock.

``send(kind, channel, data1, data2, source)`` is the one output function (the port layer's, wrapped by the engine).
"""

from __future__ import annotations

import heapq
import itertools
import sys
import threading
import time
from typing import Callable

from srlive.live.render import CC, OFF, ON, SWEEP, Event

Send = Callable[[int, int, int, int, str], None]  # (kind, channel, data1, data2, source)
ALL_NOTES_OFF = 123

_STATUS = {ON: 0x90, OFF: 0x80, CC: 0xB0}

DEFAULT_MAX_LATE = 0.010  # seconds: a note-on later than this is dropped
DEFAULT_SPIN = 0.0015  # seconds before a deadline when waiting turns into spinning


def message_bytes(kind: int, channel: int, data1: int, data2: int) -> bytes:
    """The MIDI bytes of a note-on, note-off or control change."""
    return bytes([_STATUS[kind] | (channel & 0x0F), data1 & 0x7F, data2 & 0x7F])


class Scheduler:
    def __init__(self, send: Send, *, now: Callable[[], float] = time.perf_counter,
                 sleep: Callable[[float], None] = time.sleep, max_late: float = DEFAULT_MAX_LATE,
                 spin: float = DEFAULT_SPIN, on_sent: Callable[[Event, float], None] | None = None,
                 on_dropped: Callable[[Event, float], None] | None = None, realtime: bool = False,
                 retime: Callable[[float], float] | None = None, offset: float = 0.0):
        self._send = send
        self.now = now
        self.sleep = sleep
        self.max_late = float(max_late)
        self.spin = float(spin)
        self.on_sent = on_sent  # (event, send time) after each send
        self.on_dropped = on_dropped
        self._heap: list[tuple[float, int, int, Event]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition(threading.RLock())
        self.open: dict[tuple[int, int], str] = {}  # (channel, pitch) -> source
        self.channels_used: set[int] = set()
        self.sent = 0
        self.dropped = 0
        self.send_errors = 0
        self._stop = False
        self._thread: threading.Thread | None = None
        self._muted_sources: set[str] = set()
        self.realtime = realtime  # ask the OS for a real-time priority for the sending thread
        self.retime = retime
        self.offset = float(offset)  # seconds added to every deadline (negative: send early)
        self.priority = "normal"
        self._pulse_line: tuple[float, float, float] | None = None  # (pulse, its time, seconds a pulse): queue order
        self.firing: Event | None = None  # the event being sent, while send() runs for it (its grid place)

    # --- queue --------------------------------------------------------------------------------
    def add(self, events) -> None:
        with self._cond:
            for e in events:
                if e.kind == ON and e.source in self._muted_sources:
                    continue
                heapq.heappush(self._heap, (self._order(e), e.kind, next(self._seq), e))
            self._cond.notify_all()

    def _order(self, e: Event) -> float:
        """Where an event goes in the queue: its time, or (re-timed) its position on a fixed line."""
        if e.pos < 0 or self.retime is None:
            return e.time
        if self._pulse_line is None:
            try:
                t0 = self.retime(e.pos)
                self._pulse_line = (e.pos, t0, (self.retime(e.pos + 96) - t0) / 96)
            except Exception:  # no clock estimate: its given time
                return e.time
        p0, t0, period = self._pulse_line
        return t0 + (e.pos - p0) * period

    def pending(self) -> int:
        with self._cond:
            return len(self._heap)

    def _deadline(self, e: Event) -> float:
        """When ``e`` goes out: its deadline (retimed under --sync) plus the offset."""
        if e.pos >= 0 and self.retime is not None:
            try:
                return self.retime(e.pos) + self.offset
            except Exception:  # no clock estimate (stopped): keep the time it was given
                pass
        return e.time + self.offset

    def next_deadline(self) -> float | None:
        with self._cond:
            return self._deadline(self._heap[0][3]) if self._heap else None

    # --- sending ------------------------------------------------------------------------------
    def _out(self, kind: int, channel: int, data1: int, data2: int, source: str) -> bool:
        """Send one message and keep the open-note table; False if the port refused it."""
        try:
            self._send(kind, channel, data1, data2, source)
        except Exception:  # a port that went away: keep time, count it, the engine reports it
            self.send_errors += 1
            ok = False
        else:
            ok = True
        self.channels_used.add(channel)
        key = (channel, data1)
        if kind == ON and ok:
            self.open[key] = source
        elif kind == OFF:
            self.open.pop(key, None)
        return ok

    def send_now(self, kind: int, channel: int, data1: int, data2: int, source: str = "thru") -> None:
        """Send at once (thru, live controls), tracked like scheduled notes."""
        with self._cond:
            if kind == ON and data2 == 0:
                kind = OFF
            self._out(kind, channel, data1, data2, source)

    def _fire(self, e: Event, t: float, grid: Event | None = None) -> None:
        """Send `e` (its time: when it goes out, the offset included); `grid`, the same event at
        its place on the bar grid (without the offset), is what a take records."""
        self.firing = grid if grid is not None else e
        try:
            self._fire_one(e, t)
        finally:
            self.firing = None

    def _fire_one(self, e: Event, t: float) -> None:
        if e.kind == SWEEP:
            for (ch, pitch), src in list(self.open.items()):
                if src == e.source:
                    self._out(OFF, ch, pitch, 0, src)
            return
        if e.kind == ON and t - e.time > self.max_late:
            self.dropped += 1
            if self.on_dropped:
                self.on_dropped(e, t)
            return
        if self._out(e.kind, e.channel, e.data1, e.data2, e.source):
            self.sent += 1
            if self.on_sent:
                self.on_sent(e, t)

    def dispatch_due(self) -> int:
        """Send every event whose deadline has come; returns how many were handled."""
        n = 0
        with self._cond:
            while self._heap:
                e = self._heap[0][3]
                deadline = self._deadline(e)
                if deadline > self.now():
                    break
                heapq.heappop(self._heap)
                grid = deadline - self.offset
                self._fire(e if deadline == e.time else e._replace(time=deadline), self.now(),
                           e if grid == e.time else e._replace(time=grid))
                n += 1
        return n

    # --- closing ------------------------------------------------------------------------------
    def all_notes_off(self, source: str | None = None, drop_pending: bool = True) -> int:
        """Close every open note (of one source, or all); pending note-ons are dropped too."""
        with self._cond:
            if drop_pending:
                keep = [(d, k, s, e) for d, k, s, e in self._heap
                        if not (source is None or e.source == source) or e.kind == CC]
                self._heap = keep
                heapq.heapify(self._heap)
            closed = 0
            for (ch, pitch), src in list(self.open.items()):
                if source is None or src == source:
                    self._out(OFF, ch, pitch, 0, src)
                    closed += 1
            return closed

    def panic(self, channels=()) -> int:
        """Close everything and send CC 123 (All Notes Off) on every channel used."""
        with self._cond:
            closed = self.all_notes_off()
            for ch in sorted(self.channels_used | set(channels)):
                self._out(CC, ch, ALL_NOTES_OFF, 0, "panic")
            return closed

    def mute(self, source: str = "srlive", on: bool = True) -> None:
        with self._cond:
            if on:
                self._muted_sources.add(source)
                self.all_notes_off(source)
            else:
                self._muted_sources.discard(source)

    # --- the thread ---------------------------------------------------------------------------
    def run(self) -> None:
        """Loop until stop(): wait, then spin, then send what is due."""
        if self.realtime:
            self.priority = raise_priority()
        cond = self._cond
        while True:
            with cond:
                if self._stop:
                    return
                deadline = self._deadline(self._heap[0][3]) if self._heap else None
                gap = None if deadline is None else deadline - self.now()
                if gap is None or gap > self.spin:
                    cond.wait(timeout=0.05 if gap is None else min(gap - self.spin, 0.05))
                    continue
            # spin outside the lock, yielding the GIL each round
            while True:
                gap = deadline - self.now()
                if gap <= 0:
                    break
                self.sleep(0.0002 if gap > 0.0005 else 0)
            self.dispatch_due()

    def start(self) -> "Scheduler":
        self._thread = threading.Thread(target=self.run, name="srlive-scheduler", daemon=True)
        self._thread.start()
        return self

    def stop(self, panic: bool = True) -> None:
        """Stop the thread, then close every note (and CC 123 when ``panic``)."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=1.0)
        if panic:
            self.panic()
        else:
            self.all_notes_off()


def raise_priority(level: int = 20) -> str:
    """Best effort: SCHED_FIFO for the calling thread (Linux, with rtprio rights, e.g. the audio
    group JACK setups use), else a lower nice value, else nothing; none of it when the environment
    has SRLIVE_NO_REALTIME set. Returns what it got."""
    import os

    if os.environ.get("SRLIVE_NO_REALTIME"):  # opt out (e.g. to compare, or a kernel that misbehaves)
        return "normal"
    if not sys.platform.startswith("linux"):  # thread ids are not pids elsewhere: leave it to the OS
        return "normal"
    tid = threading.get_native_id()
    try:
        os.sched_setscheduler(tid, os.SCHED_FIFO, os.sched_param(level))
        return f"SCHED_FIFO {level}"
    except (AttributeError, OSError, PermissionError):
        pass
    try:
        os.setpriority(os.PRIO_PROCESS, tid, -10)
        return "nice -10"
    except (AttributeError, OSError, PermissionError):
        return "normal"

