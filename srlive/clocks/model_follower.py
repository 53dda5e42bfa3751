"""ModelClockFollower: the MIDI clock follower the engine uses unless its input is stamped once a
coarse audio cycle (srlive.clocks.bar_clock.make_clock). The transport (Start / Continue / Stop /
Song Position Pointer) and the pulse numbering are srlive.clocks.midi_transport's.

The position comes from a model, not from counting arrivals. On a busy machine some clock messages
never arrive and others arrive late, bunched after a stall; counting would shift the bars by every
lost pulse. The model is a line t(p) = a + (p − ref)·P through the pulses: the time ``a`` of pulse
``ref`` (phase) and the period ``P`` (seconds per pulse, the tempo), tracked by a Kalman filter:

- State (a, P) with covariance C. Prediction to pulse n moves a along the line by (n − ref)·P; the
  period is a random walk (variance RAMP²·P² a pulse, widened by 1 + MANEUVER·bias² while the
  innovations keep one sign, so ramps are followed and a steady tempo is averaged over a long
  memory). The stamps carry measurement noise σ², estimated from successive innovations of the
  accepted clocks (blind to a slow lag): 5 % jitter, or an audio backend's cycle quantisation.
- Numbering: an arriving clock is given the pulse nearest the model's prediction (at most half a
  period early), never one at or below the previous clock's. So lost clocks (one, or a beat's worth
  in a row) leave gaps in the numbering and shift nothing, and a late clock keeps its own index.
  Where the prediction has clocks lost but the time since a steady previous clock is plainly k
  pulses (of the median of the last few single-pulse gaps), k pulses passed: a tempo that fell
  makes every clock later than the old line foresees, and is not read as lost clocks at the old
  tempo (a grid pulses off for good). A tempo halved in one jump is still read as every other clock
  lost: the two look alike clock by clock.
- Late clocks: clocks held by a stall arrive bunched (less than half a period apart). When a clock
  of a bunched run can't take an index above the run's, the run is numbered back from it, so the
  held clocks count as late ones, and the filter runs again over them from the state before the
  run. A queue that drains more slowly is recognised when a clock lands on the grid of the anchor
  (the last clock the model predicted within ON_MODEL periods, a steady interval after the one
  before it) exactly at the index that loses no
  clock since the anchor: the clocks between are numbered on from the anchor, as late ones.
- Gates: an innovation beyond max(0.3 periods, 5 standard deviations) is an outlier (a late clock)
  and is not used; one beyond 3 standard deviations is used with its weight scaled down by its
  size (Huber), so a single late clock barely moves the line.
- Tempo changes: when the model has lost the clocks (its newest OFF_MODEL predictions miss on one
  side, or half of the recent clocks were gated out) and the clocks since the anchor, numbered by
  their own intervals, make a line that meets the anchor, the model is reset to that line (with its
  least-squares covariance) and the filter refines it with every clock. A jump (120 → 132 BPM) is
  on the new grid within about four clocks and precise within a bar.

Until INIT clocks are in after Start/Continue/SPP, they are numbered by their intervals (the median
single interval, refined by the numbered clocks' mean, is one pulse) and the line is their
least-squares fit; before any clock, the period is the last known one (or ``default_tempo``'s).

``latency`` is the input path's delay (seconds from the clock leaving the DAW to the stamp given
to ``feed``), subtracted from every stamp, so the grid is the DAW's and not the delayed one.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Callable

import numpy as np

from srlive.clocks.midi_transport import MidiTransport, period_of, pulses_by_place
from srlive.contract import DEFAULT_METER, DEFAULT_TEMPO, METERS, PULSES_PER_BAR, PULSES_PER_STEP, TEMPO_RANGE, Meter

MIN_TEMPO, MAX_TEMPO = TEMPO_RANGE
INIT = 12  # clocks numbered by their intervals before the filter takes over
RECENT = 4  # clocks (with the anchor) on a line of their own at another tempo mean the tempo changed
OFF_MODEL = 3  # ... when the newest this many are all off the model on one side
HISTORY = 48  # clocks remembered (with the filter state before each) for renumbering a burst
EARLY = 0.5  # periods a clock may arrive before its pulse's predicted time
BUNCHED = 0.5  # periods: clocks closer than this arrived in a burst
STEADY = 0.75  # periods: a clock at least this long after the one before it is not of a burst
UNIT_GAPS = 4  # single-pulse gaps whose median is the time a pulse takes now
COARSE = 0.25  # stamps taken once a cycle longer than this share of a pulse are numbered by place
CLEAN_GAP = 0.35  # periods: a gap this close to a whole number k of periods is k pulses
GATE_PERIODS = 0.3  # innovations beyond this share of a period (and 5 σ) are outliers
RAMP = 1e-4  # the period's random walk a pulse, relative: follows ramps such as 100→125 BPM in 9 bars
ON_MODEL = 0.15  # periods: a clock this close to the model's prediction is the anchor for ...
STEADY_INTERVAL = 0.1  # periods: ... whose interval from the clock before is this close to its pulses' worth
ON_GRID = 0.2  # ... a clock this close to the anchor's grid at the index that loses no clock
MANEUVER = 25.0  # the period noise grows by 1 + MANEUVER·bias²: a lag (ramp) widens the filter
BIAS_RATE = 0.1  # the bias is a running mean over about 10 clocks
MIN_SIGMA = 5e-5  # seconds: the least measurement noise assumed (keeps the filter well-posed)


class _Tick:
    """One arrived clock: its stamp, its pulse index, and the filter state before it."""

    __slots__ = ("t", "n", "seq", "before", "used")

    def __init__(self, t: float, n: int, seq: int, before: tuple | None):
        self.t, self.n, self.seq, self.before, self.used = t, n, seq, before, False


class ModelClockFollower(MidiTransport):
    """Follows MIDI clock by a model of phase and period; see the module's docstring."""

    def __init__(self, window: int = PULSES_PER_BAR, default_tempo: float = DEFAULT_TEMPO,
                 on_stop: Callable[[], None] | None = None, on_start: Callable[[int], None] | None = None,
                 latency: float = 0.0, meter: Meter = METERS[DEFAULT_METER], cycle: float = 0.0):
        super().__init__(default_tempo, on_stop, on_start, meter, cycle)
        self.window = int(window)  # pulses of memory the measurement noise estimate spans
        self.latency = float(latency)
        self.late = 0  # clocks recognised as late (in a burst or beyond the gate) so far
        self.resets = 0  # tempo changes that reset the model
        self._clear()

    def _clear(self) -> None:
        self.ticks: deque[_Tick] = deque(maxlen=HISTORY)
        self._count = 0  # clocks since Start/Continue/SPP
        self._first = self.next_pulse  # index of the first clock after Start/Continue/SPP
        self._init: list[float] = []  # stamps of the first INIT clocks
        self._renumbered_before = self.renumbered
        self._state: tuple | None = None  # (ref, a, P, caa, cap, cpp)
        self._var = MIN_SIGMA ** 2  # measurement noise variance
        self._last_nu: float | None = None  # the previous accepted innovation
        self._bias = 0.0  # running mean of the innovations in standard deviations (a lag's sign)
        self._anchor: tuple[int, int, tuple] | None = None  # (seq, pulse, state) of the last on-model clock

    def _clock(self, t: float) -> None:
        t -= self.latency  # the DAW's time, not the delayed stamp's
        self._count += 1
        if self._count == 1 and self._first == 0:
            self.pulse_zero = t
        if self._count <= INIT:
            self._init.append(t)
            self._start_model()
            return
        n = self._number(t)
        if self._caught_up(t, n):
            return
        if n <= self.ticks[-1].n:  # a burst: number the bunched run back from this clock
            self._renumber_run(t, n)
            return
        self._append(t, n, self._count)
        self._detect_tempo_change()

    def _append(self, t: float, n: int, seq: int) -> None:
        tick = _Tick(t, n, seq, self._state)
        self.ticks.append(tick)
        self.renumbered += n - self.next_pulse
        self.next_pulse = n + 1
        self._update(tick)

    # --- numbering ----------------------------------------------------------------------------
    def _index_at(self, t: float) -> float:
        ref, a, period = self._state[:3]
        return ref + (t - a) / period

    def _number(self, t: float) -> int:
        """The latest pulse whose predicted time is at most EARLY periods after t; above the
        previous clock's unless t is bunched with it (then the caller renumbers the run)."""
        n = math.floor(self._index_at(t) + EARLY)
        last = self.ticks[-1]
        steady = len(self.ticks) > 1 and last.t - self.ticks[-2].t >= STEADY * self._state[2]
        if steady and n > last.n + 1:
            # the line would have clocks lost, but when the time since the previous clock (itself
            # steady, not part of a burst) is plainly k periods, that many pulses passed. A tempo
            # that fell makes every clock later than the line foresees, which the line alone would
            # number as lost clocks at the old tempo; the filter or a reset follows instead
            gap = (t - last.t) / self._unit()
            k = round(gap)
            if k >= 1 and abs(gap - k) < CLEAN_GAP and n > last.n + k:
                return last.n + k
        if n <= last.n and t - last.t >= BUNCHED * self._state[2]:
            n = last.n + 1  # early, not bunched: the tempo rose (the filter or a reset follows)
        return n

    def _unit(self) -> float:
        """The time a pulse takes now: the median of the last few steady single-pulse gaps (which
        follows a tempo that fell within a few clocks), else the model's period."""
        ticks = list(self.ticks)[-UNIT_GAPS - 2:]
        period = self._state[2]
        gaps = [v.t - u.t for w, u, v in zip(ticks, ticks[1:], ticks[2:])
                if v.n == u.n + 1 and u.t - w.t >= STEADY * period and v.t - u.t >= STEADY * period]
        return float(np.median(gaps[-UNIT_GAPS:])) if len(gaps) >= UNIT_GAPS else period

    def _renumber_run(self, t: float, n: int) -> None:
        """Clocks bunched before t were held by a stall: number the run back from t's index n (but
        above the clock before the run), and run the filter again over it."""
        period = self._state[2]
        ticks = list(self.ticks)
        start, newer = len(ticks), t
        while start > 1 and ticks[start - 1].before is not None and newer - ticks[start - 1].t < BUNCHED * period:
            start -= 1
            newer = ticks[start].t
        count = len(ticks) - start + 1
        top = max(n, ticks[start - 1].n + count)
        self._replace(start, t, top - count + 1, ticks[start].before if start < len(ticks) else self._state)

    def _caught_up(self, t: float, n: int) -> bool:
        """A clock exactly on the anchor's grid at the index that loses no clock since the anchor,
        where the numbering would have had it later: the clocks since the anchor were late (a queue
        draining after a stall), not early at a new tempo. Number them on from the anchor, and the
        model goes back to the anchor's."""
        if self._anchor is None:
            return False
        seq, pulse, state = self._anchor
        expected = pulse + self._count - seq
        ref, a, period = state[:3]
        if n <= expected or abs(ref + (t - a) / period - expected) > ON_GRID:
            return False
        ticks = list(self.ticks)
        start = next((i for i, u in enumerate(ticks) if u.seq > seq), len(ticks))
        if start == 0 or ticks[start - 1].seq != seq:
            return False  # the anchor is no longer remembered
        self._replace(start, t, pulse + 1, state)
        return True

    def _replace(self, start: int, t: float, first_index: int, state: tuple) -> None:
        """Number the remembered clocks from position ``start`` on, and then t, consecutively from
        ``first_index``, running the filter over them again from ``state``."""
        popped = list(self.ticks)[start:]
        anchor = self.ticks[start - 1].n
        for _ in popped:
            self.ticks.pop()
        self.renumbered -= self.next_pulse - (anchor + 1) - len(popped)
        self.late -= sum(not u.used for u in popped)
        self.next_pulse = anchor + 1
        self._state = state
        for j, u in enumerate(popped):
            self._append(u.t, first_index + j, u.seq)
        self._append(t, first_index + len(popped), self._count)

    # --- the filter ---------------------------------------------------------------------------
    def _start_model(self) -> None:
        """The first clocks: numbered by their intervals, the line their least-squares fit."""
        stamps = self._init
        self.ticks.clear()
        if len(stamps) == 1:
            n = np.array([self._first])
        else:
            gaps = np.diff(stamps)
            if self.cycle > COARSE * float(np.median(gaps)):
                steps = pulses_by_place(gaps)
            else:
                unit = max(float(gaps.min()), 1e-6)
                unit = float(np.median(gaps[gaps < 1.5 * unit]))  # the single intervals' median
                for _ in range(2):  # number by the unit, then again by the numbered clocks' mean period
                    steps = np.maximum(1, np.round(gaps / unit)).astype(int)
                    unit = float(gaps.sum() / steps.sum())
            n = self._first + np.concatenate([[0], np.cumsum(steps)])
        self.renumbered = self._renumbered_before + int(n[-1]) + 1 - self._first - len(stamps)
        self.next_pulse = int(n[-1]) + 1
        self._fit_line(n.astype(float), np.asarray(stamps, float), self.period if len(stamps) < 3 else None)
        for seq, (u, m) in enumerate(zip(stamps, n), 1):
            tick = _Tick(u, int(m), seq, None)  # a burst is never numbered into these
            tick.used = True  # they made the line
            self.ticks.append(tick)
        self._anchor = (len(stamps), int(n[-1]), self._state)

    def _fit_line(self, p: np.ndarray, t: np.ndarray, prior: float | None) -> None:
        """Set the model to the least-squares line through (p, t), referred to its last pulse, with
        its covariance; with fewer than three points the period is the prior (one point) or their
        slope (two)."""
        ref = float(p[-1])
        if len(p) == 1:
            period = float(prior)
            self._state = (ref, float(t[-1]), period, self._var, 0.0, (0.1 * period) ** 2)
            self.period = period
            return
        x = p - ref
        design = np.stack([np.ones_like(x), x], axis=1)
        coef, *_ = np.linalg.lstsq(design, t, rcond=None)
        a, period = float(coef[0]), float(coef[1])
        lo, hi = period_of(MAX_TEMPO * 2), period_of(MIN_TEMPO / 2)
        period = min(max(period, lo), hi)
        if len(p) > 2:
            resid = t - (a + x * period)
            self._var = max(float(np.dot(resid, resid)) / (len(p) - 2), MIN_SIGMA ** 2)
        cov = self._var * np.linalg.inv(design.T @ design)
        if len(p) == 2:
            cov = cov + np.diag([0.0, (0.05 * period) ** 2])
        self._state = (ref, a, period, float(cov[0, 0]), float(cov[0, 1]), float(cov[1, 1]))
        self.period = period

    def _update(self, tick: _Tick) -> None:
        """One Kalman step: predict to the clock's pulse, gate its innovation, update (a, P)."""
        ref, a, period, caa, cap, cpp = self._state
        d = tick.n - ref
        q = (RAMP * period) ** 2 * (1 + MANEUVER * self._bias ** 2)
        a_p = a + d * period
        caa = caa + 2 * d * cap + d * d * cpp + q * d ** 3 / 3
        cap = cap + d * cpp + q * d * d / 2
        cpp = cpp + q * d
        nu = tick.t - a_p
        sd = math.sqrt(caa + self._var)
        if abs(nu) > max(GATE_PERIODS * period, 5 * sd):
            self.late += 1
            return
        r = self._var * max(1.0, abs(nu) / (3 * sd))  # Huber: beyond 3 σ, weight falls as 1/|ν|
        s = caa + r
        k0, k1 = caa / s, cap / s
        lo, hi = period_of(MAX_TEMPO * 2), period_of(MIN_TEMPO / 2)
        period = min(max(period + k1 * nu, lo), hi)
        self._state = (tick.n, a_p + k0 * nu, period, caa - k0 * caa, cap - k0 * cap, cpp - k1 * cap)
        self.period = period
        tick.used = True
        if abs(nu) < ON_MODEL * period and self._steady_interval(tick, period):
            self._anchor = (tick.seq, tick.n, self._state)
        if self._last_nu is not None:  # jitter from successive innovations: blind to a slow lag
            alpha = 2.0 / (self.window + 1)
            jump = (nu - self._last_nu) ** 2 / 2
            self._var = max((1 - alpha) * self._var + alpha * min(jump, 9 * self._var), MIN_SIGMA ** 2)
        self._last_nu = nu
        self._bias += BIAS_RATE * (max(-5.0, min(5.0, nu / sd)) - self._bias)

    def _steady_interval(self, tick: _Tick, period: float) -> bool:
        """Is the time since the clock before ``tick`` its pulses' worth at this period? A clock of
        a tempo that fell can land on the old line at an index a pulse too far, but not a whole
        number of old periods after the clock before it, so it never becomes the anchor."""
        if len(self.ticks) < 2 or self.ticks[-1] is not tick:
            return True
        before = self.ticks[-2]
        return abs((tick.t - before.t) / period - (tick.n - before.n)) < STEADY_INTERVAL

    def _detect_tempo_change(self) -> None:
        """Reset the model to a line of the clocks' own when the model has lost them (its newest
        OFF_MODEL predictions all miss on one side by more than jitter, or half of the last
        2·RECENT clocks were gated out) and the clocks from the anchor (the last on the model) on
        make a line: numbered again by their own intervals (the median single interval is the new
        period), each within jitter of it. That is a tempo change, which starts where the old tempo
        ended, or a ramp the filter fell behind; a clock numbered a pulse off while the model lagged
        is put right. A late clock alone, a stall's burst (bunched), or a queue draining after a
        stall (whose first clock is late, so the anchor is off its line) never does. With the
        anchor forgotten, the last 2·RECENT clocks make the line."""
        ticks = list(self.ticks)
        if len(ticks) < RECENT:
            return
        ref, a, period = self._state[:3]
        sigma = math.sqrt(self._var)
        off = [u.t - (a + (u.n - ref) * period) for u in ticks[-OFF_MODEL:]]
        limit = max(0.15 * period, 4 * sigma)
        gated = sum(not u.used for u in ticks[-2 * RECENT:])
        if not (min(off) > limit or max(off) < -limit or gated >= RECENT):
            return
        seq = self._anchor[0] if self._anchor is not None else -1
        run = [u for u in ticks if u.seq >= seq]
        if not run or run[0].seq != seq or run[0].before is None and len(run) > 4 * RECENT:
            run = ticks[-2 * RECENT:]
        t = np.array([u.t for u in run])
        gaps = np.diff(t)
        single = gaps[(gaps > 0.6 * period) & (gaps < 1.5 * period)]
        if len(run) < RECENT or gaps.min() < BUNCHED * period or len(single) < RECENT // 2:
            return
        if self.cycle > COARSE * period:
            steps = pulses_by_place(gaps)
        else:
            steps = np.maximum(1, np.round(gaps / float(np.median(single))))
        p = run[0].n + np.concatenate([[0], np.cumsum(steps)])
        pm, tm = p[1:].mean(), t[1:].mean()  # the line of the clocks after the anchor ...
        x = p[1:] - pm
        slope = float(np.dot(x, t[1:] - tm) / np.dot(x, x))
        resid = t - tm - (p - pm) * slope  # ... must meet the anchor too (a tempo that fell may have
        # fallen anywhere between the anchor and the clock after it, which puts the anchor after the
        # new line by up to the two periods' difference over that span; clocks that come faster
        # after a late one are as often a queue draining, so they must meet it as they are)
        fit = max(0.15 * slope, 3.5 * sigma)
        if (np.abs(resid[1:]).max() > fit or abs(resid[0]) > fit + max(slope - period, 0.0) * (p[1] - p[0])
                or not 0.5 < slope / period < 2):
            return
        self.resets += 1
        shift = int(p[-1]) - run[-1].n
        for u, n in zip(run, p):
            u.n = int(n)
        self.next_pulse += shift
        self.renumbered += shift
        self._fit_line(p.astype(float), t, None)
        self._anchor = (run[-1].seq, run[-1].n, self._state)

    # --- answers ------------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """Running with at least two pulses seen since Start/Continue (a time base exists)."""
        return self.running and self._count >= 2

    def time_of_pulse(self, pulse: float) -> float:
        with self._lock:
            if self._state is None:
                raise RuntimeError("no MIDI clock yet")
            ref, a, period = self._state[:3]
            return a + (pulse - ref) * period

    def step_len(self, bar: int) -> float:
        return self.period * PULSES_PER_STEP

    def bar_at(self, t: float) -> int:
        """The bar holding time t, by the model."""
        with self._lock:
            if self._state is None:
                raise RuntimeError("no MIDI clock yet")
            return math.floor(self._index_at(t) / self.bar_pulses)
