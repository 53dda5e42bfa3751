"""The pure maths behind the real-port tests and the timing benchmarks."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.analysis import drift, figures_ms, grid_deviation, grid_index, pair_notes, peer_beats


def test_pairs_note_ons_with_offs_and_velocity_zero():
    heard = pair_notes([
        (1.0, [0x90, 60, 100]), (1.5, [0x80, 60, 0]),
        (2.0, [0x91, 62, 90]), (2.2, [0x91, 62, 0]),
        (3.0, [0x90, 64, 80]),
        (3.5, [0xB0, 123, 0]),
        (4.0, [0x80, 70, 0]),
    ])
    assert [(n.on, n.off, n.channel, n.pitch, n.velocity) for n in heard.notes] == [
        (1.0, 1.5, 0, 60, 100), (2.0, 2.2, 1, 62, 90)]
    assert heard.stuck == [(3.0, 0, 64)]  # CC 123 does not excuse a missing note-off
    assert heard.all_notes_off == [(3.5, 0)]
    assert heard.stray_offs == 1


def test_a_retrigger_closes_the_sounding_note_and_is_counted():
    heard = pair_notes([(0.0, [0x90, 60, 1]), (0.1, [0x90, 60, 2]), (0.2, [0x80, 60, 0])])
    assert [(n.on, n.off, n.velocity) for n in heard.notes] == [(0.0, 0.1, 1), (0.1, 0.2, 2)]
    assert heard.retriggers == 1 and heard.stuck == []


def test_events_are_taken_in_time_order():
    heard = pair_notes([(2.0, [0x80, 60, 0]), (1.0, [0x90, 60, 9])])
    assert heard.notes[0].on == 1.0 and heard.stuck == []


@given(st.floats(-100, 100), st.floats(0.01, 1.0), st.lists(st.integers(-500, 500), min_size=1, max_size=20),
       st.floats(-0.4, 0.4))
def test_grid_deviation_recovers_the_offset_and_index(origin, step, ks, frac):
    times = [origin + k * step + frac * step for k in ks]
    dev = grid_deviation(times, origin, step)
    assert np.allclose(dev, frac * step, atol=1e-6)
    assert list(grid_index(times, origin, step)) == ks


def test_figures_are_absolute_milliseconds():
    fig = figures_ms([0.001, -0.002, 0.0005, 0.003])
    assert fig["count"] == 4 and fig["max"] == 3.0 and fig["median_signed"] == pytest.approx(0.75)
    assert figures_ms([])["count"] == 0


def test_drift_sees_a_slowly_walking_grid_and_not_a_steady_one():
    period = 1.0
    steady = [10 + k * period + 0.0003 * ((-1) ** k) for k in range(200)]
    walking = [10 + k * period * (1 + 1e-5) for k in range(200)]
    assert abs(drift(steady, 10, period)[1]) < 1e-4
    assert drift(walking, 10, period)[1] == pytest.approx(199 * 1e-5, rel=1e-3)


def test_peer_beats_count_from_the_nearest_snapshot_so_a_clock_rate_difference_does_not_add_up():
    """The peer's clock runs 50 ppm fast against perf_counter: its beat at perf time t is
    (t - 100) · 133/60 · (1 + 50e-6). Snapshots every 0.5 s; 180 s later a single snapshot would
    be off by 9 ms, the nearest one stays within 13 µs."""
    rate = 133 / 60 * (1 + 50e-6)
    snaps = [(100 + 0.5 * k, 0.5 * k * rate, 133.0) for k in range(361)]
    times = np.linspace(100.1, 280.0, 977)
    beats = peer_beats(times, snaps)
    err_s = np.abs(beats - (times - 100) * rate) * 60 / 133
    assert err_s.max() < 15e-6
    one = peer_beats(times, snaps[:1])
    assert np.abs(one - (times - 100) * rate).max() * 60 / 133 > 8e-3


def test_peer_beats_follow_a_jump_of_the_peers_timeline_from_the_next_snapshot_on():
    snaps = [(0.0, 0.0, 120.0), (1.0, 2.0, 120.0), (2.0, 5.0, 120.0)]  # the peer's beat jumped by 1
    assert list(peer_beats([0.9, 1.2, 1.9, 2.1], snaps)) == pytest.approx([1.8, 2.4, 4.8, 5.2])
    assert peer_beats([], snaps).size == 0 and np.isnan(peer_beats([1.0], [])).all()


def test_nearest_deviation_follows_a_grid_whose_step_changes():
    from benchmarks.analysis import nearest_deviation

    grid = np.concatenate([np.arange(0, 1.0, 0.125), 1.0 + np.arange(0, 1.0, 0.1)])  # 120 → 150 BPM at 1 s
    times = [0.126, 0.999, 1.102, 1.297, 1.5]
    assert nearest_deviation(times, grid) == pytest.approx([0.001, -0.001, 0.002, -0.003, 0.0])
    assert nearest_deviation([], grid).size == 0
