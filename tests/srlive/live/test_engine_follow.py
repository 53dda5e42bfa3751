"""--follow in the engine: the performer-following clock, its live control and where it shows (fake
model, fake clock, fake ports)."""

import mido
import pytest

from srlive.live.engine import BarPlan, Engine
from srlive.settings import Settings
from srlive.clocks.following import FollowingClock
from srlive.takes.recorder import Recorder
from srlive.live.render import ON
from srlive.takes.stats import Stats
from srlive.clocks.timeline import ClockTimeline
from srlive_fakes import FakeClock, FakeOutput, FakeRuntime


def make_engine(**kw):
    clock = FakeClock(100.0)
    stats = Stats()
    logs = []
    eng = Engine(FakeRuntime(clock=clock), Settings(**kw), now=clock.now, sleep=clock.sleep, stats=stats,
                 output=FakeOutput(), log=logs.append)
    return eng, clock, stats, logs


def play(eng, clock, times, pitch=60):
    for k, t in enumerate(times):
        clock.t = t
        eng.on_message(mido.Message("note_on", note=pitch + k % 5, velocity=90), t)
        eng.on_message(mido.Message("note_off", note=pitch + k % 5), t + 0.05)


def test_follow_answers_on_the_performers_grid_not_the_tempo_given():
    """--follow --tempo 120, the performer at 110: bar 3's answer is placed and retimed on their
    grid, its events carry clock positions, and the take's timeline reads the bars as played."""
    eng, clock, stats, _ = make_engine(tempo=120, follow=True, seed=1)
    assert isinstance(eng.clock, FollowingClock) and eng.clock.bends
    step = 15.0 / 110
    t0 = 100.0
    play(eng, clock, [t0 + 2 * k * step for k in range(16)])  # eighth notes, two bars
    assert eng.clock.time_at(2) == pytest.approx(t0 + 32 * step, abs=0.01)
    clock.t = eng.clock.time_at(1, 15.5)
    events = eng.close_window(1, eng.capture.drain(clock.t)).events
    ons = [e for e in events if e.kind == ON]
    assert ons and all(e.pos >= 0 for e in events)
    for e in ons:  # the scheduler sends each at the clock's time for its position
        assert eng.scheduler._deadline(e) == pytest.approx(eng.clock.time_of_pulse(e.pos))
        assert (eng.scheduler._deadline(e) - t0) / step == pytest.approx(round((e.time - t0) / step), abs=0.1)
    timeline = ClockTimeline(eng.clock)
    assert timeline.tempo_of_bar(1) == pytest.approx(110, rel=0.01)
    assert eng.bar_tempo(1) == pytest.approx(110, rel=0.01)


def test_without_a_tempo_the_first_bar_sets_it():
    """--follow and no --tempo: the performer's first bar (quarters and eighths at 90) sets it."""
    eng, clock, _, _ = make_engine(tempo=120, follow=True, tempo_known=False)
    step = 15.0 / 90
    play(eng, clock, [100.0 + p * step for p in (0, 4, 6, 8, 12, 14, 16, 20, 22, 24)])
    assert eng.clock.tempo == pytest.approx(90, rel=0.01)
    assert eng.clock.time_at(2) == pytest.approx(100.0 + 32 * step, abs=0.01)


def test_the_follow_control_switches_following_on_and_off():
    """A [cc] follow control: the clock is the following one, off until the control says on."""
    eng, clock, _, _ = make_engine(tempo=120, cc={30: "follow"})
    assert isinstance(eng.clock, FollowingClock) and not eng.clock.following
    step = 15.0 / 100
    play(eng, clock, [100.0 + 2 * k * step for k in range(8)])  # a bar at 100: not followed
    assert eng.clock.time_at(2) == pytest.approx(104.0)
    eng.on_message(mido.Message("control_change", control=30, value=127), clock.t)
    assert eng.settings.follow and eng.clock.following
    play(eng, clock, [100.0 + 2 * k * step for k in range(8, 40)])
    assert eng.clock.tempo == pytest.approx(100, rel=0.02)
    eng.on_message(mido.Message("control_change", control=30, value=0), clock.t)
    assert not eng.settings.follow and not eng.clock.following


