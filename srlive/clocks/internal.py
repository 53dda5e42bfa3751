"""The internal bar clock (``--tempo``): a fixed tempo from an absolute origin.

``T_t = origin + t · bar_len``: every deadline is computed from the origin, never by chaining
sleeps, so nothing drifts. The origin is set by the performer's first note (``onset``), or by the
engine after a count-in or at once in solo (``start``). A step is a sixteenth in every meter and a
tempo is quarter notes a minute, so a bar lasts ``meter.quarters · 60 / tempo`` seconds.
"""

from __future__ import annotations

import math
import threading

from srlive.contract import DEFAULT_METER, METERS, PULSES_PER_STEP, TEMPO_RANGE, Meter

MIN_TEMPO, MAX_TEMPO = TEMPO_RANGE


def bar_seconds(tempo: float, meter: Meter = METERS[DEFAULT_METER]) -> float:
    """A bar's length at ``tempo`` quarter notes a minute."""
    return 60.0 * meter.quarters / float(tempo)


class InternalClock:
    """A fixed tempo from an absolute origin (a BarClock: srlive.clocks.bar_clock)."""

    name = "internal"
    external = False  # started by the engine or by the performer's first note; never stops
    bends = False  # its bar lines never move once it has started
    generation = 0

    def __init__(self, tempo: float, meter: Meter = METERS[DEFAULT_METER]):
        if not MIN_TEMPO <= float(tempo) <= MAX_TEMPO:
            raise ValueError(f"tempo {tempo} is outside {MIN_TEMPO:g}..{MAX_TEMPO:g} BPM")
        self.tempo = float(tempo)
        self.meter = meter
        self.bar_len = bar_seconds(self.tempo, meter)
        self.step = self.bar_len / meter.steps
        self.origin: float | None = None
        self._lock = threading.Lock()

    def start(self, origin: float) -> None:
        self.origin = float(origin)

    def onset(self, t: float) -> None:
        """A performer's note-on at ``t``: the first, before the clock started, is bar 1's downbeat."""
        with self._lock:
            if self.origin is None:
                self.origin = float(t)

    def feed(self, kind: str, t: float, pos: int | None = None) -> None:
        """MIDI clock and transport mean nothing to a fixed tempo."""

    def close(self) -> None:
        """Nothing to leave."""

    @property
    def ready(self) -> bool:
        return self.origin is not None

    running = ready  # an internal clock never stops once started

    @property
    def pulse_zero(self) -> float | None:
        return self.origin

    def time_at(self, bar: int, step: float = 0.0) -> float:
        assert self.origin is not None, "clock not started"
        return self.origin + (bar * self.meter.steps + step) * self.step

    def time_of_pulse(self, pulse: float) -> float:
        return self.time_at(0, pulse / PULSES_PER_STEP)

    def bar_at(self, t: float) -> int:
        """The bar whose span [T_b, T_{b+1}) holds time t."""
        assert self.origin is not None, "clock not started"
        return math.floor((t - self.origin) / self.bar_len)

    def current_bar(self, now: float) -> int:
        """The bar ``now`` is in (0 before bar 1)."""
        return max(0, self.bar_at(now))
