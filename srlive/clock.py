"""Bar clocks: where bar t and its steps lie on the engine's clock (time.perf_counter seconds).

Both clocks answer ``time_at(bar, step)``: the absolute time of step ``step`` (may be fractional,
e.g. −0.5 or 15.5; 16 is the next bar line) of bar ``bar`` (0 = the session's bar 1). Every
deadline is computed from an absolute origin, never by chaining sleeps, so nothing drifts.

- InternalClock (``--tempo``): ``T_t = origin + t · bar_len``. The origin is set by the
  performer's first note, after a count-in, or at once in solo (the engine decides which).
- MidiClockFollower (``--sync``): srlive.follower, which follows 24-PPQN MIDI clock (Start /
  Continue / Stop, Song Position Pointer) with a model of tempo and phase from arrival times, so
  lost, late and bunched clocks never move the bar grid (see its docstring).
"""

from __future__ import annotations

import math

from srlive.contract import BEATS_PER_BAR, PULSES_PER_BAR, STEPS, TEMPO_RANGE  # noqa: F401  (PULSES_PER_BAR re-exported)

MIN_TEMPO, MAX_TEMPO = TEMPO_RANGE


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

    def bar_at(self, t: float) -> int:
        """The bar whose span [T_b, T_{b+1}) holds time t."""
        assert self.origin is not None, "clock not started"
        return math.floor((t - self.origin) / self.bar_len)


# The MIDI-clock bar clock: srlive.follower (a model of tempo and phase from arrival times).
from srlive.follower import MidiClockFollower  # noqa: E402,F401