def test_the_follow_control_with_sync_says_once_that_it_does_nothing():
    eng, clock, _, logs = make_engine(tempo=120, sync=True, cc={30: "follow"})
    assert not isinstance(eng.clock, FollowingClock)
    for v in (127, 0, 127):
        eng.on_message(mido.Message("control_change", control=30, value=v), 100.0)
    assert len([m for m in logs if "follow" in m]) == 1


def test_solo_keeps_its_tempo_until_the_performer_plays_along():
    """Solo with --follow starts at once at --tempo; a performer playing along at 126 is followed."""
    eng, clock, _, _ = make_engine(tempo=120, follow=True, mode="solo")
    eng.start_clock(100.0)
    assert eng.clock.time_at(4) == pytest.approx(108.0)
    step = 15.0 / 126
    play(eng, clock, [100.0 + 2 * k * step for k in range(1, 48)])
    assert eng.clock.tempo == pytest.approx(126, rel=0.02)


def test_a_take_writes_the_followed_tempo_in_its_tempo_map(tmp_path):
    """The recorder follows the clock: each bar's tempo as the clock played it goes in the map."""
    clock = FakeClock(100.0)
    rec = Recorder(tmp_path / "take.mid", 120)
    eng = Engine(FakeRuntime(clock=clock), Settings(tempo=120, follow=True), now=clock.now, sleep=clock.sleep,
                 output=FakeOutput(), recorder=rec, log=lambda m: None)
    step = 15.0 / 108
    play(eng, clock, [100.0 + 2 * k * step for k in range(8 * 4)])
    eng.recorder.write(100.0 + 8 * 16 * step)
    from benchmarks.take_tempo import bar_tempi

    tempi = bar_tempi(tmp_path / "take.mid", 6)
    assert tempi == pytest.approx([108] * 6, rel=0.01)  # not the 120 it started from


def test_the_view_and_the_status_line_show_the_followed_tempo():
    from srlive.ui.status import StatusLine
    from srlive.ui.view import snapshot

    eng, clock, _, _ = make_engine(tempo=120, follow=True)
    step = 15.0 / 104
    play(eng, clock, [100.0 + 2 * k * step for k in range(24)])
    state = snapshot(eng, 2, BarPlan(3, [], None, eng.clock.time_at(3), eng.step_len(3)))
    assert state.source == "following you" and state.tempo == pytest.approx(104, rel=0.01)
    assert "104" in StatusLine.text(eng).split("|")[1] and "followed" in StatusLine.text(eng)


def test_after_a_count_in_the_performer_is_followed_from_bar_1():
    """--follow --count-in 1 (no --tempo): the count-in clicks the default tempo, bar 1 starts after
    it, notes played during the count-in are not followed, and the performer's bars after it are."""
    import threading

    eng, clock, _, _ = make_engine(tempo=120, follow=True, tempo_known=False, count_in=1, bars=1)
    th = threading.Thread(target=eng._begin)
    th.start()
    th.join(5)
    origin = eng.clock.time_at(0)
    assert origin == pytest.approx(100.0 + 0.25 + 2.0) and eng.clock.tracker.known
    play(eng, clock, [origin - 1.0, origin - 0.5])  # during the count-in
    assert eng.clock.replans == 0
    step = 15.0 / 114
    play(eng, clock, [origin + 2 * k * step for k in range(32)])
    assert eng.clock.tempo == pytest.approx(114, rel=0.01)


def test_a_preset_turns_following_on_and_maps_its_control(tmp_path):
    from srlive import options
    from srlive.cli import settings_from
    from srlive.preset_loader import load_preset

    preset = tmp_path / "mine.toml"
    preset.write_text('follow = true\n[cc]\n27 = "follow"\n')
    s = settings_from(options.resolve({}, load_preset(str(preset))))
    assert s.follow and not s.tempo_known and s.cc == {27: "follow"}
    s = settings_from(options.resolve({"tempo": 96.0}, load_preset(str(preset))))
    assert s.tempo_known and s.tempo == 96.0
