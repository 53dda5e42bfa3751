"""Bar clocks: where bar t and its steps lie on the engine's clock (time.perf_counter seconds).

Both clocks answer ``time_at(bar, step)``: the absolute time of step ``step`` (may be fractional,
e.g. −0.5 or 15.5; ``meter.steps``, 16 in 4/4 and 12 in 3/4 and 6/8, is the next bar line) of bar
``bar`` (0 = the session's bar 1). Every deadline is computed from an absolute origin, never by
chaining sleeps, so nothing drifts. A step is a sixteenth in every meter and a tempo is quarter
notes a minute, so a bar lasts ``meter.quarters · 60 / tempo`` seconds and ``meter.pulses``
(``steps · 6``) MIDI clock pulses.

- InternalClock (``--tempo``): ``T_t = origin + t · bar_len``. The origin is set by the
  performer's first note, after a count-in, or at once in solo (the engine decides which).
- MidiClockFollower (``--sync``): follows 24-PPQN MIDI clock with Start / Continue / Stop and Song
  Position Pointer. Pulse 0 is the DAW's bar 1 (the first clock after Start); a Song Position
  Pointer of p sixteenths makes the next pulse 6·p (bar p // steps). Pulse times are smoothed against jitter by a
  least-squares line over the last ``window`` pulses (96 = four beats), fitted again without the
  pulses far off it (a stall on a busy machine delivers a run of pulses late); times ahead are
  extrapolated along it. A tempo change is seen when the last 8 pulses make a line of their own
  at another tempo, starting where the old line was, and further from the old tempo than the
  stamps' noise can tilt 8 pulses (the noise is read from the window's second differences, and is
  at least a JACK cycle's quantisation when the input is stamped once a cycle: 256-frame periods
  tilt 8 pulses at 160 BPM by up to 5 %, and every such false change moved the grid, by up to
  60 ms): then only they are kept, so a change is followed within about 8 pulses (a third of a
  beat). A slow ramp is followed with a lag of about half a bar (simulated 100→125 BPM over 9
  bars: p99 6 ms; a window of 48 halves that but doubles the error under stalls). With --sync,
  the scheduler asks the fit afresh for each event's time, so only a few pulses are ever
  extrapolated. Pulses that never arrived (an input that missed a cycle) are noticed once the
  pulses after them sit a whole number of periods late, and counted in, so the bars stay on the
  DAW's.
  Until three pulses are in, ``--tempo`` is the guess (so solo's first bar after Start is placed
  at that tempo: give the DAW's tempo to have it exact).
  srlive.follower holds a model-based follower (a Kalman model of phase and period) that keeps the
  grid through lost and bunched clocks in simulation (benchmarks/clock_follower.py); through real
  JACK ports it still slips after a Song Position Pointer restart, so this one stays the engine's.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from typing import Callable

import numpy as np

from srlive.contract import DEFAULT_METER, DEFAULT_TEMPO, METERS, PULSES_PER_BAR, PULSES_PER_STEP, TEMPO_RANGE, Meter
from srlive.contract import PULSES_PER_QUARTER as PPQN

MIN_TEMPO, MAX_TEMPO = TEMPO_RANGE
RECENT = 8  # pulses that, on a line of their own at another tempo, mean the tempo changed
MAX_LOST = 24  # the most pulses (a beat) found missing at once and counted in
CHANGE_SIGMAS = 4.0  # a tempo change tilts the recent pulses' line further than this many of its errors


def _line(p: np.ndarray, t: np.ndarray) -> tuple[float, float, float]:
    """Least-squares t = tm + (p - pm) · period: (pm, tm, period)."""
    pm, tm = float(p.mean()), float(t.mean())
    dp = p - pm
    return pm, tm, float(np.dot(dp, t - tm) / np.dot(dp, dp))


def _trimmed_line(p: np.ndarray, t: np.ndarray) -> tuple[float, float, float]:
    """The line without the pulses far off it (beyond 3 MADs, at least 0.5 ms): a stall on a busy
    machine or a USB burst delivers a run of pulses late; they must not tilt the tempo."""
    fit = _line(p, t)
    if len(p) < 8:
        return fit
    keep = np.ones(len(p), bool)
    for _ in range(3):
        pm, tm, period = fit
        r = t - (tm + (p - pm) * period)
        med = float(np.median(r[keep]))
        new = np.abs(r - med) <= max(0.0005, 3 * 1.4826 * float(np.median(np.abs(r[keep] - med))))
        if new.sum() < max(4, len(p) // 3) or (new == keep).all():
            break
        keep = new
        fit = _line(p[keep], t[keep])
    return fit


def bar_seconds(tempo: float, meter: Meter = METERS[DEFAULT_METER]) -> float:
    """A bar's length at ``tempo`` quarter notes a minute."""
    return 60.0 * meter.quarters / float(tempo)


