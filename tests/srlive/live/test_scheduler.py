"""Scheduler on a fake clock: order, lateness drop, note-offs always sent, panic."""

import threading

from srlive.live.render import CC, OFF, ON, SWEEP, Event, render_bar
from srlive.live.scheduler import Scheduler
from srlive_fakes import FakeClock


def make(max_late=0.010):
    clock = FakeClock()
    out = []
    sent = []
    s = Scheduler(lambda k, ch, a, b, src: out.append((clock.t, k, ch, a, b)), now=clock.now, sleep=clock.sleep,
                  max_late=max_late, on_sent=lambda e, t: sent.append((e, t)))
    return s, clock, out, sent


def test_events_go_out_in_deadline_order_offs_first_on_ties():
    s, clock, out, _ = make()
    s.add([Event(1.0, ON, 0, 62, 90), Event(0.5, ON, 0, 60, 90), Event(1.0, OFF, 0, 60, 0)])
    clock.t = 0.4
    assert s.dispatch_due() == 0
    clock.t = 0.5
    s.dispatch_due()
    clock.t = 1.0
    s.dispatch_due()
    assert [(k, a) for _, k, _, a, _ in out] == [(ON, 60), (OFF, 60), (ON, 62)]
    assert s.open == {(0, 62): "srlive"}


def test_late_note_on_dropped_note_off_still_sent():
    s, clock, out, sent = make(max_late=0.010)
    s.add([Event(1.0, ON, 0, 60, 90), Event(1.5, OFF, 0, 60, 0), Event(1.0, ON, 0, 64, 90)])
    clock.t = 1.011  # 11 ms late
    s.dispatch_due()
    assert s.dropped == 2 and not out
    clock.t = 2.0  # way late, but a note-off is always sent
    s.dispatch_due()
    assert [(k, a) for _, k, _, a, _ in out] == [(OFF, 60)]
    # on time within the limit is sent, its lateness reported
    s.add([Event(3.0, ON, 0, 67, 90)])
    clock.t = 3.009
    s.dispatch_due()
    assert out[-1][1:4] == (ON, 0, 67) and abs(sent[-1][1] - sent[-1][0].time - 0.009) < 1e-9


def test_sweep_closes_what_the_bar_left_open_but_not_thru_notes():
    s, clock, out, _ = make()
    s.send_now(ON, 0, 50, 100, source="thru")
    s.add([Event(0.1, ON, 0, 60, 90)])  # a note whose note-off was lost
    s.add([Event(0.9, SWEEP, 0)])
    clock.t = 0.1
    s.dispatch_due()
    clock.t = 1.0
    s.dispatch_due()
    assert (OFF, 60) in [(k, a) for _, k, _, a, _ in out]
    assert s.open == {(0, 50): "thru"}


def test_panic_closes_everything_and_sends_all_notes_off_per_channel():
    s, clock, out, _ = make()
    s.add([Event(0.0, ON, 0, 60, 90), Event(0.0, ON, 2, 61, 90), Event(5.0, ON, 0, 62, 90), Event(6.0, OFF, 0, 62, 0)])
    s.dispatch_due()
    out.clear()
    s.panic()
    offs = sorted((ch, a) for _, k, ch, a, _ in out if k == OFF)
    ccs = sorted((ch, a, b) for _, k, ch, a, b in out if k == CC)
    assert offs == [(0, 60), (2, 61)]
    assert ccs == [(0, 123, 0), (2, 123, 0)]
    assert not s.open and s.pending() == 0  # the future note-on is gone too


def test_mute_closes_and_blocks_note_ons_until_unmuted():
    s, clock, out, _ = make()
    s.add([Event(0.0, ON, 0, 60, 90)])
    s.dispatch_due()
    s.mute(on=True)
    assert not s.open
    s.add([Event(0.5, ON, 0, 61, 90), Event(0.6, OFF, 0, 61, 0)])
    clock.t = 1.0
    s.dispatch_due()
    assert (ON, 61) not in [(k, a) for _, k, _, a, _ in out]
    s.mute(on=False)
    s.add([Event(1.0, ON, 0, 62, 90)])
    s.dispatch_due()
    assert out[-1][1:4] == (ON, 0, 62)


