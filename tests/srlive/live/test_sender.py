"""The sender's side on a fake clock (srlive.live.sender.SenderCore): commands in, messages out to the
port, reports up for the take, the stats and echo suppression; and the main process's side of the
reports (SenderProcess._dispatch / _lose) without a process. The process itself, through real
ports: tests/ports/test_sender_jack.py."""

import pytest
import threading

from srlive.live.render import CC, OFF, ON, SWEEP, Event
from srlive.live.sender import PulseLine, SenderCore, SenderProcess
from srlive_fakes import FakeClock


def core(**kw):
    clock = FakeClock()
    wire, reports = [], []
    c = SenderCore(lambda data: wire.append((clock.t, bytes(data))), reports.append, now=clock.now,
                   sleep=clock.sleep, **kw)
    c.handle(("config", 0.010, 0.0, False))
    return c, clock, wire, reports


def kinds(reports, kind):
    return [r[1:] for r in reports if r[0] == kind]


def test_a_bars_events_go_out_at_their_deadlines_and_each_is_reported_with_its_grid_place():
    c, clock, wire, reports = core()
    c.handle(("add", [Event(1.0, ON, 0, 60, 90), Event(1.5, OFF, 0, 60, 0)]))
    clock.t = 0.9
    c.scheduler.dispatch_due()
    assert wire == []
    clock.t = 1.0
    c.scheduler.dispatch_due()
    clock.t = 1.5
    c.scheduler.dispatch_due()
    assert wire == [(1.0, bytes([0x90, 60, 90])), (1.5, bytes([0x80, 60, 0]))]
    out = kinds(reports, "out")
    assert [(src, t, data) for src, t, data, _ in out] == [("srlive", 1.0, bytes([0x90, 60, 90])),
                                                          ("srlive", 1.5, bytes([0x80, 60, 0]))]
    assert out[0][3] == Event(1.0, ON, 0, 60, 90)  # the scheduled event: where the take puts it
    assert [(e.kind, t) for e, t in kinds(reports, "sent")] == [(ON, 1.0), (OFF, 1.5)]


def test_offset_moves_the_send_but_the_report_keeps_the_grid_place():
    c, clock, wire, reports = core()
    c.handle(("config", 0.010, -0.02, False))
    c.handle(("add", [Event(1.0, ON, 0, 60, 90)]))
    clock.t = 0.98
    c.scheduler.dispatch_due()
    assert wire == [(0.98, bytes([0x90, 60, 90]))]
    assert kinds(reports, "out")[0][3].time == 1.0


def test_a_late_note_on_is_dropped_and_reported_its_note_off_still_goes():
    c, clock, wire, reports = core()
    c.handle(("add", [Event(1.0, ON, 0, 60, 90), Event(1.2, OFF, 0, 60, 0)]))
    clock.t = 1.02  # 20 ms late: past --max-late
    c.scheduler.dispatch_due()
    assert wire == []
    clock.t = 3.0  # far later still: a note-off always goes
    c.scheduler.dispatch_due()
    assert wire == [(3.0, bytes([0x80, 60, 0]))]
    assert [e.data1 for e, _ in kinds(reports, "dropped")] == [60]


def test_thru_goes_at_once_and_mute_and_panic_close_what_is_open():
    c, clock, wire, reports = core()
    c.handle(("now", ON, 3, 50, 100, "thru"))
    assert wire[-1] == (0.0, bytes([0x93, 50, 100]))
    c.handle(("add", [Event(0.1, ON, 0, 60, 90)]))
    clock.t = 0.1
    c.scheduler.dispatch_due()
    c.handle(("mute", "srlive", True))
    assert wire[-1][1] == bytes([0x80, 60, 0])
    c.handle(("add", [Event(0.2, ON, 0, 62, 90)]))  # muted: not queued
    clock.t = 0.2
    c.scheduler.dispatch_due()
    assert bytes([0x90, 62, 90]) not in [d for _, d in wire]
    c.handle(("panic", [0]))
    assert bytes([0x83, 50, 0]) in [d for _, d in wire]  # the thru note closed too
    assert {d for _, d in wire if d[0] & 0xF0 == 0xB0} == {bytes([0xB0, 123, 0]), bytes([0xB3, 123, 0])}


def test_stop_closes_every_open_note_sends_cc_123_and_ends_the_command_loop():
    c, clock, wire, reports = core()
    c.handle(("add", [Event(0.1, ON, 2, 60, 90), Event(5.0, OFF, 2, 60, 0), Event(6.0, ON, 2, 64, 90)]))
    clock.t = 0.1
    c.scheduler.dispatch_due()
    assert c.handle(("stop", True)) is False
    assert wire[-2:] == [(0.1, bytes([0x82, 60, 0])), (0.1, bytes([0xB2, 123, 0]))]
    assert c.scheduler.pending() == 0  # the pending note-on never goes
    c.stop()  # twice: nothing more
    assert len(wire) == 3


