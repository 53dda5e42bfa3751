"""What both MIDI clock followers share (``--sync``): the DAW's transport and the pulse numbering.

Feed a follower every clock/start/continue/stop/songpos message with its arrival time; ask it
``time_at(bar, step)``, ``time_of_pulse(p)`` and ``bar_at(t)``. Pulse 0 is the DAW's bar 1 (the
first clock after Start); a Song Position Pointer of p sixteenths makes the next pulse 6·p (bar
p // steps); Continue keeps the numbering; Start and Continue bump ``generation`` (so the engine
knows to align again) and call ``on_start(first pulse)``; Stop calls ``on_stop()``. A bar is
``meter.pulses`` (``steps · 6``) pulses. How a clock's time is read off the pulses is each
follower's own: srlive.clocks.counting_follower counts them, srlive.clocks.model_follower tracks
a model of phase and period; srlive.clocks.bar_clock.make_clock picks one.
"""

from __future__ import annotations

import functools
import threading
from typing import Callable

import numpy as np

from srlive.contract import DEFAULT_METER, DEFAULT_TEMPO, METERS, PULSES_PER_STEP, Meter
from srlive.contract import PULSES_PER_QUARTER as PPQN

NEAR_TIE = 1.5  # a numbering whose line fits within this factor of the best one's is as good


def period_of(tempo: float) -> float:
    """Seconds per MIDI clock pulse at ``tempo`` quarter notes a minute."""
    return 60.0 / (float(tempo) * PPQN)


class MidiTransport:
    """The transport part of a MIDI clock follower (a BarClock: srlive.clocks.bar_clock).

    A subclass numbers and times the pulses: ``_clock(t)`` for each clock while running,
    ``_clear()`` to forget them on Start/Continue/SPP, and ``ready``, ``time_of_pulse``,
    ``bar_at``."""

    name = "MIDI clock"
    external = True  # the DAW starts, stops and continues it
    bends = True  # each pulse may move the bar lines still to come

    def __init__(self, default_tempo: float = DEFAULT_TEMPO, on_stop: Callable[[], None] | None = None,
                 on_start: Callable[[int], None] | None = None, meter: Meter = METERS[DEFAULT_METER],
                 cycle: float = 0.0):
        self.meter = meter
        self.bar_pulses = meter.pulses  # 96 in 4/4, 72 in 3/4 and 6/8
        self.cycle = float(cycle)  # seconds: input stamped once an audio cycle this long (0: on arrival)
        self.period = period_of(default_tempo)  # seconds per pulse
        self.on_stop = on_stop
        self.on_start = on_start
        self.running = False
        self.next_pulse = 0  # index the next clock pulse will have (if none is lost)
        self.generation = 0  # bumps on every Start/Continue, so waiters know to re-align
        self.pulse_zero: float | None = None  # stamp of pulse 0 (bar 1's downbeat) once seen
        self.renumbered = 0  # pulses found missing (and numbered past) so far
        self._lock = threading.Lock()

    # --- input --------------------------------------------------------------------------------
    def feed(self, kind: str, t: float, pos: int | None = None) -> None:
        """One clock or transport message, stamped ``t`` on arrival."""
        with self._lock:
            if kind == "clock":
                if self.running:
                    self._clock(float(t))
                return
            then = self._transport(kind, pos)
        if then is not None:
            then()  # on_start / on_stop, with the lock released

    def _transport(self, kind: str, pos: int | None) -> Callable[[], None] | None:
        """A Song Position Pointer, Start, Continue or Stop (lock held); returns what to call once
        the lock is released, or None."""
        if kind == "songpos":
            self.next_pulse = int(pos or 0) * PULSES_PER_STEP
            self._clear()
        elif kind in ("start", "continue"):
            if kind == "start":
                self.next_pulse = 0
            self._clear()
            self.running = True
            self.generation += 1
            if self.on_start:
                return functools.partial(self.on_start, self.next_pulse)
        elif kind == "stop" and self.running:
            self.running = False
            return self.on_stop
        return None

    def _clock(self, t: float) -> None:
        raise NotImplementedError

    def _clear(self) -> None:
        raise NotImplementedError

    def onset(self, t: float) -> None:
        """The performer's notes do not move the DAW's clock."""

    def start(self, origin: float) -> None:
        """The DAW starts this clock (Start/Continue), not the engine."""

    def close(self) -> None:
        """Nothing to leave."""

    # --- answers ------------------------------------------------------------------------------
    @property
    def tempo(self) -> float:
        return 60.0 / (self.period * PPQN)

    def time_of_pulse(self, pulse: float) -> float:
        raise NotImplementedError

    def time_at(self, bar: int, step: float = 0.0) -> float:
        return self.time_of_pulse(bar * self.bar_pulses + step * PULSES_PER_STEP)

    def current_bar(self, now: float | None = None) -> int:
        """The bar the next pulse falls in."""
        return self.next_pulse // self.bar_pulses


def pulses_by_place(gaps: np.ndarray) -> np.ndarray:
    """Pulses between successive clocks stamped once an audio cycle of up to two thirds of a pulse
    (python-rtmidi on JACK): single intervals then alternate between one cycle and two, so neither
    the shortest interval nor any one interval is a pulse. Each count of lost clocks up to a third
    is tried instead: every clock numbered by its place on the line at that count's period, the
    line fitted again and the clocks numbered again, twice; of the numberings whose line fits
    within NEAR_TIE of the best, the one with the fewest lost wins."""
    t = np.concatenate([[0.0], np.cumsum(gaps)])
    tried = []
    for k in range(len(gaps), len(gaps) + len(gaps) // 3 + 1):
        n = np.round(t / (t[-1] / k))
        for _ in range(2):
            if np.any(np.diff(n) < 1):
                break
            period, a = np.polyfit(n, t, 1)
            n = np.round((t - a) / period)
            n -= n[0]
        steps = np.diff(n)
        if len(gaps) > 1 and np.all(steps >= 1):
            period, a = np.polyfit(n, t, 1)
            tried.append((float(np.sqrt(np.mean((t - a - n * period) ** 2))) / period, steps.astype(int)))
    if not tried:
        return np.ones(len(gaps), int)
    best = min(fit for fit, _ in tried)
    return next(steps for fit, steps in tried if fit <= NEAR_TIE * best)
