"""LinkClock (``--link``): srlive's bars on an Ableton Link session's bars.

A BarClock (srlive.clocks.bar_clock), driven by a Link session with quantum = one bar (``meter.quarters`` beats: 4 in 4/4, 3 in
3/4 and in 6/8, whose bar is three quarter notes long):

- Bar lines. Link numbers beats on a local timeline whose phase modulo the quantum is shared by
  every peer, so local beats that are multiples of the quantum are the peers' bar lines. srlive's
  bar 0 is the first such beat at least ``lead`` seconds after srlive joined (room for solo's first
  bar), or, when start/stop sync says the session starts playing, the session's first bar line at
  or after the start (Link maps local beat 0 there). If the local numbering jumps by whole bars
  (two sessions merging), srlive keeps counting its own bars on; a jump of a fraction of a bar (a
  peer forcing the beat) is followed, so the bar lines stay on the peers'.
- Tempo. Every answer is computed from the session's timeline read afresh (beat, tempo and Link
  time together), so a tempo change by any peer moves every later ``time_at`` at once; the engine
  asks per event, so notes already planned follow it too.
- Time base. Link keeps its own monotonic host clock (microseconds; on Linux CLOCK_MONOTONIC_RAW,
  which NTP does not slew), the engine keeps time.perf_counter() seconds (CLOCK_MONOTONIC). The
  offset between them is measured on start as the tightest of several brackets
  perf → Link → perf (error about half the bracket, a microsecond or two) and measured again every
  ``recheck`` seconds, since the two clocks may drift apart by up to the NTP slew (≤ 0.5 ms/s).
- Joining. After enabling, srlive waits up to ``settle`` seconds for a peer. With a peer it takes
  the session's tempo and bars; alone, its peer starts the session and proposes ``tempo``
  (``--tempo``). Link offers no way to tell a session just found from one still being merged, so
  bar 0 is set ``join_settle`` seconds after the first peer shows up.
- Start/stop sync is enabled. Once the session is seen playing (a peer uses start/stop), srlive
  plays while the session plays: ``running`` follows it, ``on_stop()`` on stop, and on start a
  new ``generation`` with bar 0 at the start (``on_start(0)``). Until then srlive plays freely.

The Link session is injected (``session``): AalinkSession wraps aalink (GPL, the ``link`` extra)
for real use; tests drive a fake. ``poll()`` does the periodic work (offset re-check, start/stop,
joining) and is called by a thread ``start()`` runs, or by tests on a fake clock.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Callable, NamedTuple, Protocol

from srlive.contract import DEFAULT_METER, METERS, Meter

QUANTUM = METERS[DEFAULT_METER].quarters  # a 4/4 bar: 4 beats
INSTALL_HINT = 'pip install ".[link]"'


class Snapshot(NamedTuple):
    """The session's timeline at one instant: Link time (µs), local beat and tempo there."""

    micros: float
    beat: float
    tempo: float


class LinkSession(Protocol):
    """What LinkClock needs of a Link session (AalinkSession, or a fake in tests)."""

    def enable(self) -> None: ...
    def close(self) -> None: ...
    def micros(self) -> float: ...
    def snapshot(self) -> Snapshot: ...
    def num_peers(self) -> int: ...
    def playing(self) -> bool: ...
    def propose_tempo(self, bpm: float) -> None: ...
    def beat_zero_at_start(self) -> None: ...


def measure_offset(now: Callable[[], float], micros: Callable[[], float], tries: int = 9) -> float:
    """now() − Link seconds, from the tightest bracket now → micros → now of ``tries``."""
    best = (math.inf, 0.0)
    for _ in range(tries):
        a = now()
        m = micros()
        b = now()
        best = min(best, (b - a, (a + b) / 2 - m / 1e6))
    return best[1]


def time_of_beat(snap: Snapshot, beat: float, offset: float) -> float:
    """The engine-clock time of local beat ``beat`` on the timeline ``snap`` describes."""
    return snap.micros / 1e6 + (beat - snap.beat) * 60.0 / snap.tempo + offset


def beat_at_time(snap: Snapshot, t: float, offset: float) -> float:
    return snap.beat + (t - offset - snap.micros / 1e6) * snap.tempo / 60.0


def first_bar_line(beat: float, quantum: float = QUANTUM) -> float:
    """The first bar line (a multiple of the quantum) at or after ``beat``."""
    return math.ceil(beat / quantum - 1e-9) * quantum