def test_sync_events_are_retimed_by_the_last_clock_line_the_main_process_sent():
    c, clock, wire, reports = core()
    c.handle(("config", 0.010, 0.0, True))
    c.handle(("line", (0.0, 10.0, 0.02)))  # pulse 0 at 10 s, 20 ms a pulse
    c.handle(("add", [Event(99.0, ON, 0, 60, 90, pos=48.0)]))  # its given time is an old estimate
    clock.t = 10.95
    c.scheduler.dispatch_due()
    assert wire == []
    c.handle(("line", (0.0, 10.0, 0.021)))  # the clock slowed: pulse 48 at 11.008
    clock.t = 11.0
    c.scheduler.dispatch_due()
    assert wire == []
    clock.t = 11.008
    c.scheduler.dispatch_due()
    assert wire == [(11.008, bytes([0x90, 60, 90]))]


def test_without_a_line_a_sync_event_keeps_its_given_time():
    line = PulseLine()
    c, clock, wire, reports = core()
    c.handle(("config", 0.010, 0.0, True))
    c.handle(("line", None))
    c.handle(("add", [Event(2.0, ON, 0, 60, 90, pos=48.0)]))
    clock.t = 2.0
    c.scheduler.dispatch_due()
    assert len(wire) == 1
    try:
        line(0.0)
    except RuntimeError:
        pass
    else:
        raise AssertionError("a line without an estimate must refuse")


def test_poll_reports_the_ports_news_only_when_there_is_some():
    news = iter([None, "output 'x' went away; keeping time"])
    c, clock, wire, reports = core(poll=lambda: next(news))
    c.handle(("poll",))
    c.handle(("poll",))
    assert kinds(reports, "news") == [("output 'x' went away; keeping time",)]


def test_sweep_closes_what_the_bar_left_open():
    c, clock, wire, reports = core()
    c.handle(("add", [Event(0.1, ON, 0, 60, 90), Event(0.9, SWEEP, 0)]))  # its note-off was lost
    clock.t = 0.1
    c.scheduler.dispatch_due()
    clock.t = 1.0
    c.scheduler.dispatch_due()
    assert [d for _, d in wire] == [bytes([0x90, 60, 90]), bytes([0x80, 60, 0])]


class _Proxy(SenderProcess):
    """SenderProcess's report side alone: no process, no pipe."""

    def __init__(self):  # noqa: D107 - deliberately skips the process start
        self.sent = self.dropped = self.send_errors = 0
        self.on_sent = self.on_dropped = self.on_output = self.on_lost = None
        self._news = []
        self._stopped = threading.Event()
        self.lost = None

    def _command(self, *cmd):
        pass


def test_reports_reach_the_engines_hooks_and_counters():
    p = _Proxy()
    got = []
    p.on_output = lambda *a: got.append(("out",) + a)
    p.on_sent = lambda e, t: got.append(("sent", e.data1, t))
    p.on_dropped = lambda e, t: got.append(("dropped", e.data1, t))
    e = Event(1.0, ON, 0, 60, 90)
    for item in [("out", "srlive", 1.0, b"\x90<Z", e), ("sent", e, 1.0), ("dropped", e._replace(data1=62), 1.2),
                 ("news", "output 'x' is back; playing again")]:
        p._dispatch(item)
    assert got == [("out", "srlive", 1.0, b"\x90<Z", e), ("sent", 60, 1.0), ("dropped", 62, 1.2)]
    assert (p.sent, p.dropped) == (1, 1)
    assert p.poll() == "output 'x' is back; playing again" and p.poll() is None
    p._dispatch(("stopped", 10, 2, 0))
    assert (p.sent, p.dropped) == (10, 2) and p._stopped.is_set()


def test_a_hook_that_raises_does_not_stop_the_reports():
    p = _Proxy()
    p.on_sent = lambda e, t: 1 / 0
    p._dispatch(("sent", Event(1.0, ON, 0, 60, 90), 1.0))
    p._dispatch(("dropped", Event(1.0, ON, 0, 60, 90), 1.0))
    assert (p.sent, p.dropped) == (1, 1)


def test_a_lost_sender_is_said_once():
    p = _Proxy()
    said = []
    p.on_lost = said.append
    p._lose("the sender process ended (exit code -9)")
    p._lose("the sender process is gone")
    assert said == ["the sender process ended (exit code -9)"]
    assert p.poll() is None


def test_the_line_sent_for_a_bending_clock_is_its_line_where_it_is_now():
    from srlive.live.sender import local_line

    def bent(p):  # 0.02 s a pulse for bar 1, then 0.025 s a pulse (a performer who slowed down)
        return 0.02 * p if p <= 96 else 0.02 * 96 + 0.025 * (p - 96)

    p0, t0, period = local_line(bent, now=10.0)
    assert period == pytest.approx(0.025) and t0 == pytest.approx(10.0) and bent(p0) == pytest.approx(10.0)
    straight = local_line(lambda p: 1.0 + 0.5 * p, now=3.0)  # one line: that line
    assert straight[2] == pytest.approx(0.5) and 1.0 + 0.5 * straight[0] == pytest.approx(straight[1])