class InternalClock:
    """A fixed tempo from an absolute origin."""

    def __init__(self, tempo: float, meter: Meter = METERS[DEFAULT_METER]):
        if not MIN_TEMPO <= float(tempo) <= MAX_TEMPO:
            raise ValueError(f"tempo {tempo} is outside {MIN_TEMPO:g}..{MAX_TEMPO:g} BPM")
        self.tempo = float(tempo)
        self.meter = meter
        self.bar_len = bar_seconds(self.tempo, meter)
        self.step = self.bar_len / meter.steps
        self.origin: float | None = None

    def start(self, origin: float) -> None:
        self.origin = float(origin)

    @property
    def ready(self) -> bool:
        return self.origin is not None

    running = ready  # an internal clock never stops once started

    def time_at(self, bar: int, step: float = 0.0) -> float:
        assert self.origin is not None, "clock not started"
        return self.origin + (bar * self.meter.steps + step) * self.step

    def bar_at(self, t: float) -> int:
        """The bar whose span [T_b, T_{b+1}) holds time t."""
        assert self.origin is not None, "clock not started"
        return math.floor((t - self.origin) / self.bar_len)


class MidiClockFollower:
    """Follows MIDI clock: feed it every clock/start/continue/stop/songpos message with its time."""

    def __init__(self, window: int = PULSES_PER_BAR, default_tempo: float = DEFAULT_TEMPO,
                 on_stop: Callable[[], None] | None = None, on_start: Callable[[int], None] | None = None,
                 meter: Meter = METERS[DEFAULT_METER], cycle: float = 0.0):
        self.window = int(window)
        self.cycle = float(cycle)  # seconds: input stamped once an audio cycle this long (0: on arrival)
        self.meter = meter
        self.bar_pulses = meter.pulses  # 96 in 4/4, 72 in 3/4 and 6/8
        self.period = 60.0 / (float(default_tempo) * PPQN)  # seconds per pulse, prior
        self.on_stop = on_stop
        self.on_start = on_start
        self.running = False
        self.next_pulse = 0  # index the next clock pulse will have
        self.pulses: deque[tuple[int, float]] = deque(maxlen=self.window)
        self._fit: tuple[float, float, float] | None = None  # (pulse mean, time mean, period)
        self.generation = 0  # bumps on every Start/Continue, so waiters know to re-align
        self.pulse_zero: float | None = None  # stamp of pulse 0 (bar 1's downbeat) once seen
        self.renumbered = 0  # pulses found missing (and numbered past) so far
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
        p = np.fromiter((q for q, _ in self.pulses), float, n)
        t = np.fromiter((u for _, u in self.pulses), float, n)
        # the newest pulse near the line so far (the common case): no lost pulses, no tempo change
        unusual = True
        if self._fit is not None and n >= 2 * RECENT:
            pm, tm, period = self._fit
            unusual = abs(t[-1] - (tm + (p[-1] - pm) * period)) > 0.15 * period
        if unusual and self._lost_pulses(p, t):
            return self._refit()
        pm, tm, period = _trimmed_line(p, t)
        if unusual and n >= 2 * RECENT:
            # a tempo change: the last RECENT pulses lie on a line of their own, of another tempo
            # (3 % or more apart, and further than the stamps' noise can tilt a line of 8 pulses:
            # input stamped once a 5.3 ms JACK cycle tilts it by up to 5 % at 160 BPM). Keep only
            # them.
            rm, rt, rper = _line(p[-RECENT:], t[-RECENT:])
            ratio = rper / period if period > 0 else 0.0
            resid = np.abs(t[-RECENT:] - (rt + (p[-RECENT:] - rm) * rper)).max()
            sigma = self._noise(p, t)
            slope_err = sigma / math.sqrt(RECENT * (RECENT * RECENT - 1) / 12.0)  # its slope's standard error
            # ... that starts where the old line was and leaves it further and further (a tempo
            # change bends the line; a stall's burst starts late and comes back to it)
            p0 = p[-RECENT]
            gap = abs((rt + (p0 - rm) * rper) - (tm + (p0 - pm) * period))
            off = np.abs(t[-RECENT:] - (tm + (p[-RECENT:] - pm) * period))
            leaving = off[-1] > max(0.0005, 0.15 * period, CHANGE_SIGMAS * sigma) and off[-1] > off[0]
            if (0.5 < ratio < 2.0 and abs(rper - period) > max(0.03 * period, CHANGE_SIGMAS * slope_err)
                    and resid < 0.2 * rper + 2 * sigma and gap < 0.35 * period + 2 * sigma and leaving):
                for _ in range(n - RECENT):
                    self.pulses.popleft()
                pm, tm, period = rm, rt, rper
        if n >= 3 and period > 0:
            # clamp to a sane tempo so a burst of clocks can't send deadlines into the past
            lo, hi = 60.0 / (MAX_TEMPO * 2 * PPQN), 60.0 / (MIN_TEMPO / 2 * PPQN)
            self.period = min(max(period, lo), hi)
        self._fit = (pm, tm, self.period)

    def _noise(self, p, t) -> float:
        """The stamps' noise (seconds, a standard deviation), from the window's second differences
        between successive pulses (a tempo change bends them at one pulse only, so it does not
        count as noise; their spread is √6 times the stamps'), and at least what stamps taken once a
        ``cycle`` carry (uniform over it: cycle/√12), so a run of coarse stamps is not read as a
        tempo change."""
        d2 = np.diff(t, 2)[np.diff(p, 2) == 0]
        mad = float(np.median(np.abs(d2 - np.median(d2)))) if d2.size else 0.0
        return max(1.4826 * mad / math.sqrt(6.0), self.cycle / math.sqrt(12.0))

    def _lost_pulses(self, p, t) -> bool:
        """Pulses that never arrived (an input that missed a cycle) shift every later index.

        Seen when the last RECENT pulses all sit a whole number k (1..MAX_LOST) of periods late against
        the line of the pulses before them, each within a quarter period: then k pulses went
        missing, and those after the gap and every pulse to come are renumbered k on. (A stall's
        late pulses catch up, so they aren't a whole number of periods late all alike; a tempo
        change drifts.)"""
        if len(p) - RECENT < 6:
            return False
        pm, tm, period = _trimmed_line(p[:-RECENT], t[:-RECENT])
        if period <= 0:
            return False
        late = (t - (tm + (p - pm) * period)) / period
        k = round(float(np.median(late[-RECENT:])))
        if not 1 <= k <= MAX_LOST or np.abs(late[-RECENT:] - k).max() > 0.25:
            return False
        first = len(late) - RECENT
        while first > 0 and abs(late[first - 1] - k) <= 0.25:
            first -= 1
        if first < 6:  # too few pulses on the old numbering to be sure which is right
            return False
        pulses = list(self.pulses)
        self.pulses.clear()
        self.pulses.extend(pulses[:first] + [(q + k, u) for q, u in pulses[first:]])
        self.next_pulse += k
        self.renumbered += k
        return True

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
        return self.time_of_pulse(bar * self.bar_pulses + step * PULSES_PER_STEP)

    def bar_at(self, t: float) -> int:
        """The bar holding time t, by the current fit."""
        p0 = self.time_of_pulse(0)
        return math.floor((t - p0) / (self.period * self.bar_pulses))

    def current_bar(self) -> int:
        """The bar the next pulse falls in."""
        return self.next_pulse // self.bar_pulses
