"""The performer-following clock (srlive.clocks.beat_tracker, srlive.clocks.following) on simulated onsets.

A performer plays note positions (sixteenth steps from bar 1) on a tempo curve, one tempo a
quarter note; the clock hears each onset on a fake clock and is asked, 2 ms before each judged
position is due, when that position is: its answer is what srlive would play there. Errors are
against the performer's own grid (a position between two quarter notes lies linearly between them).
"""

from __future__ import annotations

import numpy as np
import pytest

from srlive.clocks.beat_tracker import MAX_SHIFT, BeatTracker
from srlive.contract import METERS
from srlive.clocks.following import FollowingClock

FOUR = METERS["4/4"]
#: a folk-tune rhythm of two bars (steps): quarters, eighths, a dotted figure and a long note
TUNE = [0, 2, 4, 6, 8, 12, 14, 16, 18, 20, 28, 31]


def positions(bars: int, pattern=TUNE, span: int = 32) -> np.ndarray:
    pos = [p + k * span for k in range(bars * 16 // span + 1) for p in pattern]
    return np.array([p for p in pos if p < bars * 16])


def grid(tempi) -> np.ndarray:
    """Each quarter note's time, from a tempo a quarter note."""
    return np.concatenate([[0.0], np.cumsum(60.0 / np.asarray(tempi, float))])


def at(beats: np.ndarray, pos) -> np.ndarray:
    q = np.asarray(pos, float) / 4.0
    k = np.clip(np.floor(q).astype(int), 0, len(beats) - 2)
    return beats[k] + (q - k) * (beats[k + 1] - beats[k])


def play(onsets, judged, tempo=120.0, known=True, meter=FOUR, lead=0.002):
    """Feed ``onsets`` (seconds, the first one bar 1's downbeat) as they come and read the clock
    ``lead`` before each of ``judged`` (steps) is due; (the clock, the times it gave)."""
    now = [float(onsets[0])]
    clock = FollowingClock(tempo, meter, known=known, now=lambda: now[0])
    clock.start(onsets[0], onset=True)
    rest = list(onsets[1:])
    played = []
    for q in judged:
        while True:
            due = clock.time_of_step(q)
            if rest and rest[0] < due - lead:
                now[0] = rest[0]
                clock.hear(rest.pop(0))
            else:
                break
        played.append(due)
    return clock, np.array(played)


def test_a_steady_performer_hears_a_fixed_tempo_exactly():
    """Onsets on a 120 BPM grid with ±2.5 ms of input jitter (JACK stamps input once a cycle, and a
    loaded machine adds some): the clock never moves off the line a fixed --tempo 120 plays (no
    wandering from its own noise)."""
    rng = np.random.default_rng(1)
    pos = positions(32)
    onsets = pos * 0.125 + np.r_[0.0, rng.uniform(-0.0025, 0.0025, len(pos) - 1)]
    judged = np.arange(16, 32 * 16, 2)
    clock, played = play(onsets, judged)
    assert np.abs(played - judged * 0.125).max() < 1e-9
    assert clock.replans == 0 and clock.tempo == pytest.approx(120.0)
    assert [clock.time_at(b) for b in (1, 8, 31)] == pytest.approx([2.0, 16.0, 62.0], abs=1e-9)


def test_drift_is_followed_within_a_few_milliseconds():
    """+8 % over 16 bars, then back: after the first two bars every judged step within 12 ms."""
    tempi = 120 * np.r_[np.linspace(1, 1.08, 64), np.linspace(1.08, 1.0, 64)]
    beats = grid(tempi)
    pos = positions(32)
    judged = np.arange(32, 32 * 16, 2)
    _, played = play(at(beats, pos), judged)
    err = np.abs(played - at(beats, judged))
    assert err.max() < 0.012, f"{err.max() * 1000:.1f} ms"
    fixed = np.abs(judged * 0.125 - at(beats, judged))
    assert fixed.max() > 1.0  # the fixed tempo is a second off by then


def test_ritardando_and_a_tempo_come_back_within_two_bars():
    """Phrases of six bars, the last two slowing down by 15 %, the next starting a tempo: from two
    bars after each a tempo the clock is within 15 ms, and nothing is half a beat off."""
    quarter = np.arange(18 * 4) / 4.0
    slow = np.clip((np.mod(quarter, 6) - 4) / 2, 0, 1)
    beats = grid(120 * (1 - 0.15 * slow))
    pos = positions(18)
    judged = np.arange(16, 18 * 16, 2)
    _, played = play(at(beats, pos), judged)
    err = np.abs(played - at(beats, judged))
    assert err.max() < 0.25 * 0.5
    for phrase in (1, 2):
        back = (judged >= (phrase * 6 + 2) * 16) & (judged < (phrase * 6 + 4) * 16)
        assert err[back].max() < 0.015, f"phrase {phrase + 1}: {err[back].max() * 1000:.1f} ms"


def test_onset_jitter_is_not_chased():
    """A steady performer with ± 15 ms on every onset: the clock stays within the jitter's size of the
    grid (p95 under 20 ms, nothing 30 ms off) and at the tempo."""
    rng = np.random.default_rng(3)
    pos = positions(32)
    onsets = pos * 0.125 + np.r_[0.0, rng.uniform(-0.015, 0.015, len(pos) - 1)]
    judged = np.arange(16, 32 * 16, 2)
    clock, played = play(onsets, judged)
    err = np.abs(played - judged * 0.125)
    assert np.percentile(err, 95) < 0.020 and err.max() < 0.03
    assert clock.tempo == pytest.approx(120.0, rel=0.01)


def test_ornaments_between_beats_hardly_pull():
    """Quarter notes on the beats with grace notes 40 ms before every other beat and a triplet
    each bar (off the sixteenths): the grid stays within 4 ms and the tempo at 120."""
    on = []
    for bar in range(16):
        for beat in range(4):
            t = bar * 2.0 + beat * 0.5
            if beat % 2 and bar:
                on.append(t - 0.04)
            on.append(t)
        on += [bar * 2.0 + 1.5 + k / 6 for k in (1, 2)]  # the triplet's 2nd and 3rd notes
    onsets = np.array(sorted(on))
    judged = np.arange(16, 16 * 16, 2)
    clock, played = play(onsets, judged)
    assert np.abs(played - judged * 0.125).max() < 0.004
    assert clock.tempo == pytest.approx(120.0, rel=0.005)


def test_rests_hold_the_tempo_and_the_bar_grid():
    """Four bars at 110 BPM, four bars of silence, then the performer comes back on the grid: the
    silent bars go on at the tempo and the grid is where it was."""
    step = 15.0 / 110
    pos = np.r_[positions(4), positions(4) + 8 * 16]
    onsets = pos * step
    judged = np.arange(16, 12 * 16, 2)
    clock, played = play(onsets, judged, tempo=110.0)
    assert np.abs(played - judged * step).max() < 0.002
    assert clock.tempo == pytest.approx(110.0, rel=0.002)


@pytest.mark.parametrize("factor", [2.0, 0.5])
def test_a_tempo_doubled_or_halved_is_read_as_double_or_half_time(factor):
    """Eight bars at 120, then the performer's beats twice (or half) as fast: srlive keeps 120 BPM
    and its bar grid, the performer's notes read as double (or half) time on it."""
    beats = grid(np.r_[np.full(32, 120.0), np.full(64, 120.0 * factor)])
    quarters = np.arange(32 + 64)
    onsets = beats[quarters]  # a note on each of the performer's quarter notes
    srlive_pos = np.r_[quarters[:32] * 4, 128 + (quarters[32:] - 32) * 4 / factor]
    end = srlive_pos[-1]
    judged = np.arange(16, int(end), 2)
    clock, played = play(onsets, judged)
    assert clock.tempo == pytest.approx(120.0, rel=0.01)
    assert np.abs(played - judged * 0.125).max() < 0.005


def test_the_tempo_is_found_in_the_first_bar_when_not_given():
    """No --tempo and no count-in: a performer at 92 BPM (quarters and eighths) is found from the
    first bar: bar 2 starts within 10 ms of theirs and the tempo is within 1 %."""
    step = 15.0 / 92
    pos = positions(8)
    judged = np.arange(16, 8 * 16, 2)
    clock, played = play(pos * step, judged, tempo=120.0, known=False)
    assert clock.tempo == pytest.approx(92.0, rel=0.01)
    assert abs(played[0] - 16 * step) < 0.010
    assert np.abs(played - judged * step).max() < 0.010


def test_a_fill_moves_a_bar_by_at_most_the_bound():
    """Random notes all over one bar (a fill, a stumble) move where that bar ends by at most
    MAX_SHIFT of a bar from where the clock had it."""
    rng = np.random.default_rng(5)
    tracker = BeatTracker(120.0)
    tracker.start(0.0)
    for p in positions(4)[1:]:
        tracker.onset(p * 0.125)
    before = tracker.time_of(5 * 16)
    for t in np.sort(rng.uniform(8.0, 9.9, 24)):
        tracker.onset(t)
    assert abs(tracker.time_of(5 * 16) - before) <= MAX_SHIFT * 2.0 + 1e-9


def test_the_clock_never_jumps_and_never_changes_its_past():
    """Whatever it hears (here: a wandering human performance), time increases with position
    without a jump (a step's time never moves by more than the bend allows from one step to the
    next), and a position already past keeps the time it had."""
    rng = np.random.default_rng(7)
    beats = grid(120 * (1 + 0.05 * np.sin(np.arange(64) / 5)) / (1 + rng.normal(0, 0.03, 64)))
    pos = positions(16)
    onsets = at(beats, pos) + np.r_[0.0, rng.uniform(-0.015, 0.015, len(pos) - 1)]
    now = [0.0]
    clock = FollowingClock(120.0, FOUR, now=lambda: now[0])
    clock.start(0.0, onset=True)
    fine = np.arange(0, 16 * 16, 0.25)
    past: dict[float, float] = {}
    for t in onsets[1:]:
        now[0] = t
        clock.hear(t)
        times = np.array([clock.time_of_step(q) for q in fine])
        gaps = np.diff(times)
        assert (gaps > 0).all()
        assert gaps.max() < 0.25 * 0.125 * 1.6  # a quarter step at most 60 % longer than at 120 BPM
        for q, was in past.items():
            assert clock.time_of_step(q) == pytest.approx(was, abs=1e-9)
        past.update({q: u for q, u in zip(fine, times) if u < t})
        assert clock.bar_at(t) == int(clock.step_at(t) // 16)


def test_following_off_keeps_the_tempo_it_was_playing():
    """A live control turns following off: later onsets change nothing; on again, it follows."""
    now = [0.0]
    clock = FollowingClock(120.0, FOUR, now=lambda: now[0])
    clock.start(0.0, onset=True)
    clock.set_following(False)
    late = 0.125 * np.arange(2, 64, 2) * 1.05  # a performer 5 % slower
    for t in late:
        now[0] = t
        clock.hear(t)
    assert clock.time_at(4) == pytest.approx(8.0) and clock.replans == 0
    clock.set_following(True)
    for t in 8.0 + 0.125 * 1.05 * np.arange(2, 64, 2):
        now[0] = t
        clock.hear(t)
    assert clock.tempo == pytest.approx(120 / 1.05, rel=0.01)
