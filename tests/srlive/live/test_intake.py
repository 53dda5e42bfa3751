"""The input path into the engine: messages stamped on arrival by the port, handed to the engine
by the port's consumer, thru sent from the consumer; what the engine asks the port to drop."""

from __future__ import annotations

import pytest

from fake_rtmidi import FakeWorld, install
from srlive import ports
from srlive.live.engine import Engine
from srlive.live.intake import CLOCK_TYPES, unused_input_types
from srlive.live.quantise import NoteMsg
from srlive.ports import midiports
from srlive.settings import Settings
from srlive_fakes import FakeClock, FakeOutput, FakeRuntime


@pytest.fixture
def port(monkeypatch):
    install(monkeypatch, FakeWorld(sources=["Keys"]))
    stamps = iter([10.0, 10.1, 10.2, 10.3])
    monkeypatch.setattr(midiports, "_now", lambda: next(stamps))
    return ports.open_input("Keys")


def engine_on(port, **kw):
    clock = FakeClock(100.0)
    eng = Engine(FakeRuntime(clock=clock), Settings(**kw), now=clock.now, sleep=clock.sleep, output=FakeOutput(),
                 log=lambda m: None)
    port.set_callback(eng.on_message)
    return eng


def test_thru_goes_out_from_the_consumer_not_from_the_midi_callback(port):
    eng = engine_on(port, thru=True)
    port._rt.callback(([0x90, 60, 90], 0.0), None)
    port._rt.callback(([0x80, 60, 0], 0.0), None)
    assert eng.output.sent == [] and eng.capture.drain(99.0) == []  # the MIDI thread only queued
    port.consume_pending()
    assert [(m.type, m.note) for m in eng.output.sent] == [("note_on", 60), ("note_off", 60)]
    assert eng.capture.drain(99.0) == [NoteMsg(10.0, 60, 90, 0), NoteMsg(10.1, 60, 0, 0)]
    assert eng.clock.time_at(0) == 10.0  # the first note's arrival, not its consumption, is bar 1


def test_live_controls_arrive_through_the_consumer_in_order(port):
    eng = engine_on(port, cc={20: "temperature"})
    port._rt.callback(([0xB0, 20, 0], 0.0), None)
    port._rt.callback(([0xB0, 20, 127], 0.0), None)
    port.consume_pending()
    assert eng.settings.temperature == 2.0  # the later control wins


@pytest.mark.parametrize("sync", [False, True])
def test_the_engine_drops_clock_before_python_unless_it_follows_clock(port, sync):
    unused = unused_input_types(sync)
    assert (set(CLOCK_TYPES) <= set(unused)) is not sync and not (sync and set(CLOCK_TYPES) & set(unused))
    assert not {"note_on", "note_off", "control_change"} & set(unused)
    port.ignore(*unused)
    assert port._rt.ignored == {"sysex": True, "timing": not sync, "active_sense": True}
