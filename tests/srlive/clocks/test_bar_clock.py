"""make_clock makes the clock the settings ask for, and every clock has the whole BarClock interface."""

from __future__ import annotations

import link_fakes
import pytest

from srlive.clocks import bar_clock
from srlive.clocks.bar_clock import BarClock, make_clock
from srlive.clocks.counting_follower import CountingClockFollower
from srlive.clocks.internal import InternalClock
from srlive.clocks.model_follower import ModelClockFollower
from srlive.contract import METERS
from srlive.settings import Settings

MEMBERS = sorted({*BarClock.__annotations__, *(n for n in vars(BarClock) if not n.startswith("_"))})


def test_the_interface_names_what_the_engine_asks_of_a_clock():
    assert {"time_at", "time_of_pulse", "bar_at", "current_bar", "ready", "running", "tempo", "generation",
            "external", "bends", "start", "onset", "feed", "close", "meter", "name", "pulse_zero"} <= set(MEMBERS)


@pytest.mark.parametrize("make", [lambda: InternalClock(120), CountingClockFollower, ModelClockFollower,
                                  lambda: link_fakes.make(tempo=120)[2]], ids=["internal", "counting", "model", "link"])
def test_every_clock_has_the_whole_interface(make):
    clock = make()
    assert [m for m in MEMBERS if not hasattr(clock, m)] == []
    assert isinstance(clock.name, str) and isinstance(clock.external, bool) and isinstance(clock.bends, bool)


def test_the_engine_follows_by_the_model_unless_stamps_are_coarse():
    """64- and 96-frame JACK periods (48 kHz), or stamps on arrival: the model; 128 frames and up
    (a cycle over a quarter of a pulse at 300 BPM): counting, which never numbers by time. Each is
    told the cycle (the counting one reads no tempo change into a cycle's quantisation)."""
    for frames in (0, 64, 96):
        f = make_clock(Settings(sync=True, tempo=120, meter=METERS["3/4"], input_cycle=frames / 48000))
        assert type(f) is ModelClockFollower and f.cycle == frames / 48000 and f.bar_pulses == 72
    for frames in (128, 256):
        f = make_clock(Settings(sync=True, tempo=120, meter=METERS["3/4"], input_cycle=frames / 48000))
        assert type(f) is CountingClockFollower and f.cycle == frames / 48000 and f.bar_pulses == 72


def test_without_sync_or_link_the_internal_clock_at_the_tempo_and_meter():
    c = make_clock(Settings(tempo=90, meter=METERS["6/8"]))
    assert type(c) is InternalClock and c.tempo == 90 and c.meter is METERS["6/8"]
    assert not c.external and not c.bends and c.generation == 0


def test_link_is_made_by_the_link_module_with_the_stop_callback(monkeypatch):
    made = []
    monkeypatch.setattr(bar_clock, "make_link_clock", lambda tempo, **kw: made.append((tempo, kw)) or "link")
    stop = lambda: None  # noqa: E731
    assert make_clock(Settings(link=True, sync=True, tempo=133), on_stop=stop) == "link"
    assert made == [(133, {"on_stop": stop, "meter": METERS["4/4"]})]


def test_a_stop_reaches_the_callback_of_a_midi_clock_follower():
    stops = []
    f = make_clock(Settings(sync=True), on_stop=lambda: stops.append(1))
    f.feed("start", 0.0)
    f.feed("stop", 0.1)
    f.feed("stop", 0.2)  # stopped already: nothing more
    assert stops == [1] and not f.running and f.generation == 1


def test_the_internal_clock_starts_on_the_first_onset_only():
    c = InternalClock(120)
    c.feed("start", 1.0)  # MIDI transport means nothing to it
    assert not c.ready
    c.onset(2.0)
    c.onset(2.5)
    assert c.ready and c.time_at(0) == 2.0 and c.pulse_zero == 2.0
    assert c.time_of_pulse(24) == pytest.approx(c.time_at(0, 4))  # a beat: 24 pulses, 4 steps


def test_the_followers_and_link_ignore_onsets_and_the_engines_start():
    for f in (CountingClockFollower(), ModelClockFollower()):
        f.onset(1.0)
        f.start(1.0)
        assert not f.ready and not f.running
