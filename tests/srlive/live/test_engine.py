"""The engine with a fake model, a fake clock and fake ports."""

import dataclasses
import threading

import mido
import numpy as np
import pytest

from srlive.live.engine import Engine
from srlive.live.intake import EchoFilter
from srlive.live.quantise import NoteMsg
from srlive.live.render import ON
from srlive.settings import Settings, apply_control
from srlive.takes.stats import Stats
from srlive_fakes import FakeClock, FakeOutput, FakeRuntime


def make_engine(runtime=None, clock=None, **kw):
    clock = clock or FakeClock(100.0)
    stats = Stats()
    eng = Engine(runtime or FakeRuntime(clock=clock), Settings(**kw), now=clock.now, sleep=clock.sleep,
                 stats=stats, output=FakeOutput(), log=lambda m: None)
    return eng, clock, stats


def phrase(t0, step, pitches):
    """One note per beat, a step long each."""
    msgs = []
    for k, p in enumerate(pitches):
        msgs += [NoteMsg(t0 + 4 * k * step, p, 90), NoteMsg(t0 + (4 * k + 1) * step, p, 0)]
    return msgs


def test_accompany_answers_bar_t_in_bar_t_plus_1_on_the_grid():
    eng, clock, stats = make_engine(tempo=120, seed=1)
    eng.start_clock(100.0)
    step = eng.clock.step
    clock.t = eng.clock.time_at(0, 15.5)  # the window of bar 0 closes
    events = eng.close_window(0, phrase(100.0, step, [60, 62, 64, 65])).events
    t1 = eng.clock.time_at(1)
    ons = [e for e in events if e.kind == ON]
    # the fake model answers a fifth up
    assert [e.data1 for e in ons] == [67, 69, 71, 72]
    assert [round((e.time - t1) / step, 9) for e in ons] == [0, 4, 8, 12]
    assert all(t1 <= e.time < t1 + 16 * step for e in events)
    assert [b["bar"] for b in stats.bars] == [2] and eng.answered == 1


def test_seed_makes_the_noise_reproducible():
    def noises(seed):
        rt = FakeRuntime()
        seen = []
        orig = rt.step
        rt.step = lambda bar, noise, temp: (seen.append(noise.copy()), orig(bar, noise, temp))[1]
        eng, clock, _ = make_engine(rt, seed=seed, mode="solo")
        eng.start_clock(200.0)
        for b in range(3):
            clock.t = eng.clock.time_at(b, 15.5)
            eng.close_window(b, [])
        return np.array(seen)

    np.testing.assert_array_equal(noises(7), noises(7))
    assert not np.array_equal(noises(7), noises(8))


def test_raising_model_skips_that_bar_and_counts_it_next_plays():
    clock = FakeClock(100.0)
    rt = FakeRuntime(raise_on={2}, clock=clock)
    eng, clock, stats = make_engine(rt, clock, mode="solo")
    eng.start_clock(100.0)
    got = []
    for b in range(4):
        clock.t = eng.clock.time_at(b, 15.5)
        got.append(len([e for e in eng.close_window(b, []).events if e.kind == ON]))
    assert got[1] == 0 and got[0] > 0 and got[2] > 0 and got[3] > 0
    assert eng.skipped == 1
    assert [b["skipped"] is not None for b in stats.bars] == [False, True, False, False]
    assert stats.bars[1]["skipped"].startswith("error: boom")


def test_slow_model_skips_that_bar_next_plays_on_time():
    clock = FakeClock(100.0)
    rt = FakeRuntime(slow_on={2}, clock=clock, slow_by=0.3)  # 300 ms > half a step at 120 BPM
    eng, clock, stats = make_engine(rt, clock, mode="solo", tempo=120)
    eng.start_clock(100.0)
    played = {}
    for b in range(4):
        clock.t = max(clock.t, eng.clock.time_at(b, 15.5))
        evs = eng.close_window(b, []).events
        played[b + 1] = [e.time for e in evs if e.kind == ON]
    assert played[2] == [] and eng.skipped == 1 and stats.bars[1]["skipped"] == "late"
    # bar 3's window closed after the slow step; the bar still plays at its own bar line
    assert played[3] and played[3][0] == pytest.approx(eng.clock.time_at(3))


def test_metronome_on_its_own_channel():
    eng, clock, _ = make_engine(metronome=True, metronome_channel=9)
    eng.start_clock(0.0)
    clock.t = eng.clock.time_at(0, 15.5)
    events = eng.close_window(0, []).events
    clicks = [e for e in events if e.source == "metronome"]
    assert len([e for e in clicks if e.kind == ON]) == 4 and {e.channel for e in clicks} == {9}