class LinkClock:
    """A bar clock on a Link session; see the module's docstring."""

    name = "Link"
    external = True  # the session starts and stops it (start/stop sync), not the engine
    bends = True  # any peer's tempo change moves the bar lines still to come

    def __init__(self, session: LinkSession, tempo: float | None = None, *,
                 now: Callable[[], float] = time.perf_counter, settle: float = 1.0, join_settle: float = 0.3,
                 lead: float = 0.25, recheck: float = 1.0, on_start: Callable[[int], None] | None = None,
                 on_stop: Callable[[], None] | None = None, meter: Meter = METERS[DEFAULT_METER]):
        self.session = session
        self.meter = meter
        self.quantum = meter.quarters  # Link beats (quarter notes) in a bar
        self.proposed = tempo
        self.now = now
        self.settle, self.join_settle, self.lead, self.recheck = settle, join_settle, lead, recheck
        self.on_start, self.on_stop = on_start, on_stop
        self.generation = 0
        self.offset = 0.0  # engine clock − Link clock, seconds
        self.bar0: float | None = None  # local beat of srlive's bar 0
        self.started_session = False  # srlive's peer started the session (and proposed --tempo)
        self.follows_start_stop = False
        self._playing = False
        self._enabled_at: float | None = None
        self._peers_at: float | None = None
        self._checked_at = -math.inf
        self._last: Snapshot | None = None
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- life -----------------------------------------------------------------------------------
    def enable(self) -> None:
        """Join (or start) the session; the bars come once ``poll`` has settled them."""
        self.session.enable()
        self._enabled_at = self.now()
        self._check_offset(self._enabled_at)

    def join(self, period: float = 0.002) -> None:
        """enable() and a daemon thread that polls every ``period`` seconds."""
        self.enable()
        self._thread = threading.Thread(target=self._run, args=(period,), name="srlive-link", daemon=True)
        self._thread.start()

    def _run(self, period: float) -> None:
        while not self._stop.wait(period):
            self.poll()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        self.session.close()

    # --- periodic work ----------------------------------------------------------------------------
    def _check_offset(self, t: float) -> None:
        self.offset = measure_offset(self.now, self.session.micros)
        self._checked_at = t

    def poll(self) -> None:
        """Re-check the offset, settle bar 0 after joining, follow start/stop."""
        t = self.now()
        if t - self._checked_at >= self.recheck:
            self._check_offset(t)
        event = None
        with self._lock:
            self._snapshot()  # keeps the bar count through jumps of the local numbering
            if self.bar0 is None and self._enabled_at is not None:
                self._settle(t)
            playing = bool(self.session.playing())
            if playing != self._playing:
                self._playing = playing
                if playing:
                    self.follows_start_stop = True
                    self.session.beat_zero_at_start()  # local beat 0 = the session's start bar line
                    self._last = None
                    self.bar0 = 0.0
                    self.generation += 1
                    event = "start"
                elif self.follows_start_stop:
                    event = "stop"
        if event == "start" and self.on_start:
            self.on_start(0)
        elif event == "stop" and self.on_stop:
            self.on_stop()

    def _settle(self, t: float) -> None:
        if self.session.num_peers() > 0:
            if self._peers_at is None:
                self._peers_at = t
            if t - self._peers_at < self.join_settle:
                return
        elif t - self._enabled_at < self.settle:
            return
        else:
            self.started_session = True
            if self.proposed is not None:
                self.session.propose_tempo(float(self.proposed))
                self._last = None
        snap = self._snapshot()
        soon = beat_at_time(snap, t + self.lead, self.offset)
        self.bar0 = first_bar_line(soon, self.quantum)
        self.generation += 1

    def _snapshot(self) -> Snapshot:
        """The session's timeline now; a jump of the local numbering by whole bars moves bar0 along."""
        snap = self.session.snapshot()
        last = self._last
        if last is not None and self.bar0 is not None:
            expected = last.beat + (snap.micros - last.micros) / 1e6 * last.tempo / 60.0
            bars = round((snap.beat - expected) / self.quantum)
            if bars:
                self.bar0 += bars * self.quantum
        self._last = snap
        return snap

    # --- answers ----------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """False only while a session that uses start/stop sync is stopped."""
        return self._playing or not self.follows_start_stop

    @property
    def ready(self) -> bool:
        return self.bar0 is not None and self.running

    @property
    def tempo(self) -> float:
        return float(self.session.snapshot().tempo)

    def time_of_beat(self, beat: float) -> float:
        """Engine-clock time of srlive's beat ``beat`` (0 = bar 0's downbeat)."""
        with self._lock:
            if self.bar0 is None:
                raise RuntimeError("no Link session yet")
            return time_of_beat(self._snapshot(), self.bar0 + beat, self.offset)

    def time_at(self, bar: int, step: float = 0.0) -> float:
        return self.time_of_beat((bar + step / self.meter.steps) * self.quantum)

    def time_of_pulse(self, pulse: float) -> float:
        return self.time_of_beat(pulse / self.meter.pulses * self.quantum)

    @property
    def pulse_zero(self) -> float | None:
        return self.time_at(0) if self.bar0 is not None else None

    def step_len(self, bar: int) -> float:
        return 60.0 * self.quantum / (self.tempo * self.meter.steps)

    def beat_at(self, t: float) -> float:
        """srlive's beat at engine-clock time t (0 = bar 0's downbeat)."""
        with self._lock:
            if self.bar0 is None:
                raise RuntimeError("no Link session yet")
            return beat_at_time(self._snapshot(), t, self.offset) - self.bar0

    def bar_at(self, t: float) -> int:
        return math.floor(self.beat_at(t) / self.quantum + 1e-9)

    def current_bar(self, now: float | None = None) -> int:
        """The bar ``now`` is in (0 before bar 0 begins)."""
        return max(0, self.bar_at(self.now() if now is None else now))

    # --- what a Link session does not hear ----------------------------------------------------------
    def start(self, origin: float) -> None:
        """The session places bar 0, not the engine."""

    def onset(self, t: float) -> None:
        """The performer's notes do not move the session's beat."""

    def feed(self, kind: str, t: float, pos: int | None = None) -> None:
        """MIDI clock means nothing on a Link session."""

    @property
    def peers(self) -> int:
        return int(self.session.num_peers())


