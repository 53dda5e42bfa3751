"""The live loop in real time (fast tempos, a few bars each), fed by a fake performer / fake DAW.

Nothing here asserts wall-clock timing: the checks are on the deadlines the engine computed (which
follow from the message stamps the test chose) and on what went out.
"""

import dataclasses
import threading
import time

import mido
import pytest

from srlive.contract import PULSES_PER_BAR
from srlive.live.engine import Engine
from srlive.settings import Settings
from srlive.takes.stats import Stats
from srlive_fakes import FakeOutput, FakeRuntime


def sounding_after(sent):
    on = set()
    for m in sent:
        if m.type == "note_on" and m.velocity > 0:
            on.add((m.channel, m.note))
        elif m.type in ("note_on", "note_off"):
            on.discard((m.channel, m.note))
    return on


def start_engine(settings):
    settings = dataclasses.replace(settings, max_late=1.0)  # a busy test machine may stall: nothing is dropped, the checks stay on deadlines
    out, stats = FakeOutput(), Stats()
    eng = Engine(FakeRuntime(), settings, output=out, stats=stats, log=lambda m: None)
    th = threading.Thread(target=eng.run, daemon=True)
    th.start()
    return eng, out, stats, th


def sleep_until(t):
    while time.perf_counter() < t:
        time.sleep(min(0.002, max(t - time.perf_counter(), 0)))


def test_accompany_first_note_sets_bar_one_answers_on_the_grid():
    eng, out, stats, th = start_engine(Settings(mode="accompany", tempo=300, bars=3, seed=1))
    step = 60 / 300 / 4
    t0 = time.perf_counter() + 0.1
    for k, pitch in enumerate((60, 62, 64, 65)):  # bar 1: four quarter notes, exactly on time
        sleep_until(t0 + 4 * k * step)
        eng.on_message(mido.Message("note_on", note=pitch, velocity=90), t0 + 4 * k * step)
        eng.on_message(mido.Message("note_off", note=pitch), t0 + (4 * k + 2) * step)
    th.join(10)
    assert not th.is_alive()
    assert eng.clock.time_at(0) == t0
    played = [e for e in stats.events if e["kind"] == "note_on"]
    # bar 2 answers bar 1 (a fifth up), bar 3 continues from srlive's own bar 2 (another fifth up)
    assert [(e["bar"], e["note"]) for e in played] == [(2, 67), (2, 69), (2, 71), (2, 72),
                                                       (3, 74), (3, 76), (3, 78), (3, 79)]
    for e in stats.events:  # every deadline on the sixteenth grid from the first note
        assert e["deadline"] / step == pytest.approx(round(e["deadline"] / step), abs=1e-6) or e["kind"] == "note_off"
    assert not sounding_after(out.sent)


def test_sync_follows_midi_clock_from_start():
    eng, out, stats, th = start_engine(Settings(mode="solo", sync=True, bars=3, seed=2, tempo=100))
    period = 60 / 300 / 24  # the DAW runs at 300 BPM; --tempo 100 is only the prior
    t0 = time.perf_counter() + 0.05
    eng.on_message(mido.Message("start"), t0 - 0.001)
    p = 0
    while th.is_alive() and p < 3 * PULSES_PER_BAR + 24:
        t = t0 + p * period
        sleep_until(t)
        eng.on_message(mido.Message("clock"), t)
        p += 1
    th.join(10)
    assert not th.is_alive()
    assert eng.clock.tempo == pytest.approx(300, rel=1e-3)
    ons = [e for e in stats.events if e["kind"] == "note_on"]
    assert {e["bar"] for e in ons} >= {2, 3}
    step = 6 * period
    assert eng.clock.pulse_zero == t0 and stats.origin == t0
    for e in [e for e in ons if e["bar"] >= 2]:  # on the DAW's grid (pulse 0 = bar 1) once measured
        assert e["deadline"] / step == pytest.approx(round(e["deadline"] / step), abs=1e-3)
    assert not sounding_after(out.sent)


def test_sync_stop_closes_every_note_and_song_position_realigns():
    eng, out, stats, th = start_engine(Settings(mode="solo", sync=True, seed=3, tempo=300))
    period = 60 / 300 / 24
    t = time.perf_counter() + 0.05
    eng.on_message(mido.Message("start"), t - 0.001)
    for p in range(PULSES_PER_BAR + 60):  # into the second bar, notes sounding
        sleep_until(t)
        eng.on_message(mido.Message("clock"), t)
        t += period
    eng.on_message(mido.Message("stop"), t)
    time.sleep(0.05)
    assert not sounding_after(out.sent) and not eng.scheduler.open
    n_before = len(out.sent)
    time.sleep(0.3)  # stopped: nothing plays
    assert not [m for m in out.sent[n_before:] if m.type == "note_on" and m.velocity > 0]
    # the DAW jumps to bar 5 (64 sixteenths) and continues
    eng.on_message(mido.Message("songpos", pos=64), t + 0.3)
    t = time.perf_counter() + 0.02
    eng.on_message(mido.Message("continue"), t - 0.001)
    for p in range(2 * PULSES_PER_BAR):
        sleep_until(t)
        eng.on_message(mido.Message("clock"), t)
        t += period
    eng.stop()
    th.join(10)
    later = [e for e in stats.events if e["kind"] == "note_on" and e["bar"] >= 5]
    assert later and min(e["bar"] for e in later) in (5, 6)  # bars counted from the SPP
    assert not sounding_after(out.sent)


def test_metronome_clicks_the_rest_of_bar_one_after_the_first_note():
    eng, out, stats, th = start_engine(Settings(mode="accompany", tempo=300, bars=2, metronome=True))
    t0 = time.perf_counter() + 0.05
    sleep_until(t0)
    eng.on_message(mido.Message("note_on", note=60, velocity=90), t0)
    eng.on_message(mido.Message("note_off", note=60), t0 + 0.01)
    th.join(10)
    clicks = [e for e in stats.events if e["kind"] == "note_on" and e["channel"] == 10]
    step = 60 / 300 / 4
    # beats 2-4 of bar 1 (its downbeat was the performer's note) and all of bar 2
    assert [round(e["deadline"] / step) for e in clicks] == [4, 8, 12, 16, 20, 24, 28]
    assert stats.dropped_events == []
