"""The bar clock that follows the performer (``--follow``): srlive.clocks.beat_tracker's estimate of the
performer's grid, played as a path that bends smoothly towards it.

The clock answers the same questions as the others (``time_at(bar, step)``, ``time_of_pulse``,
``bar_at``, ``tempo``, ``ready``, ``running``); positions are sixteenth steps from bar 1's downbeat
(pulses: PULSES_PER_STEP a step). What it has played is never changed: the path is a list of
segments, each starting at the position and time where the clock was when the segment was made, so
every bar line, beat and step already past keeps its time, and time is continuous and increasing in
the position everywhere.

- When an onset moves the tracker's line, a new segment starts at the clock's position now (or at
  the onset, when that is later) with the path's slope there (the tempo it is playing), and bends to
  the line along a cubic (Hermite) curve over at least a quarter note, longer when the gap is large,
  so the local tempo departs from both by at most BEND: the clock never jumps a bar, a beat or a
  step, and it reaches the performer's grid within a beat or so.
- Dead band: while the line stays within DEAD_BAND of the path a quarter note ahead,
  nothing changes. A steady performer's onsets (and the input's jitter) move the estimate by less
  than that, so the clock plays a line, exactly as steady as a fixed ``--tempo``.
- ``following`` off (a live control, ``[cc]`` target ``follow``): onsets are no longer heard and the
  clock goes on at the tempo it was playing; on again, it follows from there.

The engine retimes every scheduled event that carries a clock position (``Event.pos``) against
``time_of_pulse`` while it waits, as for ``--sync``, so an answer scheduled a bar ahead lands where
the performer's beat is when it sounds.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from typing import Callable

from srlive.clocks.beat_tracker import BeatTracker, tempo_of
from srlive.contract import DEFAULT_METER, METERS, PULSES_PER_STEP, TEMPO_RANGE, Meter

DEAD_BAND = 0.005  # seconds: the estimate must leave the path by more than this to move it ...
AHEAD = (4.0,)  # ... a quarter note (steps) ahead of where it is
BEND = 0.25  # while bending, the local tempo stays within this share of the path's and the line's
MIN_BEND = 4.0  # steps: a bend takes at least a quarter note
HISTORY = 4096  # segments kept (older bars keep their bar lines in ``_bar_lines``)
MIN_TEMPO, MAX_TEMPO = TEMPO_RANGE


class _Segment:
    """From position p0 at time t0 with slope s0 (seconds a step), bending over h steps onto the line
    t = a + (p − ref)·period (the path after h steps)."""

    __slots__ = ("p0", "t0", "s0", "ref", "a", "period", "h", "e")

    def __init__(self, p0: float, t0: float, s0: float, line: tuple[float, float, float], h: float):
        self.p0, self.t0, self.s0 = p0, t0, s0
        self.ref, self.a, self.period = line
        self.h = h
        self.e = t0 - self.line(p0)

    def line(self, p: float) -> float:
        return self.a + (p - self.ref) * self.period

    def time(self, p: float) -> float:
        x = (p - self.p0) / self.h if self.h > 0 else 1.0
        if x >= 1.0:
            return self.line(p)
        x2, x3 = x * x, x * x * x
        return self.line(p) + self.e * (2 * x3 - 3 * x2 + 1) + (self.s0 - self.period) * self.h * (x3 - 2 * x2 + x)

    def slope(self, p: float) -> float:
        x = (p - self.p0) / self.h if self.h > 0 else 1.0
        if x >= 1.0:
            return self.period
        return self.period + self.e * (6 * x * x - 6 * x) / self.h + (self.s0 - self.period) * (3 * x * x - 4 * x + 1)

    def pos(self, t: float) -> float:
        """The position at time t >= t0 (the path increases: bisection, then the line past the bend)."""
        end = self.p0 + self.h
        if self.h <= 0 or t >= self.time(end):
            return self.ref + (t - self.a) / self.period
        lo, hi = self.p0, end
        for _ in range(48):
            mid = 0.5 * (lo + hi)
            if self.time(mid) < t:
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)


def bend_length(e: float, s0: float, period: float) -> float:
    """Steps over which a gap ``e`` (seconds) between the path and the line, with the path's slope
    ``s0``, is closed with the local tempo within BEND of both (module docstring)."""
    room = BEND * period - abs(s0 - period)
    if room <= 0.1 * BEND * period:
        room = 0.1 * BEND * period
    return max(MIN_BEND, 1.5 * abs(e) / room)


class FollowingClock:
    """A bar clock that follows the performer's onsets (module docstring); a BarClock
    (srlive.clocks.bar_clock)."""

    external = False  # started by the performer's first note (or by the engine: count-in, solo)
    bends = True  # its bar lines still to come move as the performer plays
    generation = 0  # it never starts again

    @property
    def name(self) -> str:
        """What the live view calls this clock."""
        return "following you" if self.following else "internal"

    def __init__(self, tempo: float, meter: Meter = METERS[DEFAULT_METER], known: bool = True,
                 following: bool = True, now: Callable[[], float] = time.perf_counter):
        self.meter = meter
        self.steps = meter.steps
        self.tracker = BeatTracker(tempo, meter, known=known)
        self.following = bool(following)
        self.now = now
        self.bar_len = 60.0 * meter.quarters / float(tempo)  # at the starting tempo (a count-in's bars)
        self.step = self.bar_len / meter.steps
        self._segments: list[_Segment] = []
        self._starts: list[float] = []  # each segment's p0, for bisect
        self._times: list[float] = []  # each segment's t0
        self.replans = 0
        self.origin = 0.0  # bar 1's downbeat, once started
        self._lock = threading.Lock()  # the path (segments)
        self._track_lock = threading.Lock()  # the tracker (the input thread's)

    # --- state --------------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        return bool(self._segments)

    running = ready  # it never stops once started

    @property
    def tempo(self) -> float:
        """The tempo the clock plays now (the followed tempo)."""
        with self._lock:
            if not self._segments:
                return tempo_of(self.tracker.period)
            seg = self._segments[-1]
            p = max(seg.p0, seg.pos(self.now()))
            return tempo_of(seg.slope(p))

    @property
    def pulse_zero(self) -> float | None:
        """Bar 1's downbeat once started."""
        return self.time_of_step(0.0) if self._segments else None

    def start(self, origin: float, onset: bool = False) -> None:
        """Bar 1's downbeat at ``origin``: a count-in's or solo's start (the engine's), or the
        performer's first note (``onset``)."""
        with self._track_lock, self._lock:
            self.tracker.start(origin, onset=onset)
            self.origin = float(origin)
            self._segments, self._starts, self._times = [], [], []
            self._add(_Segment(0.0, float(origin), self.tracker.period, self.tracker.line(), 0.0))

    def onset(self, t: float) -> None:
        """A performer's note-on at ``t`` (arrival, input latency taken off): the first, before the
        clock started, is bar 1's downbeat; every one after it moves the clock (``hear``)."""
        if not self._segments:
            with self._track_lock, self._lock:
                if not self._segments:
                    self.tracker.start(float(t), onset=True)
                    self.origin = float(t)
                    self._add(_Segment(0.0, float(t), self.tracker.period, self.tracker.line(), 0.0))
                    return
        self.hear(t)

    def feed(self, kind: str, t: float, pos: int | None = None) -> None:
        """MIDI clock and transport mean nothing to it."""

    def close(self) -> None:
        """Nothing to leave."""

    def current_bar(self, now: float) -> int:
        """The bar ``now`` is in (0 before bar 1)."""
        return max(0, self.bar_at(now))

    def report(self) -> dict:
        """How it followed, for --stats: its tempo now, how often it bent, the onsets it heard."""
        return {"tempo": round(self.tempo, 3), "replans": self.replans, "onsets": self.tracker.onsets,
                "following": self.following}

    def set_following(self, on: bool) -> bool:
        with self._track_lock, self._lock:
            if on and not self.following and self._segments:
                # follow from the path as it is: the tracker's line is the path's from now on
                t = self.now()
                seg = self._segments[-1]
                p = max(seg.p0, seg.pos(t))
                self.tracker.hold(p, seg.time(p), seg.slope(p))
            self.following = bool(on)
        return True

    # --- input --------------------------------------------------------------------------------
    def hear(self, t: float) -> None:
        """A performer's note onset at ``t`` (arrival, input latency taken off). The tracker works
        under a lock of its own (only the input thread waits for it); the path's lock, which the
        scheduler takes for every send time, is held only while the new segment goes in."""
        with self._track_lock:
            if not self.following or not self._segments:
                return
            if t < self.origin - 0.5 * self.step:  # a count-in's: before bar 1
                return
            if not self.tracker.onset(t):
                return
            line, finding = self.tracker.line(), self.tracker.finding_tempo
            with self._lock:
                self._replan(max(float(t), self.now()), line, finding)

    def _replan(self, t: float, line: tuple[float, float, float], finding: bool) -> None:
        """The path from time ``t`` on bent onto the tracker's ``line`` (module docstring)."""
        if finding:
            # the first bar, its tempo still being found: nothing has been played on its grid yet,
            # so the path is the estimate itself (from bar 1's downbeat)
            self._segments, self._starts, self._times = [], [], []
            self._add(_Segment(0.0, self.origin, line[2], line, 0.0))
            return
        seg = self._segments[-1]
        t = max(t, seg.t0)
        p = seg.pos(t)
        ref, a, period = line
        ahead = [p + q for q in AHEAD]
        if max(abs(seg.time(q) - (a + (q - ref) * period)) for q in ahead) <= DEAD_BAND:
            return
        s0 = seg.slope(p)
        e = t - (a + (p - ref) * period)
        self.replans += 1
        self._add(_Segment(p, t, s0, line, bend_length(e, s0, period)))

    def _add(self, seg: _Segment) -> None:
        if self._starts and seg.p0 <= self._starts[-1]:  # replaces one made at the same place
            self._segments.pop(), self._starts.pop(), self._times.pop()
        self._segments.append(seg)
        self._starts.append(seg.p0)
        self._times.append(seg.t0)
        if len(self._segments) > HISTORY:
            drop = len(self._segments) - HISTORY
            del self._segments[:drop], self._starts[:drop], self._times[:drop]

    # --- answers ------------------------------------------------------------------------------
    def time_of_step(self, pos: float) -> float:
        with self._lock:
            if not self._segments:
                raise RuntimeError("the clock has not started")
            i = max(0, bisect.bisect_right(self._starts, pos) - 1)
            return self._segments[i].time(pos)

    def time_of_pulse(self, pulse: float) -> float:
        return self.time_of_step(pulse / PULSES_PER_STEP)

    def time_at(self, bar: int, step: float = 0.0) -> float:
        return self.time_of_step(bar * self.steps + step)

    def step_at(self, t: float) -> float:
        """The position (steps) the clock is at, at time t."""
        with self._lock:
            if not self._segments:
                raise RuntimeError("the clock has not started")
            i = max(0, bisect.bisect_right(self._times, t) - 1)
            return self._segments[i].pos(t) if t >= self._times[i] else (
                self._starts[0] + (t - self._times[0]) / self._segments[0].s0)

    def bar_at(self, t: float) -> int:
        return math.floor(self.step_at(t) / self.steps)
