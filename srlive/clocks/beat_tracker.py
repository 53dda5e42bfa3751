"""Following a performer's tempo and beat from their note onsets (pure: numbers in, numbers out).

Fed the performer's note onsets (arrival stamps with the input latency already taken off), a
``BeatTracker`` keeps an estimate of the performer's grid: the line t(p) = a + (p − ref)·P from a
position p (sixteenth steps since bar 1's downbeat, the performer's first note) to a time, with the
time ``a`` of position ``ref`` (phase) and ``P`` seconds a step (tempo), tracked by a Kalman filter.

- Which sixteenth an onset belongs to is not always plain: after a long note in a ritardando a
  note can come most of a step after its beat, just before the sixteenth after it. So the tracker
  keeps a few readings (a beam of BEAM hypotheses, each a Kalman filter with its own numbering of
  the onsets) and plays the likeliest. Each onset extends every reading by the sixteenths near its
  prediction, and by leaving the onset out (an ornament off the grid: a triplet, a grace note, a
  flam, at SKIP_COST more than an onset where the reading expects one); a reading's cost adds up
  its onsets' surprise (the innovation against its spread) and where they land (LEVEL_COST: a beat is likelier than an eighth, an eighth than a
  sixteenth between them), forgetting slowly (FORGET an onset), and only the cheapest BEAM go on.
  A wrong choice is dropped once the next notes show it wrong, instead of shifting the grid for good.
- Where an onset lands sets how hard it pulls: a beat (the meter's counted beats) most, an eighth
  less, a sixteenth least (its measurement noise is LEVEL_NOISE times a beat's), so an ornament or
  a pickup between beats hardly moves the clock. The notes of a chord (within CHORD seconds) are
  one onset. Beyond HUBER standard deviations an onset's weight falls as 1/|innovation|.
- The phase wanders as a person's beats do (PHASE_WALK of a quarter note a quarter note, a random
  walk) and the period drifts (TEMPO_WALK), faster while the onsets keep landing on one side of
  the line (MANEUVER: a ritardando, an accelerando); where the performer rests or holds long notes
  no onset comes, nothing is updated and the tempo holds, and the notes after a rest are expected
  on the grid (the uncertainty grows over at most REST_QUARTERS).
- Bounded per bar: within one bar the onsets may move the tempo by at most MAX_TEMPO_CHANGE and
  the bar's end by at most MAX_SHIFT of a bar from where the line put them when the bar began, so
  a fill, a stumble or the first notes after a pause cannot throw the grid.
- A tempo halved or doubled is read as the performer playing in half or double time: their notes
  still fall on the grid (double time's beats on its eighths, half time's on every other beat) and
  the period only drifts, so the tempo stays.
- Starting tempo: ``tempo`` (``--tempo``, or the count-in's) when ``known``; else it is found in
  the performer's first bar: the beam starts with readings at FIRST_TEMPI tempos between half and
  twice ``tempo`` (preferring it: FIRST_BAR_PRIOR), which the first notes thin out. There an eighth
  costs what a beat does (else the reading at twice the tempo, which puts every eighth note on a
  beat, would always win), and once the first bar is over only the readings within FIRST_BAR_KEEP
  of the tempo found go on.

The tracker only estimates; srlive.clocks.following turns the estimate into a bar clock that bends
smoothly towards it and leaves it alone while it moves less than the noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from srlive.contract import DEFAULT_METER, METERS, TEMPO_RANGE, Meter

MIN_TEMPO, MAX_TEMPO = TEMPO_RANGE
CHORD = 0.035  # seconds: an onset this soon after the last is of the same chord (not used)
BEAT_NOISE = 0.012  # seconds: a beat onset's measurement noise (a player's jitter, the input's)
LEVEL_NOISE = (1.0, 1.5, 2.5)  # ... times this on a beat, an eighth, a sixteenth between them
LEVEL_COST = (0.0, 0.7, 2.0)  # how much less likely a note is on an eighth, a sixteenth (−log)
PHASE_WALK = 0.03  # a quarter note's share the phase wanders a quarter note (random walk)
TEMPO_WALK = 0.025  # the period's share it drifts a quarter note (random walk) ...
MANEUVER = 8.0  # ... times 1 + MANEUVER·bias² while the onsets lag on one side (a ritardando)
BIAS_RATE = 0.25  # the bias is a running mean over about four onsets
REST_QUARTERS = 2.0  # a rest widens the phase and tempo no more than two quarter notes do: the
#                      performer counts through it, and comes back on the grid
HUBER = 2.5  # standard deviations beyond which an onset's weight falls
BEAM = 8  # readings kept
SKIP_COST = 2.5  # what leaving an onset out costs a reading
BRANCH = 6.0  # sixteenths costing more than this beyond a reading's best are not tried
FORGET = 0.93  # a reading's cost is multiplied by this at each onset
SAME = 0.003  # seconds: two readings whose lines are this close are one
MAX_TEMPO_CHANGE = 0.12  # the tempo moves at most this share within one bar
MAX_SHIFT = 0.25  # bars: a bar's end moves at most this far within that bar
FIRST_TEMPI = 25  # first bar, tempo unknown: readings at this many tempos ...
FIRST_BAR_RANGE = 2.0  # ... between tempo/2 and tempo·2 ...
FIRST_BAR_PRIOR = math.log(1.5)  # ... costing (log ratio / this)²/2: the given tempo preferred ...
FIRST_BAR_LEVEL = 1  # ... with eighths (level 1) taken as beats (else twice the tempo wins) ...
FIRST_BAR_KEEP = math.log(1.15)  # readings within 15 % of the tempo found go on past the first bar


def period_of(tempo: float) -> float:
    """Seconds a sixteenth step at ``tempo`` quarter notes a minute."""
    return 15.0 / float(tempo)


def tempo_of(period: float) -> float:
    return 15.0 / float(period)


def level(position: float, meter: Meter) -> int:
    """A step's level in the bar: 0 on a counted beat, 1 on an eighth, 2 on a sixteenth between."""
    s = int(position) % meter.steps
    if s % meter.steps_per_beat == 0:
        return 0
    return 1 if s % 2 == 0 else 2


