"""The engine's --offset and --input-latency on a fake clock: arrival stamps lose the input path's
delay before anything uses them, the scheduler sends offset early, a count-in starts late enough
that a negative offset puts nothing in the past, and the take keeps srlive's notes at their
deadlines."""

import mido
import pytest

from srlive.live.engine import Engine
from srlive.live.render import ON, Event
from srlive.settings import Settings
from srlive_fakes import FakeClock, FakeOutput, FakeRuntime


class TakeLog:
    """A recorder that logs where each message belongs in the take: a scheduled event at its
    deadline (its place on the grid), anything else when it came."""

    def __init__(self):
        self.rows = []
        self.origin = None

    def follow(self, clock):
        pass

    def set_origin(self, t):
        self.origin = t

    def start_at_bar(self, bar):
        pass

    def marker(self, text, t=None, bar=None):
        pass

    def add(self, track, t, data, event=None):
        self.rows.append((track, t if event is None else event.time, bytes(data)))


def make(**kw):
    clock = FakeClock(100.0)
    rec = TakeLog()
    eng = Engine(FakeRuntime(clock=clock), Settings(**kw), now=clock.now, sleep=clock.sleep,
                 output=FakeOutput(), recorder=rec, log=lambda m: None)
    return eng, clock, rec


def test_the_input_path_delay_is_taken_off_every_arrival_stamp():
    eng, _, _ = make(input_latency=0.002)
    eng.on_message(mido.Message("note_on", note=60, velocity=90), 10.0)
    assert eng.clock.origin == pytest.approx(9.998)  # bar 1's downbeat: when it was played
    assert [m.time for m in eng.capture.drain(11.0)] == [pytest.approx(9.998)]


def test_the_clock_follower_gets_stamps_less_the_input_latency():
    plain, _, _ = make(sync=True)
    late, _, _ = make(sync=True, input_latency=0.003)
    for eng in (plain, late):
        eng.on_message(mido.Message("start"), 10.0)
        for k in range(48):
            eng.on_message(mido.Message("clock"), 10.0 + k * 0.02)
    assert late.clock.time_at(1) == pytest.approx(plain.clock.time_at(1) - 0.003, abs=1e-6)


def test_the_scheduler_sends_offset_early_and_the_take_keeps_the_deadline():
    eng, clock, rec = make(offset=-0.004)
    assert eng.scheduler.offset == -0.004
    eng.scheduler.add([Event(101.0, ON, 0, 60, 90, "srlive", 1)])
    clock.t = 100.996
    assert eng.scheduler.dispatch_due() == 1
    assert eng.output.sent and rec.rows == [("srlive", pytest.approx(101.0), bytes([0x90, 60, 90]))]


def test_a_count_in_starts_late_enough_for_a_negative_offset():
    eng, clock, _ = make(count_in=1, offset=-0.2, mode="solo")
    eng._begin()
    first = eng.scheduler.next_deadline()  # the first send: the offset included
    assert first == pytest.approx(clock.t + 0.25)  # START_LEAD still ahead of it, as without an offset
