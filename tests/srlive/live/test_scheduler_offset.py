"""--offset on a fake clock: every scheduled send moves by exactly the offset; note-offs still go
out; what is handed over after its shifted send time follows --max-late; thru is never shifted."""

import numpy as np
import pytest
from srlive_fakes import FakeClock

from srlive.live.render import OFF, ON, SWEEP, Event, metronome_bar, render_bar
from srlive.live.scheduler import Scheduler


def dense_bar(bar_start=1.0, step=0.05):
    bar = np.zeros((88, 16), np.float32)
    bar[39, 0:4] = bar[43, 4:8] = bar[46, 8:16] = bar[51, 2:3] = 0.9
    return render_bar(bar, bar_start, step, bar=1) + metronome_bar(bar_start, step, 9, 1) + [
        Event(bar_start + 16 * step - 0.0005, SWEEP, source="srlive")]


def send_times(offset, events, retime=None, step_s=1e-4):
    """Run the scheduler over ``events`` on a fake clock advanced in small steps; (event, send time) each."""
    clock = FakeClock(-1.0)
    sent = []
    s = Scheduler(lambda *a: None, now=clock.now, sleep=clock.sleep, offset=offset, retime=retime,
                  on_sent=lambda e, t: sent.append((e.kind, e.channel, e.data1, t)))
    s.add(events)
    while s.pending():
        s.dispatch_due()
        clock.t += step_s
    return sent, s


@pytest.mark.parametrize("offset", [-0.0032, 0.0071, -0.2, 0.2])
def test_every_send_moves_by_exactly_the_offset(offset):
    events = dense_bar()
    plain, _ = send_times(0.0, events)
    shifted, s = send_times(offset, events)
    assert len(plain) == len(shifted) == sum(e.kind != SWEEP for e in events)
    kinds = {k for k, *_ in shifted}
    assert kinds == {ON, OFF} and s.dropped == 0
    for (k0, c0, d0, t0), (k1, c1, d1, t1) in zip(plain, shifted):
        assert (k0, c0, d0) == (k1, c1, d1)  # same events, same order
        assert t1 - t0 == pytest.approx(offset, abs=2e-4)  # within the fake clock's step


def test_offset_moves_retimed_sync_deadlines_too():
    period = 0.01
    events = [Event(0.96, ON, 0, 60, 90, pos=96), Event(1.0, OFF, 0, 60, 0, pos=100)]
    plain, _ = send_times(0.0, events, retime=lambda p: p * period)
    early, _ = send_times(-0.003, events, retime=lambda p: p * period)
    assert [t for *_, t in plain] == pytest.approx([0.96, 1.0], abs=2e-4)
    assert [t for *_, t in early] == pytest.approx([0.957, 0.997], abs=2e-4)


def test_lateness_is_reckoned_against_the_shifted_send_time():
    clock = FakeClock(0.0)
    sent = []
    s = Scheduler(lambda *a: None, now=clock.now, sleep=clock.sleep, offset=-0.005, max_late=0.010,
                  on_sent=lambda e, t: sent.append((e.time, t)))
    s.add([Event(1.0, ON, 0, 60, 90)])
    clock.t = 0.995
    assert s.dispatch_due() == 1
    assert sent == [(0.995, 0.995)]  # on time: 0 ms late against its send time


def test_events_handed_over_after_their_shifted_time_follow_max_late_and_offs_always_go():
    """A negative offset larger than the window's budget: the bar's first note-ons are already
    behind their send time when the bar is scheduled. Within --max-late they go at once, beyond
    it they are dropped; note-offs always go."""
    clock = FakeClock(0.990)  # the engine hands bar 2 over 10 ms before its bar line (1.0)
    out = []
    s = Scheduler(lambda k, ch, a, b, src: out.append((clock.t, k, a)), now=clock.now, sleep=clock.sleep,
                  offset=-0.030, max_late=0.010)
    s.add([Event(1.0, ON, 0, 60, 90), Event(1.02, ON, 0, 62, 90), Event(1.05, OFF, 0, 60, 0),
           Event(1.05, OFF, 0, 62, 0), Event(1.5, ON, 0, 64, 90)])
    s.dispatch_due()
    # 60 was due at 0.970 (20 ms ago): dropped; 62 at 0.990: sent at once
    assert [(k, a) for _, k, a in out] == [(ON, 62)] and s.dropped == 1
    clock.t = 1.020
    s.dispatch_due()
    assert [(k, a) for _, k, a in out][1:] == [(OFF, 60), (OFF, 62)]
    clock.t = 1.470
    s.dispatch_due()
    assert out[-1] == (1.470, ON, 64)


def test_send_now_is_never_shifted():
    clock = FakeClock(2.0)
    out = []
    s = Scheduler(lambda k, ch, a, b, src: out.append((clock.t, k, a)), now=clock.now, sleep=clock.sleep,
                  offset=0.05)
    s.send_now(ON, 0, 60, 100, "thru")
    assert out == [(2.0, ON, 60)]