@dataclass
class _Reading:
    """One hypothesis: a Kalman filter of (a, P) at position ref, and its cost so far."""

    ref: float
    a: float
    period: float
    cov: np.ndarray
    cost: float = 0.0
    bias: float = 0.0
    used: int = 0

    def time_of(self, pos):
        return self.a + (pos - self.ref) * self.period

    def pos_at(self, t):
        return self.ref + (t - self.a) / self.period

    def predict(self, pos: float) -> tuple[float, np.ndarray]:
        """The time of ``pos`` and the covariance of (a, P) moved there (module docstring)."""
        d = pos - self.ref
        quarters = min(abs(d) / 4.0, REST_QUARTERS)
        q_a = (PHASE_WALK * 4 * self.period) ** 2 * quarters
        q_p = (TEMPO_WALK * self.period) ** 2 * quarters * (1 + MANEUVER * self.bias ** 2)
        f = np.array([[1.0, d], [0.0, 1.0]])
        return self.a + d * self.period, f @ self.cov @ f.T + np.diag([q_a, q_p])


@dataclass
class _Bounds:
    """Where the line put bar ``bar``'s end and what its period was when the bar began."""

    bar: int
    end: float
    period: float


class BeatTracker:
    """The performer's grid from their onsets; ``line()`` is the estimate (module docstring)."""

    def __init__(self, tempo: float, meter: Meter = METERS[DEFAULT_METER], known: bool = True):
        self.meter = meter
        self.steps = meter.steps
        self.prior = period_of(min(max(float(tempo), MIN_TEMPO), MAX_TEMPO))
        self.known = bool(known)
        self.beam: list[_Reading] = []
        self.origin: float | None = None
        self.last_onset: float | None = None
        self.bounds: _Bounds | None = None
        self.onsets = 0  # onsets heard (chords as one)
        self.ignored = 0  # onsets of a chord, or before the newest place used

    # --- state --------------------------------------------------------------------------------
    @property
    def started(self) -> bool:
        return bool(self.beam)

    @property
    def best(self) -> _Reading:
        return self.beam[0]

    @property
    def period(self) -> float:
        return self.best.period if self.beam else self.prior

    @property
    def tempo(self) -> float:
        return tempo_of(self.period)

    def line(self) -> tuple[float, float, float]:
        """(ref, a, P): the estimated grid t(p) = a + (p − ref)·P (the likeliest reading's)."""
        b = self.best
        return b.ref, b.a, b.period

    def time_of(self, pos):
        return self.best.time_of(pos)

    def pos_at(self, t):
        return self.best.pos_at(t)

    @property
    def finding_tempo(self) -> bool:
        """Still in the first bar with the tempo unknown (the beam holds readings of many tempos)."""
        return not self.known and self.origin is not None and self.bounds is None

    def start(self, origin: float, onset: bool = True) -> None:
        """Bar 1's downbeat at ``origin``: the performer's first note (``onset``), or a count-in's
        or solo's start (then the tempo is known)."""
        self.origin = float(origin)
        self.last_onset = float(origin) if onset else None
        if not onset:
            self.known = True
        if self.known:
            self.beam = [self._reading(0.0, self.origin, self.prior, 0.02)]
            self.beam[0].used = int(onset)
            self.bounds = _Bounds(0, self.time_of(self.steps), self.prior)
        else:
            span = math.log(FIRST_BAR_RANGE)
            periods = self.prior * np.exp(np.linspace(-span, span, FIRST_TEMPI))
            periods = periods[(periods >= period_of(MAX_TEMPO)) & (periods <= period_of(MIN_TEMPO))]
            self.beam = sorted((self._reading(0.0, self.origin, float(p), 0.04,
                                              0.5 * (math.log(p / self.prior) / FIRST_BAR_PRIOR) ** 2)
                                for p in periods), key=lambda r: r.cost)
            for r in self.beam:
                r.used = 1
            self.bounds = None

    def hold(self, ref: float, a: float, period: float) -> None:
        """Go on from the line t = a + (p − ref)·period (following switched back on)."""
        self.known = True
        self.beam = [self._reading(float(ref), float(a), float(period), 0.02)]
        self.bounds = None

    @staticmethod
    def _reading(ref: float, a: float, period: float, spread: float, cost: float = 0.0) -> _Reading:
        return _Reading(ref, a, period, np.diag([BEAT_NOISE ** 2, (spread * period) ** 2]), cost)

    # --- input --------------------------------------------------------------------------------
    def onset(self, t: float) -> bool:
        """One note onset at time ``t``; True when the likeliest line moved."""
        t = float(t)
        if not self.beam:
            self.start(t)
            return True
        if self.last_onset is not None and t - self.last_onset < CHORD:
            self.ignored += 1
            return False
        self.last_onset = t
        self.onsets += 1
        before = self.line()
        children: list[_Reading] = []
        for r in self.beam:
            children += self._extend(r, t)
        children.sort(key=lambda r: r.cost)
        kept: list[_Reading] = []
        for c in children:
            if all(abs(c.time_of(c.ref) - k.time_of(c.ref)) > SAME or abs(c.period - k.period) > 0.01 * k.period
                   or abs(c.time_of(c.ref + self.steps) - k.time_of(c.ref + self.steps)) > SAME for k in kept):
                kept.append(c)
            if len(kept) >= (len(self.beam) if self.finding_tempo else BEAM):
                break
        self.beam = kept
        if self.finding_tempo and t - self.origin >= (self.steps - 0.5) * max(self.best.period, self.prior):
            # the first bar is over: its tempo found, and only readings near it go on (one of twice
            # the tempo would win in the end by reading every eighth note as a beat)
            p = self.best.period
            self.beam = [r for r in self.beam if abs(math.log(r.period / p)) < FIRST_BAR_KEEP][:BEAM]
            self.bounds = _Bounds(0, self.time_of(self.steps), self.best.period)
        self._bound_bar(self.pos_at(t))
        for r in self.beam:
            self._apply_bounds(r)
        return self.line() != before

    def _extend(self, r: _Reading, t: float) -> list[_Reading]:
        """Reading ``r`` with onset ``t``: at each likely sixteenth near it, and left out."""
        x = r.pos_at(t)
        out: list[_Reading] = []
        tried = []
        for n in range(math.floor(x) - 1, math.floor(x) + 3):
            if r.used and n <= r.ref:
                continue
            lv = level(n, self.meter)
            pred, cov = r.predict(n)
            nu = t - pred
            if self.finding_tempo:
                lv = 0 if lv <= FIRST_BAR_LEVEL else lv
            s = cov[0, 0] + (BEAT_NOISE * LEVEL_NOISE[lv]) ** 2
            placed = LEVEL_COST[lv]
            cost = 0.5 * (nu * nu / s + math.log(s / BEAT_NOISE ** 2)) + placed
            tried.append((cost, n, lv, pred, cov, nu, s))
        forgotten = r.cost * FORGET
        # leaving it out costs SKIP_COST more than an onset right where this reading expects one,
        # as uncertain as the reading is there (after a long rest no place is cheap, and leaving
        # the onset out must not be cheaper for it)
        spread = min((0.5 * math.log(s / BEAT_NOISE ** 2) for *_, s in tried), default=0.0)
        out.append(_Reading(r.ref, r.a, r.period, r.cov, forgotten + SKIP_COST + spread, r.bias, r.used))
        if not tried:
            return out
        low = min(c for c, *_ in tried)
        for cost, n, lv, pred, cov, nu, s in tried:
            if cost > low + BRANCH:
                continue
            sd = math.sqrt(s)
            rr = (BEAT_NOISE * LEVEL_NOISE[lv]) ** 2 * max(1.0, abs(nu) / (HUBER * sd))  # Huber
            gain = cov[:, 0] / (cov[0, 0] + rr)
            bias = r.bias + BIAS_RATE * (max(-4.0, min(4.0, nu / sd)) - r.bias)
            out.append(_Reading(float(n), pred + gain[0] * nu, r.period + gain[1] * nu,
                                cov - np.outer(gain, cov[0, :]), forgotten + cost, bias, r.used + 1))
        return out

    # --- bounds -------------------------------------------------------------------------------
    def _bound_bar(self, pos: float) -> None:
        """A new bar began (by the line): note where its end and its period are, to bound it."""
        if self.bounds is None:
            return
        bar = math.floor(pos / self.steps)
        if bar > self.bounds.bar:
            self.bounds = _Bounds(bar, self.time_of((bar + 1) * self.steps), self.best.period)

    def _apply_bounds(self, r: _Reading) -> None:
        b = self.bounds
        if b is None:
            return
        lo, hi = b.period * (1 - MAX_TEMPO_CHANGE), b.period * (1 + MAX_TEMPO_CHANGE)
        r.period = min(max(r.period, lo, period_of(MAX_TEMPO)), hi, period_of(MIN_TEMPO))
        end = r.time_of((b.bar + 1) * self.steps)
        reach = MAX_SHIFT * self.steps * b.period
        if abs(end - b.end) > reach:
            r.a += min(max(end, b.end - reach), b.end + reach) - end
