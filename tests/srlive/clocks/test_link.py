"""LinkClock: the timeline math on a fake Link session and a fake clock (no network), and two
real Link peers (aalink) inside a private network namespace this test creates."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from srlive.clocks.link import QUANTUM, make_link_clock, measure_offset
from srlive.contract import BEATS_PER_BAR, STEPS
from link_fakes import LINK_EPOCH, make, run_for


def on_bar_line(session, t, tol=1e-6):
    beat = session.session_beat_at(t)
    return abs(beat / BEATS_PER_BAR - round(beat / BEATS_PER_BAR)) * BEATS_PER_BAR < tol


def test_alone_srlive_starts_the_session_and_proposes_its_tempo():
    clk, session, clock = make(tempo=133.0, settle=1.0)
    clock.enable()
    run_for(clk, clock, 0.5)
    assert not clock.ready and session.proposed == []
    run_for(clk, clock, 0.6)
    assert clock.ready and clock.started_session and session.proposed == [133.0]
    assert clock.tempo == pytest.approx(133.0)
    assert clock.generation == 1
    bar = 60.0 * BEATS_PER_BAR / 133.0
    assert clock.time_at(0) >= clk.t + clock.lead - 0.01
    assert clock.time_at(0) < clk.t + clock.lead + bar
    for b in range(5):
        assert clock.time_at(b + 1) - clock.time_at(b) == pytest.approx(bar)
        assert clock.time_at(b, STEPS / 2) == pytest.approx(clock.time_at(b) + bar / 2)
        assert on_bar_line(session, clock.time_at(b))
        assert clock.bar_at(clock.time_at(b) + 0.001) == b
        assert clock.bar_at(clock.time_at(b) - 0.001) == b - 1


def test_joining_takes_the_sessions_tempo_and_bar_lines():
    clk, session, clock = make(tempo=100.0, session_tempo=133.0, beat=37.3, peers=1, join_settle=0.3)
    clock.enable()
    run_for(clk, clock, 0.2)
    assert not clock.ready
    run_for(clk, clock, 0.2)
    assert clock.ready and not clock.started_session and session.proposed == []
    assert clock.tempo == pytest.approx(133.0)
    assert clock.current_bar() == 0 and clock.time_at(0) > clk.t
    for b in range(-1, 8):
        assert on_bar_line(session, clock.time_at(b))
    assert clock.time_of_pulse(96 * 3) == pytest.approx(clock.time_at(3))
    assert clock.step_len(0) == pytest.approx(60.0 * BEATS_PER_BAR / 133.0 / STEPS)


def test_a_tempo_change_mid_bar_moves_the_bar_lines_still_to_come():
    clk, session, clock = make(session_tempo=133.0, beat=2.0, peers=1)
    clock.enable()
    run_for(clk, clock, 0.5)
    t2 = clock.time_at(2)
    run_for(clk, clock, t2 - clk.t + 60.0 / 133.0 * 1.5)  # a beat and a half into bar 2
    before = clock.time_at(3)
    change = clk.t
    session.set_tempo(140.0)
    assert clock.tempo == pytest.approx(140.0)
    after = clock.time_at(3)
    assert after == pytest.approx(change + 2.5 * 60.0 / 140.0)
    assert after < before
    assert clock.time_at(2) < change  # bar 2 began at the old tempo and stays bar 2
    assert clock.bar_at(clk.t) == 2
    run_for(clk, clock, 1.0)
    for b in range(3, 8):
        assert on_bar_line(session, clock.time_at(b))
        assert clock.time_at(b + 1) - clock.time_at(b) == pytest.approx(60.0 * BEATS_PER_BAR / 140.0)


def test_a_whole_bar_jump_of_the_local_numbering_keeps_srlives_bar_count():
    clk, session, clock = make(session_tempo=120.0, beat=1.0, peers=1)
    clock.enable()
    run_for(clk, clock, 0.5)
    t5 = clock.time_at(5)
    session.shift(8.0)
    clock.poll()
    assert clock.time_at(5) == pytest.approx(t5)
    session.shift(1.0)  # a peer forced the beat by a fraction of a bar: the bar lines follow it
    clock.poll()
    assert clock.time_at(5) == pytest.approx(t5 - 0.5)


def test_start_stop_sync_plays_while_the_session_plays():
    started, stopped = [], []
    clk, session, clock = make(session_tempo=120.0, beat=0.7, peers=1, on_start=started.append,
                               on_stop=lambda: stopped.append(True))
    clock.enable()
    run_for(clk, clock, 0.5)
    assert clock.ready and clock.running and not clock.follows_start_stop  # nobody uses start/stop yet
    start = clk.t + 0.1
    session.play(True, at=start)
    clock.poll()
    assert started == [0] and clock.generation == 2 and clock.follows_start_stop
    assert clock.time_at(0) >= start and clock.time_at(0) < start + 2.0
    assert on_bar_line(session, clock.time_at(0)) and clock.bar_at(clock.time_at(1) + 0.01) == 1
    run_for(clk, clock, 3.0)
    session.play(False)
    clock.poll()
    assert stopped == [True] and not clock.running and not clock.ready
    session.play(True, at=clk.t)
    clock.poll()
    assert started == [0, 0] and clock.ready and clock.generation == 3
    assert clock.time_at(0) >= clk.t - 1e-9


def test_the_offset_between_link_time_and_the_engine_clock_is_measured_and_rechecked():
    clk, session, clock = make(session_tempo=120.0, peers=1, recheck=1.0)
    clock.enable()
    assert clock.offset == pytest.approx(LINK_EPOCH)
    run_for(clk, clock, 0.5)
    t3 = clock.time_at(3)
    assert session.session_beat_at(t3) == pytest.approx(clock.bar0 + 3 * QUANTUM)
    session.drift = 0.002  # Link's clock gained 2 ms on the engine's
    run_for(clk, clock, 1.1)
    assert clock.offset == pytest.approx(LINK_EPOCH - 0.002)
    assert clock.time_at(3) == pytest.approx(t3 - 0.002)
    assert on_bar_line(session, clock.time_at(3))


def test_measure_offset_takes_the_tightest_bracket():
    ticks = iter([0.0, 1.0, 10.0, 10.001, 20.0, 20.1])  # brackets of 1 s, 1 ms, 0.1 s
    micros = iter([0.5e6, 5.0e6, 7.0e6])
    assert measure_offset(lambda: next(ticks), lambda: next(micros), tries=3) == pytest.approx(10.0005 - 5.0)


def test_without_the_extra_link_names_the_install(monkeypatch):
    import sys

    from srlive.errors import UserError

    monkeypatch.setitem(sys.modules, "aalink", None)
    with pytest.raises(UserError, match=r'pip install "\.\[link\]"'):
        make_link_clock(120.0)


# --- two real Link peers, inside a private network namespace ------------------------------------
BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"


def _private_netns_problem() -> str | None:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import link_netns
    finally:
        sys.path.remove(str(BENCHMARKS))
    return link_netns.unshare_problem()


@pytest.mark.slow
def test_linkclock_bar_lines_fall_on_a_real_peers_and_follow_its_tempo_change():
    """A peer at 133 BPM and LinkClock (proposing 120) in two processes of one private netns
    (benchmarks/link_timing.py makes it and checks that only lo is there); the peer moves to 140
    mid-bar halfway."""
    pytest.importorskip("aalink", reason='the link extra is not installed (pip install ".[link]")')
    problem = _private_netns_problem()
    if problem:
        pytest.skip(f"no private network namespace for Link peers: {problem}")
    r = subprocess.run([sys.executable, str(BENCHMARKS / "link_timing.py"), "--bars", "6", "--tempo", "133",
                        "--change", "140", "--propose", "120", "--json"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res["interfaces"].count(": lo:") == 1 and len(res["interfaces"].splitlines()) == 1
    assert res["peers"] == 1
    assert res["tempo_agreed"]  # the session's 133, not srlive's proposed 120
    assert len(res["before_ms"]) == 3 and len(res["after_ms"]) == 3
    assert max(abs(e) for e in res["errors_ms"]) < 1.0  # on the peer's bar lines, within 1 ms
    assert res["peer_tempo"] == pytest.approx(140.0) and res["final_tempo"] == pytest.approx(140.0, abs=0.01)
    assert res["follow_ms"] < 60_000 / 140 * BEATS_PER_BAR  # followed within a bar


@pytest.mark.parametrize("argv, words", [
    (["--link", "--mode", "solo"], 'pip install ".[link]"'),
    (["--link", "--sync", "--in", "x"], "choose one"),
])
def test_link_mistakes_are_one_line_and_exit_2(monkeypatch, capsys, argv, words):
    from srlive import cli

    monkeypatch.setitem(sys.modules, "aalink", None)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1
