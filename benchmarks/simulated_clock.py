"""A simulated DAW clock and a measure of how well a clock follower places its bars on it.

Pure (no ports, no sleeps): ``clock_arrivals`` gives the true time of every pulse of a DAW playing at
a tempo (with an optional jump or ramp to another) and the stamps a follower would see on a busy
machine: per-clock jitter, clocks lost at random (alone or in runs), and stalls that hold the
clocks of a span and release them in a burst. ``follow`` feeds those stamps to a follower in time
order and, just before each true downbeat, asks it where that bar begins, and just after, which
bar it is in. The tests and ``benchmarks/clock_follower.py`` share it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from srlive.contract import PULSES_PER_BAR, PULSES_PER_QUARTER

BURST_SPACING = 1e-4  # seconds between the clocks of a burst released after a stall


@dataclass(frozen=True)
class ClockScenario:
    """A DAW's clock and what the machine does to it on the way in."""

    tempo: float = 150.0  # BPM at the start
    bars: int = 100
    jitter: float = 0.05  # each stamp is off by up to ± this share of a period (uniform)
    drop: float = 0.0  # share of clocks that never arrive
    max_run: int = 1  # lost clocks come in runs of 1..max_run
    stall: float = 0.0  # seconds a stall holds the clocks back (0: no stalls)
    stall_every: int = 4  # bars between stalls (each starts at a random point in its bar)
    change_to: float | None = None  # tempo after a change
    change_at: float = 50.5  # bar (may be fractional) where the change begins
    ramp_bars: float = 0.0  # 0: a jump; else the change is a linear ramp over this many bars
    cycle: float = 0.0  # seconds: stamps are taken at the start of the audio cycle after arrival
    # (python-rtmidi on JACK), less the half cycle the input latency takes off; 0: not quantised
    seed: int = 0


def true_pulse_times(s: ClockScenario) -> np.ndarray:
    """The DAW's time of every pulse, pulse 0 at t = 0 (bar 1's downbeat)."""
    n = s.bars * PULSES_PER_BAR + 1
    bars = np.arange(n) / PULSES_PER_BAR
    tempo = np.full(n, float(s.tempo))
    if s.change_to is not None:
        if s.ramp_bars > 0:
            share = np.clip((bars - s.change_at) / s.ramp_bars, 0.0, 1.0)
        else:
            share = (bars >= s.change_at).astype(float)
        tempo = s.tempo + share * (s.change_to - s.tempo)
    periods = 60.0 / (tempo * PULSES_PER_QUARTER)
    return np.concatenate([[0.0], np.cumsum(periods[:-1])])


def _lost(s: ClockScenario, n: int, rng: np.random.Generator) -> np.ndarray:
    """Which clocks never arrive: runs of 1..max_run lengths, a share ``drop`` in all; pulse 0 (the
    first clock after Start, which defines bar 1) always arrives."""
    lost = np.zeros(n, bool)
    if s.drop <= 0:
        return lost
    mean_run = (1 + s.max_run) / 2
    p_start = s.drop / (mean_run * (1 - s.drop) + s.drop)
    i = 1
    while i < n:
        if rng.random() < p_start:
            run = int(rng.integers(1, s.max_run + 1))
            lost[i:i + run] = True
            i += run
        else:
            i += 1
    return lost


def clock_arrivals(s: ClockScenario) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(true pulse times, indices of the clocks that arrive, their stamps in arrival order)."""
    rng = np.random.default_rng(s.seed)
    true = true_pulse_times(s)
    n = len(true)
    period = np.diff(true, append=true[-1] + (true[-1] - true[-2]))
    stamps = true + rng.uniform(-s.jitter, s.jitter, n) * period
    if s.stall > 0:
        bar_len = true[PULSES_PER_BAR]
        for b in range(s.stall_every, s.bars, s.stall_every):
            begin = true[b * PULSES_PER_BAR] + rng.uniform(0, bar_len)
            held = np.flatnonzero((stamps >= begin) & (stamps < begin + s.stall))
            stamps[held] = begin + s.stall + np.arange(len(held)) * BURST_SPACING
    stamps = np.maximum.accumulate(stamps)  # a burst's tail never overtakes the clocks after it
    if s.cycle > 0:
        phase = rng.uniform(0, s.cycle)
        stamps = np.ceil((stamps - phase) / s.cycle) * s.cycle + phase - s.cycle / 2
    keep = np.flatnonzero(~_lost(s, n, rng))
    return true, keep, stamps[keep]


@dataclass
class FollowResult:
    errors: np.ndarray  # time_at(bar, 0) − true downbeat, asked LEAD before it, for bars 1..bars-1
    bar_wrong: np.ndarray  # bars whose bar_at(true downbeat + after) was not the bar (indices)
    follower: object


LEAD = 0.001  # seconds before a downbeat the follower is asked where it lies


def follow(make: Callable[[], object], s: ClockScenario, after: float = 0.001) -> FollowResult:
    """Feed the scenario's clocks to a new follower in time order; ask it about every downbeat:
    LEAD before it where the bar begins, ``after`` it which bar it is in."""
    true, index, stamps = clock_arrivals(s)
    f = make()
    f.feed("start", -0.005)
    downbeats = true[::PULSES_PER_BAR][: s.bars]
    errors, wrong = [], []
    k = 0

    def feed_until(t: float) -> None:
        nonlocal k
        while k < len(stamps) and stamps[k] < t:
            f.feed("clock", float(stamps[k]))
            k += 1

    for bar, downbeat in enumerate(downbeats):
        if bar > 0:
            feed_until(downbeat - LEAD)
            errors.append(f.time_at(bar, 0) - downbeat)
        feed_until(downbeat + after)
        if k > 0 and f.bar_at(downbeat + after) != bar:
            wrong.append(bar)
    return FollowResult(np.asarray(errors), np.asarray(wrong, int), f)
