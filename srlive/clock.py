"""Bar clocks: where bar t and its steps lie on the engine's clock (time.perf_counter seconds).

Both clocks answer ``time_at(bar, step)``: the absolute time of step ``step`` (may be fractional,
e.g. −0.5 or 15.5; 16 is the next bar line) of bar ``bar`` (0 = the session's bar 1). Every
deadline is computed from an absolute origin, never by chaining sleeps, so nothing drifts.

- InternalClock (``--tempo``): ``T_t = origin + t · bar_len``. The origin is set by the
  performer's first note, after a count-in, or at once in solo (the engine decides which).
- MidiClockFollower (``--sync``): follows 24-PPQN MIDI clock with Start / Continue / Stop and Song
  Position Pointer. Pulse 0 is the DAW's bar 1 (the first clock after Start); a Song Position
  Pointer of p sixteenths makes the next pulse 6·p. Pulse times are smoothed against jitter by a
  least-squares line over the last ``window`` pulses (48 = two beats: steady against jitter, and
  it follows a tempo change within about a beat); times ahead are extrapolated along that line.
  Until three pulses are in, ``--tempo`` is the guess (so solo's first bar after Start is placed
  at that tempo: give the DAW's tempo to have it exact).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from typing import Callable

from srlive.roll import BEATS_PER_BAR, STEPS

MIN_TEMPO, MAX_TEMPO = 20.0, 300.0
PPQN = 24
PULSES_PER_STEP = PPQN * BEATS_PER_BAR // STEPS  # 6
PULSES_PER_BAR = PPQN * BEATS_PER_BAR  # 96


def bar_seconds(tempo: float) -> float:
    return 60.0 * BEATS_PER_BAR / float(tempo)


class InternalClock:
    """A fixed tempo from an absolute origin."""

    def __init__(self, tempo: float):
        if not MIN_TEMPO <= float(tempo) <= MAX_TEMPO:
            raise ValueError(f"tempo {tempo} is outside {MIN_TEMPO:g}..{MAX_TEMPO:g} BPM")
        self.tempo = float(tempo)
        self.bar_len = bar_seconds(self.tempo)
        self.step = self.bar_len / STEPS
        self.origin: float | None = None

    def start(self, origin: float) -> None:
        self.origin = float(origin)

    @property
    def ready(self) -> bool:
        return self.origin is not None

    running = ready  # an internal clock never stops once started

    def time_at(self, bar: int, step: float = 0.0) -> float:
        assert self.origin is not None, "clock not started"
        return self.origin + (bar * STEPS + step) * self.step

    def step_len(self, bar: int) -> float:
        return self.step

    def bar_at(self, t: float) -> int:
        """The bar whose span [T_b, T_{b+1}) holds time t."""
        assert self.origin is not None, "clock not started"
        return math.floor((t - self.origin) / self.bar_len)


class MidiClockFollower:
    """Follows MIDI clock: feed it every clock/start/continue/stop/songpos message with its time."""

    def __init__(self, window: int = 48, default_tempo: float = 120.0,
                 on_stop: Callable[[], None] | None = None, on_start: Callable[[int], None] | None = None):
        self.window = int(window)
        self.period = 60.0 / (float(default_tempo) * PPQN)  # seconds per pulse, prior
        self.on_stop = on_stop
        self.on_start = on_start
        self.running = False
        self.next_pulse = 0  # index the next clock pulse will have
        self.pulses: deque[tuple[int, float]] = deque(maxlen=self.window)
        self._fit: tuple[float, float, float] | None = None  # (pulse mean, time mean, period)
        self.generation = 0  # bumps on every Start/Continue, so waiters know to re-align
        self.pulse_zero: float | None = None  # stamp of pulse 0 (bar 1's downbeat) once seen
        self._lock = threading.Lock()

    # --- input --------------------------------------------------------------------------------
    def feed(self, kind: str, t: float, pos: int | None = None) -> None:
        with self._lock:
            if kind == "clock":
                if not self.running:
                    return
                if self.next_pulse == 0:
                    self.pulse_zero = float(t)
                self.pulses.append((self.next_pulse, float(t)))
                self.next_pulse += 1
                self._refit()
                return
            if kind == "songpos":
                self.next_pulse = int(pos or 0) * PULSES_PER_STEP
                self.pulses.clear()
                self._fit = None
                return
            if kind in ("start", "continue"):
                if kind == "start":
                    self.next_pulse = 0
                self.pulses.clear()
                self._fit = None
                self.running = True
                self.generation += 1
                first = self.next_pulse
            elif kind == "stop":
                if not self.running:
                    return
                self.running = False
            else:
                return
        if kind == "stop":
            if self.on_stop:
                self.on_stop()
        elif self.on_start:
            self.on_start(first)

    def _refit(self) -> None:
        n = len(self.pulses)
        if n < 2:
            self._fit = None
            return
        pm = sum(p for p, _ in self.pulses) / n
        tm = sum(t for _, t in self.pulses) / n
        sxx = sum((p - pm) ** 2 for p, _ in self.pulses)
        sxy = sum((p - pm) * (t - tm) for p, t in self.pulses)
        period = sxy / sxx
        if n >= 3 and period > 0:
            # clamp to a sane tempo so a burst of clocks can't send deadlines into the past
            lo, hi = 60.0 / (MAX_TEMPO * 2 * PPQN), 60.0 / (MIN_TEMPO / 2 * PPQN)
            self.period = min(max(period, lo), hi)
        self._fit = (pm, tm, self.period)

    # --- answers ------------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """Running with at least two pulses seen since Start/Continue (a time base exists)."""
        return self.running and len(self.pulses) >= 2

    @property
    def tempo(self) -> float:
        return 60.0 / (self.period * PPQN)

    def time_of_pulse(self, pulse: float) -> float:
        with self._lock:
            if self._fit is not None and len(self.pulses) >= 3:
                pm, tm, period = self._fit
                return tm + (pulse - pm) * period
            if self.pulses:
                p0, t0 = self.pulses[-1]
                return t0 + (pulse - p0) * self.period
            raise RuntimeError("no MIDI clock yet")

    def time_at(self, bar: int, step: float = 0.0) -> float:
        return self.time_of_pulse(bar * PULSES_PER_BAR + step * PULSES_PER_STEP)

    def step_len(self, bar: int) -> float:
        return self.period * PULSES_PER_STEP

    def bar_at(self, t: float) -> int:
        """The bar holding time t, by the current fit."""
        p0 = self.time_of_pulse(0)
        return math.floor((t - p0) / (self.period * PULSES_PER_BAR))

    def current_bar(self) -> int:
        """The bar the next pulse falls in."""
        return self.next_pulse // PULSES_PER_BAR