def require() -> None:
    """UserError naming the extra when aalink (the ``link`` extra) is not installed."""
    try:
        import aalink  # noqa: F401
    except ImportError:
        from srlive.errors import UserError

        raise UserError(f"--link needs Ableton Link: install the extra with {INSTALL_HINT}") from None


class AalinkSession:
    """A Link session through aalink (GPL; the ``link`` extra): LinkSession for LinkClock.

    aalink's Link is made in a running asyncio loop, for its awaitables and callbacks; LinkClock
    uses neither (it polls), so that loop idles in a daemon thread. Link's constructor tempo is srlive's proposal; it only
    wins when srlive's peer is alone. Enabling waits ``enable_delay`` after construction: enabling
    at once can let a new peer's tempo override the session's (seen with aalink and Link)."""

    def __init__(self, tempo: float, enable_delay: float = 0.5, quantum: float = QUANTUM):
        require()
        import asyncio

        import aalink

        async def make():
            return aalink.Link(float(tempo))

        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, name="srlive-link-loop", daemon=True).start()
        self.link = asyncio.run_coroutine_threadsafe(make(), self._loop).result(timeout=10)
        self.link.quantum = float(quantum)
        self.link.start_stop_sync_enabled = True
        self._made = time.monotonic()
        self.enable_delay = enable_delay

    def enable(self) -> None:
        time.sleep(max(0.0, self._made + self.enable_delay - time.monotonic()))
        self.link.enabled = True

    def close(self) -> None:
        self.link.enabled = False
        self._loop.call_soon_threadsafe(self._loop.stop)

    def micros(self) -> float:
        return self.link.time / _MICROSECOND

    def snapshot(self) -> Snapshot:
        a = self.micros()
        beat = self.link.beat  # read at a Link time between a and b
        b = self.micros()
        return Snapshot((a + b) / 2, float(beat), float(self.link.tempo))

    def num_peers(self) -> int:
        return int(self.link.num_peers)

    def playing(self) -> bool:
        return bool(self.link.playing)

    def propose_tempo(self, bpm: float) -> None:
        self.link.tempo = float(bpm)

    def beat_zero_at_start(self) -> None:
        self.link.request_beat_at_start_playing_time(0.0)


def _microsecond():
    import datetime

    return datetime.timedelta(microseconds=1)


_MICROSECOND = _microsecond()


def make_link_clock(tempo: float, join: bool = True, meter: Meter = METERS[DEFAULT_METER], **kw) -> LinkClock:
    """The real thing: a LinkClock on aalink, in the session (``join``), proposing ``tempo`` (--tempo, or
    the default) if srlive starts the session, with bars of ``meter``. UserError naming the extra
    when aalink is missing."""
    clock = LinkClock(AalinkSession(tempo, quantum=meter.quarters), tempo, meter=meter, **kw)
    if join:
        clock.join()
    return clock
