"""srlive --calibrate with fake ports on a fake clock: the round trips, their statistics, the
printed offset and preset line, and the one-line errors."""

import mido
import pytest

from srlive.cli import main
from srlive.errors import UserError
from srlive.ports import calibrate
from srlive.ports.calibrate import PROBES, Calibration, measure, probe_of


class Loop:
    """A fake cable from a fake output to a fake input: each message comes back ``delays[k]`` s
    after it was sent (k counts note-ons; None loses it), on a fake clock that sleep() advances."""

    def __init__(self, delays, extra=()):
        self.t = 100.0
        self.delays = list(delays)
        self.fn = None
        self.pending = []  # (due, bytes)
        self.ons = 0
        self.extra = list(extra)  # other traffic on the input: (time, bytes)

    # the clock
    def now(self):
        return self.t

    def sleep(self, dt):
        end = self.t + max(dt, 1e-6)
        while True:
            due = sorted(self.pending + self.extra, key=lambda p: p[0])
            if not due or due[0][0] > end:
                break
            t, data = due[0]
            (self.pending if (t, data) in self.pending else self.extra).remove((t, data))
            self.t = t
            if self.fn is not None:
                self.fn(mido.Message.from_bytes(data), t)
        self.t = end

    # the output
    def send_bytes(self, data):
        if data[0] & 0xF0 == 0x90:
            delay = self.delays[self.ons % len(self.delays)]
            self.ons += 1
            if delay is not None:
                self.pending.append((self.t + delay, list(data)))

    # the input
    def set_callback(self, fn):
        self.fn = fn


def run_loop(delays, **kw):
    loop = Loop(delays, **kw)
    return measure(loop, loop, now=loop.now, sleep=loop.sleep), loop


def test_each_probe_round_trip_is_measured_even_when_echoes_come_after_the_next_probe():
    delays = [0.003 + 0.0001 * k for k in range(PROBES)]
    delays[5] = 0.300  # longer than the spacing: its velocity still names it
    trips, _ = run_loop(delays)
    assert trips == pytest.approx(delays, abs=1e-9)


def test_other_traffic_on_the_input_is_not_taken_for_an_echo():
    clock_and_notes = [(100.0 + 0.01 * k, [0xF8]) for k in range(50)] + [(100.05, [0x90, 60, 5]),
                                                                         (100.06, [0x9F, 1, 3])]
    trips, _ = run_loop([0.004], extra=clock_and_notes)
    assert trips == pytest.approx([0.004] * PROBES, abs=1e-9)


def test_lost_probes_are_none_and_the_rest_are_kept():
    trips, _ = run_loop([0.002, None])
    assert trips[0::2] == pytest.approx([0.002] * (PROBES // 2)) and trips[1::2] == [None] * (PROBES // 2)


def test_statistics_and_what_is_printed():
    c = Calibration(tuple(0.001 * x for x in (6.0, 6.2, 6.4, 6.4, 6.6, 7.0, 9.0, 6.3)), 16)
    assert c.median == pytest.approx(0.0064)
    assert c.spread == (pytest.approx(0.0062), pytest.approx(0.007))
    assert c.offset_ms == -3.2  # half the median round trip, early
    lines = c.report("loop out", "loop in")
    assert lines[0].startswith("round trip 'loop out' -> 'loop in': median 6.40 ms, spread 6.20..7.00 ms")
    assert "min 6.00, max 9.00" in lines[0] and "8 of 16 probes came back" in lines[0]
    assert lines[1].startswith("offset: --offset -3.2 ") and "--offset -6.4" in lines[1]
    assert lines[2] == "preset: offset = -3.2"
    assert lines[3].endswith("input-latency = 3.2")


def test_no_offset_prints_as_minus_zero():
    assert Calibration((0.00004,), 16).offset_ms == 0.0
    assert "offset = 0" in Calibration((0.00004,), 16).report("a", "b")[2]


def test_probe_of_only_takes_the_probes():
    assert probe_of(mido.Message("note_on", channel=15, note=0, velocity=3)) == 2
    assert probe_of(mido.Message("note_on", channel=15, note=0, velocity=PROBES + 1)) is None
    assert probe_of(mido.Message("note_on", channel=0, note=0, velocity=3)) is None
    assert probe_of(mido.Message("note_off", channel=15, note=0, velocity=3)) is None


def test_no_echo_is_one_line_naming_the_fix():
    loop = Loop([None])
    with pytest.raises(UserError) as err:
        calibrate.calibrate(loop, loop, "X", "Y", now=loop.now, sleep=loop.sleep, timeout=2.0)
    assert str(err.value) == ("no echo from 'X' within 2 s: connect 'Y' to 'X' (a cable or a DAW track "
                              "monitoring it) and try again")


def test_cli_no_echo_exits_2_with_one_line(capsys, monkeypatch):
    loop = Loop([None])

    class Ports:
        @staticmethod
        def resolve_backend(name):
            return "jack"

        @staticmethod
        def open_output(name, **kw):
            return type("Port", (), {"name": name, "close": lambda self: None})()

        open_input = open_output

        @staticmethod
        def close_all():
            pass

    import srlive

    monkeypatch.setattr(srlive, "ports", Ports, raising=False)
    monkeypatch.setattr(calibrate, "measure", lambda o, i, **kw: [None] * PROBES)
    monkeypatch.setattr(calibrate.time, "sleep", lambda s: None)
    code = main(["--calibrate", "--in", "X", "--out", "Y"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.strip().splitlines() == ["srlive: no echo from 'X' within 2 s: connect 'Y' to 'X' (a cable or a "
                                        "DAW track monitoring it) and try again"]


@pytest.mark.parametrize("argv", [["--calibrate", "--in", "X"], ["--calibrate", "--out", "Y"]])
def test_cli_calibrate_needs_both_ports(capsys, argv):
    code = main(argv)
    _, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--out PORT" in err and "--in PORT" in err