def test_muted_engine_plays_nothing():
    eng, clock, _ = make_engine(mode="solo")
    eng.start_clock(0.0)
    eng.control("mute", 127)
    clock.t = eng.clock.time_at(0, 15.5)
    assert eng.close_window(0, []).events == []
    eng.control("mute", 0)
    clock.t = eng.clock.time_at(1, 15.5)
    assert [e for e in eng.close_window(1, []).events if e.kind == ON]


def test_cc_controls_map_values():
    s = Settings()
    s, _ = apply_control(s, "temperature", 127)
    s, _ = apply_control(s, "threshold", 0)
    s, _ = apply_control(s, "mode", 127)
    assert s.temperature == 2.0 and s.threshold == 0.05 and s.mode == "solo"
    s, _ = apply_control(s, "mode", 60)
    assert s.mode == "call-response"
    assert apply_control(s, "panic", 127)[1] == "panic" and apply_control(s, "mute", 10)[1] == "mute-off"


def test_a_live_control_replaces_the_settings_whole_and_leaves_the_old_ones_as_they_were():
    before = Settings(temperature=1.0, cc={20: "temperature"})
    after, action = apply_control(before, "temperature", 127)
    assert action is None and after is not before
    assert before.temperature == 1.0 and after.temperature == 2.0
    assert after == dataclasses.replace(before, temperature=2.0)  # nothing else moved
    with pytest.raises(dataclasses.FrozenInstanceError):
        before.temperature = 0.5  # type: ignore[misc]
    same, action = apply_control(before, "mute", 127)
    assert same is before and action == "mute-on"  # an action changes no setting


def test_the_engine_swaps_its_settings_reference_on_a_live_control():
    eng, clock, _ = make_engine(cc={20: "threshold", 21: "mode"})
    held = eng.settings  # what a running window job read
    eng.on_message(mido.Message("control_change", control=20, value=127), 1.0)
    assert held.threshold == 0.5 and eng.settings is not held and eng.settings.threshold == 0.95
    eng.on_message(mido.Message("control_change", control=21, value=127), 1.1)
    assert eng.settings.mode == "solo" and eng.mode.name == "accompany"  # the bar being played keeps its mode
    eng.start_clock(0.0)
    eng.close_window(0, [])
    assert eng.mode.name == "solo"  # ... and the next bar line takes the new one


def test_input_callback_filters_channels_clock_and_junk_and_starts_the_clock():
    eng, clock, _ = make_engine(in_channel=1, thru=True, cc={20: "temperature", 21: "panic"})
    cb = eng.on_message
    cb(mido.Message("note_on", channel=0, note=60, velocity=90), 5.0)  # other channel: filtered
    assert not eng.clock.ready
    for junk in (mido.Message("pitchwheel", channel=1, pitch=100), mido.Message("sysex", data=[1, 2]),
                 mido.Message("aftertouch", channel=1, value=3), mido.Message("active_sensing")):
        cb(junk, 5.1)
    cb(mido.Message("note_on", channel=1, note=62, velocity=90), 6.0)
    assert eng.clock.ready and eng.clock.time_at(0) == 6.0  # the first note is bar 1's downbeat
    cb(mido.Message("note_on", channel=1, note=62, velocity=0), 6.2)
    assert eng.capture.drain(10.0) == [NoteMsg(6.0, 62, 90, 1), NoteMsg(6.2, 62, 0, 1)]
    # thru passed the performer's notes on
    assert [(m.type, m.note) for m in eng.output.sent] == [("note_on", 62), ("note_off", 62)]
    cb(mido.Message("control_change", channel=1, control=20, value=127), 6.3)
    assert eng.settings.temperature == 2.0
    eng.output.sent.clear()
    cb(mido.Message("control_change", channel=1, control=21, value=127), 6.4)
    assert [m.control for m in eng.output.sent if m.type == "control_change"] == [123, 123]


def test_echo_of_own_output_is_ignored_with_allow_feedback():
    eng, clock, _ = make_engine(allow_feedback=True, mode="solo")
    eng.start_clock(0.0)
    clock.t = 1.0
    eng.scheduler.send_now(ON, 0, 70, 99, "srlive")
    eng.on_message(mido.Message("note_on", channel=0, note=70, velocity=99), 1.001)  # our own, back
    eng.on_message(mido.Message("note_on", channel=0, note=71, velocity=99), 1.002)  # the performer
    assert [m.pitch for m in eng.capture.drain(5.0)] == [71]
    f = EchoFilter(window=0.1)
    f.sent(b"\x90\x3c\x40", 1.0)
    assert not f.is_echo(b"\x90\x3c\x40", 1.2) and not f.is_echo(b"\x90\x3d\x40", 1.01)