def test_every_note_on_of_rendered_bars_gets_its_note_off():
    rng = __import__("numpy").random.default_rng(0)
    s, clock, out, _ = make()
    step = 0.0833
    for bar in range(8):
        roll = (rng.random((88, 16)) > 0.93).astype("float32") * 0.8
        s.add(render_bar(roll, bar * 16 * step, step, threshold=0.5))
    while s.pending():
        clock.t = s.next_deadline()
        s.dispatch_due()
    on = {}
    for _, k, ch, a, b in out:
        if k == ON:
            assert (ch, a) not in on  # never re-struck while sounding
            on[(ch, a)] = 1
        elif k == OFF:
            on.pop((ch, a), None)
    assert not on and not s.open


def test_send_errors_are_counted_and_time_goes_on():
    clock = FakeClock()
    calls = []

    def flaky(k, ch, a, b, src):
        calls.append(a)
        if a == 60:
            raise OSError("port went away")

    s = Scheduler(flaky, now=clock.now, sleep=clock.sleep)
    s.add([Event(0.0, ON, 0, 60, 90), Event(0.1, ON, 0, 61, 90)])
    s.dispatch_due()
    clock.t = 0.1
    s.dispatch_due()
    assert calls == [60, 61] and s.send_errors == 1 and s.open == {(0, 61): "srlive"}


def test_thread_sends_and_stop_closes_with_cc123():
    """The real thread on a fake clock whose sleep advances time (no wall-clock waiting)."""
    clock = FakeClock()
    out = []
    done = threading.Event()

    def send(k, ch, a, b, src):
        out.append((k, a))
        if k == ON and a == 61:
            done.set()

    s = Scheduler(send, now=clock.now, sleep=clock.sleep, spin=10.0)  # spin covers every wait
    s.add([Event(0.001, ON, 0, 60, 90), Event(0.002, ON, 0, 61, 90)])
    s.start()
    assert done.wait(5)
    s.stop()
    assert (OFF, 60) in out and (OFF, 61) in out and (CC, 123) in out


def test_retime_follows_the_clock_estimate_at_send_time():
    """--sync: an event with a clock position goes out when the clock's latest estimate says."""
    clock = FakeClock()
    out, sent = [], []
    period = {"p": 0.01}
    s = Scheduler(lambda k, ch, a, b, src: out.append((clock.t, a)), now=clock.now, sleep=clock.sleep,
                  retime=lambda pos: pos * period["p"], on_sent=lambda e, t: sent.append(e))
    s.add([Event(0.96, ON, 0, 60, 90, pos=96), Event(1.92, ON, 0, 62, 90, pos=192), Event(1.5, ON, 0, 64, 90)])
    period["p"] = 0.011  # the DAW slowed down after the bar was scheduled
    clock.t = 0.97
    s.dispatch_due()
    assert out == []  # pulse 96 is now expected at 1.056
    clock.t = 1.056
    s.dispatch_due()
    assert [a for _, a in out] == [60] and sent[0].time == 1.056  # lateness is against the new estimate
    clock.t = 1.5
    s.dispatch_due()
    clock.t = 2.112
    s.dispatch_due()
    assert [a for _, a in out] == [60, 64, 62]


def test_retimed_events_go_out_in_the_order_of_their_positions():
    """--sync: bar 1's end-of-bar sweep was timed on an older clock estimate than bar 2's notes
    (the tempo rose since), so its given time is after theirs; by the clock it comes first, and it
    must not close bar 2's notes."""
    clock = FakeClock()
    out = []
    period = {"p": 0.01}
    s = Scheduler(lambda k, ch, a, b, src: out.append((k, a)), now=clock.now, sleep=clock.sleep,
                  retime=lambda pos: pos * period["p"])
    s.add([Event(0.5, ON, 0, 60, 90, pos=50), Event(0.959, SWEEP, 0, pos=95.9)])
    clock.t = 0.5
    s.dispatch_due()
    period["p"] = 0.009  # the DAW sped up: bar 2 (pulse 96) is due at 0.864
    s.add([Event(0.864, ON, 0, 60, 90, pos=96), Event(0.9, ON, 0, 62, 90, pos=100)])
    for t in (0.8631, 0.864, 0.9):
        clock.t = t
        s.dispatch_due()
    assert out == [(ON, 60), (OFF, 60), (ON, 60), (ON, 62)]
    assert s.open == {(0, 60): "srlive", (0, 62): "srlive"}
