"""CountingClockFollower: follows MIDI clock by counting its pulses, the engine's for input stamped
once a coarse audio cycle (srlive.clocks.bar_clock.make_clock; the model follower otherwise). The
transport (Start / Continue / Stop / Song Position Pointer) and the pulse numbering are
srlive.clocks.midi_transport's.

Pulse times are smoothed against jitter by a least-squares line over the last ``window`` pulses
(96 = four beats), fitted again without the pulses far off it (a stall on a busy machine delivers
a run of pulses late); times ahead are extrapolated along it. A tempo change is seen when the last
RECENT pulses make a line of their own at another tempo, starting where the old line was, and
further from the old tempo than the stamps' noise can tilt RECENT pulses (the noise is read from
the window's second differences, and is at least a JACK cycle's quantisation when the input is
stamped once a cycle, since every false change would move the grid): then only they are kept, so
a change is followed within about RECENT pulses (a third of a beat) and a slow ramp with a lag of
about half a bar. The scheduler asks the fit afresh for each event's time, so only a few pulses are
ever extrapolated. Pulses that never arrived (an input that missed a cycle) are noticed once
LOST_CONFIRM pulses after them sit a whole number of periods late (a count that never falls along
them, so clocks lost one after another are counted in together, and a stall's catching-up burst or
a falling tempo is not), and counted in, so the bars stay on the DAW's; the first START_CHECK
pulses after Start are numbered by their place on a line (as the model follower numbers its
first). Both need the input's cycle to leave one period plainly apart from two; clocks lost just
after a tempo change or around a stall still shift the grid (README's measured table:
``python -m benchmarks.clock_follower``). Until three pulses are in, ``--tempo`` is the guess (so
solo's first bar after Start is placed at that tempo: give the DAW's tempo to have it exact).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Callable

import numpy as np

from srlive.clocks.midi_transport import MidiTransport, period_of, pulses_by_place
from srlive.contract import DEFAULT_METER, DEFAULT_TEMPO, METERS, PULSES_PER_BAR, TEMPO_RANGE, Meter

MIN_TEMPO, MAX_TEMPO = TEMPO_RANGE
RECENT = 8  # pulses that, on a line of their own at another tempo, mean the tempo changed
MAX_LOST = 24  # the most pulses (a beat) found missing at once and counted in
LOST_CONFIRM = 3  # pulses that, a whole number of periods late alike, mean pulses were lost
LOST_TOLERANCE = 0.25  # periods: how near a whole number of periods a late pulse must be
MAX_LOST_TOLERANCE = 0.45  # ... widened by the input cycle (plus 0.1); no lost pulses are counted in beyond
START_CHECK = 8  # pulses after Start/Continue/SPP numbered by their place once this many are in
LOST_GAP = 1.5  # periods: a gap this long between two clocks may hold a lost one
MIN_BEFORE_LOST = 4  # pulses on the line before the late ones, to be sure which numbering is right
LOST_SIGMAS, LOST_NOISE = 3.0, 0.5  # lost pulses are counted in only while 3 σ of the residuals < 0.5 period
CHANGE_SIGMAS = 4.0  # a tempo change tilts the recent pulses' line further than this many of its errors


def _line(p: np.ndarray, t: np.ndarray) -> tuple[float, float, float]:
    """Least-squares t = tm + (p - pm) · period: (pm, tm, period)."""
    pm, tm = float(p.mean()), float(t.mean())
    dp = p - pm
    return pm, tm, float(np.dot(dp, t - tm) / np.dot(dp, dp))


def _spread(x: np.ndarray) -> float:
    """A robust standard deviation (1.4826 median absolute deviations) of x."""
    return 1.4826 * float(np.median(np.abs(x - np.median(x))))


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
        new = np.abs(r - med) <= max(0.0005, 3 * _spread(r[keep]))
        if new.sum() < max(4, len(p) // 3) or (new == keep).all():
            break
        keep = new
        fit = _line(p[keep], t[keep])
    return fit


def _detrended(x: np.ndarray) -> float:
    """The squared residuals of x about its least-squares line (x against 0, 1, 2, ...)."""
    steps = np.arange(len(x), dtype=float)
    slope, at = np.polyfit(steps, x, 1)
    return float(np.sum((x - at - slope * steps) ** 2))


class CountingClockFollower(MidiTransport):
    """Follows MIDI clock by counting its pulses; see the module's docstring."""

    def __init__(self, window: int = PULSES_PER_BAR, default_tempo: float = DEFAULT_TEMPO,
                 on_stop: Callable[[], None] | None = None, on_start: Callable[[int], None] | None = None,
                 meter: Meter = METERS[DEFAULT_METER], cycle: float = 0.0):
        super().__init__(default_tempo, on_stop, on_start, meter, cycle)
        self.window = int(window)
        self.pulses: deque[tuple[int, float]] = deque(maxlen=self.window)
        self._fit: tuple[float, float, float] | None = None  # (pulse mean, time mean, period)
        self._check_start = False  # Start/Continue/SPP: number the first START_CHECK pulses by place
        self._since_gap = MAX_LOST + 1  # pulses since one arrived more than LOST_GAP periods after the one before

    # --- input --------------------------------------------------------------------------------
    def _clock(self, t: float) -> None:
        if self.next_pulse == 0:
            self.pulse_zero = t
        self.pulses.append((self.next_pulse, t))
        self.next_pulse += 1
        self._refit()

    def _clear(self) -> None:
        self.pulses.clear()
        self._fit = None
        self._check_start = True  # number the first START_CHECK pulses by place

    def _refit(self) -> None:
        n = len(self.pulses)
        if n < 2:
            self._fit = None
            return
        p = np.fromiter((q for q, _ in self.pulses), float, n)
        t = np.fromiter((u for _, u in self.pulses), float, n)
        if n == START_CHECK and self._check_start:
            self._check_start = False
            if self._number_start(p, t):
                return self._refit()
        # the newest pulse near the line so far (the common case): no lost pulses, no tempo change
        unusual = True
        if self._fit is not None and n >= 2 * RECENT:
            pm, tm, period = self._fit
            unusual = abs(t[-1] - (tm + (p[-1] - pm) * period)) > 0.15 * period
        # a clock lost in the last beat leaves a gap; the fit may have tilted towards the pulses
        # numbered after it, so the newest can look usual while they are a period late
        long_gap = n >= 2 and t[-1] - t[-2] > LOST_GAP * self.period
        self._since_gap = 0 if long_gap else self._since_gap + 1
        if (unusual or self._since_gap <= MAX_LOST) and self._lost_pulses(p, t):
            return self._refit()
        pm, tm, period = _trimmed_line(p, t)
        if unusual and n >= 2 * RECENT and self._lost_run(p, t, 1, against_tempo=False) is None:
            # (not while the newest pulses look like lost clocks still to be confirmed: a line
            # through 8 pulses with one numbered a period low is tilted like a tempo change)
            # a tempo change: the last RECENT pulses lie on a line of their own, of another tempo
            # (3 % or more apart, and further than the stamps' noise can tilt a line of RECENT
            # pulses: input stamped once a JACK cycle tilts it too). Keep only them.
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
            lo, hi = period_of(MAX_TEMPO * 2), period_of(MIN_TEMPO / 2)
            self.period = min(max(period, lo), hi)
        self._fit = (pm, tm, self.period)

    def _noise(self, p, t) -> float:
        """The stamps' noise (seconds, a standard deviation), from the window's second differences
        between successive pulses (a tempo change bends them at one pulse only, so it does not
        count as noise; their spread is √6 times the stamps'), and at least what stamps taken once a
        ``cycle`` carry (uniform over it: cycle/√12), so a run of coarse stamps is not read as a
        tempo change."""
        d2 = np.diff(t, 2)[np.diff(p, 2) == 0]
        spread = _spread(d2) if d2.size else 0.0
        return max(spread / math.sqrt(6.0), self.cycle / math.sqrt(12.0))

    def _number_start(self, p, t) -> bool:
        """The first START_CHECK pulses after Start, Continue or a Song Position Pointer, numbered
        by their place on a line (srlive.clocks.midi_transport.pulses_by_place) instead of one after another: a
        clock lost among them has too few pulses before it for _lost_pulses to see. Only while the
        stamps' noise leaves one period plainly apart from two (as for _lost_run)."""
        gaps = np.diff(t)
        period = float(gaps.mean())  # a pulse, or longer when clocks were lost: never too short
        if period <= 0 or self.cycle / period + 0.1 > MAX_LOST_TOLERANCE:
            return False
        steps = pulses_by_place(gaps)
        if steps.max() <= 1:
            return False
        numbers = int(p[0]) + np.concatenate([[0], np.cumsum(steps)])
        lost = int(numbers[-1] - p[-1])
        pulses = list(self.pulses)
        self.pulses.clear()
        self.pulses.extend((int(q), u) for q, (_, u) in zip(numbers, pulses))
        self.next_pulse += lost
        self.renumbered += lost
        return True

    def _lost_pulses(self, p, t) -> bool:
        """Pulses that never arrived (an input that missed a cycle) shift every later index.

        Seen on the newest pulses against the line of the pulses before them (_lost_run), once at
        least LOST_CONFIRM of them are late: each pulse of the run is renumbered by its own count of
        lost pulses, and every pulse to come by the last."""
        run = self._lost_run(p, t, LOST_CONFIRM)
        if run is None:
            return False
        first, counts = run
        pulses = list(self.pulses)
        self.pulses.clear()
        self.pulses.extend(pulses[:first] + [(q + int(k), u) for (q, u), k in zip(pulses[first:], counts)])
        k = int(counts[-1])
        self.next_pulse += k
        self.renumbered += k
        return True

    def _lost_run(self, p, t, confirm: int, against_tempo: bool = True) -> tuple[int, np.ndarray] | None:
        """(index of the first, pulses lost before each) of the newest run of at least ``confirm``
        pulses that look numbered too low; None if there is none.

        A run of pulses each a whole number of periods late (within LOST_TOLERANCE) against the
        line of the pulses before it, the counts never falling along the run (1, 1, 2, 2: a clock
        lost, then another), after a pulse on that line. Not read as lost clocks: a stall's late
        pulses (they catch up, so their counts fall), a tempo change (it drifts off the line
        through the half-periods between counts) and stamps too coarse to tell one period from two
        (3 σ of the residuals of the pulses before the run must stay under LOST_NOISE of a period)."""
        n = len(p)
        if n < MIN_BEFORE_LOST + confirm:
            return None
        first = n - confirm
        for _ in range(2):  # the line of the pulses before the run, once more if the run is longer
            pm, tm, period = _trimmed_line(p[:first], t[:first])
            if period <= 0:
                return None
            late = (t - (tm + (p - pm) * period)) / period
            start = n
            while start > 0 and late[start - 1] >= 0.5:
                start -= 1
            if start >= first or start < MIN_BEFORE_LOST:
                break
            first = start
        counts = np.round(late[first:])
        # stamps taken once a cycle sit up to a cycle off a line through a few of them
        tolerance = max(LOST_TOLERANCE, self.cycle / period + 0.1)
        if (not 1 <= counts[-1] <= MAX_LOST or counts.min() < 1 or tolerance > MAX_LOST_TOLERANCE
                or np.abs(late[first:] - counts).max() > tolerance
                or np.any(np.diff(counts) < 0) or len(counts) < confirm
                or abs(late[first - 1]) > tolerance
                or LOST_SIGMAS * _spread(late[:first]) > LOST_NOISE):
            return None
        # each count rises at a gap between two clocks that long: a tempo that falls drifts
        # through the counts with every gap a little long instead
        rises = np.diff(np.concatenate([[0.0], counts]))
        if np.any(np.abs(np.diff(t[first - 1:]) / period - 1.0 - rises) >= 0.5):
            return None
        # ... and, from the pulse before the run on, the steps of the counts explain how late the
        # pulses are better than a steady drift (a tempo that fell) does: each on top of a line,
        # since the old line's period may be a little off (stamps on a cycle's grid)
        if against_tempo:
            late = late[first - 1:]
            if _detrended(late - np.concatenate([[0.0], counts])) >= _detrended(late):
                return None
        return first, counts

    # --- answers ------------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """Running with at least two pulses seen since Start/Continue (a time base exists)."""
        return self.running and len(self.pulses) >= 2

    def time_of_pulse(self, pulse: float) -> float:
        with self._lock:
            if self._fit is not None and len(self.pulses) >= 3:
                pm, tm, period = self._fit
                return tm + (pulse - pm) * period
            if self.pulses:
                p0, t0 = self.pulses[-1]
                return t0 + (pulse - p0) * self.period
            raise RuntimeError("no MIDI clock yet")

    def bar_at(self, t: float) -> int:
        """The bar holding time t, by the current fit."""
        p0 = self.time_of_pulse(0)
        return math.floor((t - p0) / (self.period * self.bar_pulses))