def test_live_loop_solo_plays_bars_then_stops_cleanly_with_every_note_closed():
    """The real loop and scheduler thread at 300 BPM for 3 bars (~2.7 s of wall time)."""
    out = FakeOutput()
    stats = Stats()
    eng = Engine(FakeRuntime(), Settings(mode="solo", tempo=300, bars=3, seed=3, max_late=1.0), output=out, stats=stats,
                 log=lambda m: None)
    t = threading.Thread(target=eng.run)
    t.start()
    t.join(10)
    assert not t.is_alive()
    ons = [m for m in out.sent if m.type == "note_on" and m.velocity > 0]
    assert len(ons) >= 3 * 4 - 1  # three bars of the arpeggio / its answers (a late first note may drop)
    sounding = set()
    for m in out.sent:
        if m.type == "note_on" and m.velocity > 0:
            sounding.add((m.channel, m.note))
        elif m.type in ("note_off", "note_on"):
            sounding.discard((m.channel, m.note))
    assert not sounding
    assert any(m.type == "control_change" and m.control == 123 for m in out.sent)
    assert [b["bar"] for b in stats.bars] == [1, 2, 3]


def test_a_flood_is_cut_off_and_the_bar_still_quantises():
    logs = []
    clock = FakeClock(0.0)
    eng = Engine(FakeRuntime(), Settings(tempo=180), now=clock.now, sleep=clock.sleep, log=logs.append)
    eng.start_clock(0.0)
    for i in range(5000):
        eng.on_message(mido.Message("note_on", note=21 + i % 88, velocity=1 + i % 127), i * 1e-4)
    assert eng.capture.overflow == 5000 - 2048 and len(logs) == 1 and "flood" in logs[0]
    clock.t = eng.clock.time_at(0, 15.5)
    events = eng.close_window(0, eng.capture.drain(clock.t)).events
    assert events and eng.skipped == 0


class _StopOnFakeClock:
    """The engine's stop event on a fake clock: a wait moves the clock on by what it waits."""

    def __init__(self, clock):
        self.clock = clock

    def is_set(self):
        return False

    def wait(self, dt):
        self.clock.t += dt
        return False

    def set(self):
        pass


def test_before_each_close_a_rehearsal_runs_the_answer_path_and_leaves_the_answers_alone():
    eng, clock, stats = make_engine(tempo=120, seed=5, candidates=4)
    eng.stop_event = _StopOnFakeClock(clock)
    rehearsed = []
    step = eng.answerer.model.step
    eng.answerer.model.step = lambda bar, noise, temp: (rehearsed.append((clock.t, bar.sum())), step(bar, noise, temp))[1]
    eng.start_clock(100.0)
    close = eng.clock.time_at(0, 15.5)
    rng_before = eng.rng.bit_generator.state
    clock.t = 100.0
    assert eng._rehearsed_before(0) is True
    # one pass of the answer path (4 candidates) at each lead, on silence
    assert [round(close - t, 9) for t, _ in rehearsed] == [0.075] * 4 + [0.008] * 4
    assert all(s == 0 for _, s in rehearsed)
    # nothing drawn from the seeded generator, nothing counted or remembered
    assert eng.rng.bit_generator.state == rng_before
    assert stats.bars == [] and eng.answered == 0 and eng.skipped == 0 and eng.last_own is None
    # a lead already past is let go: at 20 ms before the close only the last rehearsal runs
    rehearsed.clear()
    clock.t = eng.clock.time_at(1, 15.5) - 0.02
    assert eng._rehearsed_before(1) is True
    assert [round(eng.clock.time_at(1, 15.5) - t, 9) for t, _ in rehearsed] == [0.008] * 4


def test_a_rehearsal_that_fails_says_nothing_and_the_real_step_says_it_once():
    clock = FakeClock(100.0)
    said = []
    eng = Engine(FakeRuntime(raise_on={1, 2}), Settings(tempo=120, seed=1, mode="solo"), now=clock.now,
                 sleep=clock.sleep, stats=Stats(), output=FakeOutput(), log=said.append)
    eng.rehearse()  # the first model call raises: swallowed
    assert said == [] and eng.skipped == 0
    eng.start_clock(100.0)
    clock.t = eng.clock.time_at(0, 15.5)
    assert eng.close_window(0, []).events == []  # the second raises: the real step skips its bar, said once
    assert eng.skipped == 1 and len(said) == 1 and "model step failed" in said[0]
