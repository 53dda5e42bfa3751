"""srlive --calibrate through real JACK loops: srlive's output wired straight to its input, and
a JACK client that echoes every message a known number of periods later. The round trip it
reports lies within a JACK period of the loop's delay (a message sent mid-cycle leaves with the
next cycle: 0 to 1 period more)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import jack
import pytest

from srlive import ports
from srlive.ports.calibrate import calibrate

pytestmark = pytest.mark.jack

REPO = Path(__file__).resolve().parents[2]
SLACK = 0.001  # seconds: a process callback starts a little after its cycle


class Echo:
    """A JACK client (JACK-Client) whose process callback sends back every MIDI event it gets,
    ``periods`` process cycles later, at the frame it came in at."""

    def __init__(self, periods: int):
        self.client = jack.Client(f"echo{os.getpid() % 10000}", no_start_server=True)
        self.inport = self.client.midi_inports.register("in")
        self.outport = self.client.midi_outports.register("out")
        self.periods = periods
        self.pending: list[tuple[int, int, bytes]] = []  # (cycle due, frame, bytes)
        self.cycle = 0
        self.client.set_process_callback(self._process)
        self.client.activate()

    def _process(self, frames):
        self.outport.clear_buffer()
        for offset, data in self.inport.incoming_midi_events():
            self.pending.append((self.cycle + self.periods, offset, bytes(data)))
        due = [p for p in self.pending if p[0] <= self.cycle]
        self.pending = [p for p in self.pending if p[0] > self.cycle]
        for _, offset, data in due:
            self.outport.write_midi_event(offset, data)
        self.cycle += 1

    def close(self):
        self.client.deactivate()
        self.client.close()


def wired(src: str, dst: str) -> None:
    with jack.Client(f"wire{os.getpid() % 10000}", no_start_server=True) as c:
        c.connect(src, dst)
    time.sleep(0.1)  # a few cycles on the new graph


def test_straight_wire_round_trip_is_under_a_period():
    tag = os.getpid() % 10000
    out = ports.open_output(f"cal out {tag}", backend="jack")
    inp = ports.open_input(f"cal in {tag}", backend="jack")
    try:
        wired(out.full_name, inp.full_name)
        period = ports.jack_period()
        result = calibrate(out, inp, inp.name, out.name)
    finally:
        inp.close()
        out.close()
    assert len(result.round_trips) == result.probes == 16
    assert 0 <= result.median <= period + SLACK, (result.median, period)


def test_echo_with_a_known_delay_is_reported_within_a_period():
    echo = Echo(periods=4)
    tag = os.getpid() % 10000
    out = ports.open_output(echo.inport.name, backend="jack", client_name="srlive")
    inp = ports.open_input(echo.outport.name, backend="jack", client_name="srlive")
    try:
        time.sleep(0.1)
        period = ports.jack_period()
        result = calibrate(out, inp, inp.name, out.name)
    finally:
        inp.close()
        out.close()
        echo.close()
    delay = 4 * period
    assert len(result.round_trips) == 16, tag
    assert delay - SLACK <= result.median <= delay + period + SLACK, (result.median, delay, period)
    assert result.offset_ms == round(-result.median * 500, 1)


def test_command_prints_the_offset_and_the_preset_line_and_says_so_when_nothing_comes_back():
    echo = Echo(periods=2)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    try:
        time.sleep(0.1)
        res = subprocess.run([sys.executable, "-m", "srlive", "--calibrate", "--backend", "jack",
                              "--out", echo.inport.name, "--in", echo.outport.name],
                             capture_output=True, text=True, timeout=60, env=env, cwd=REPO)
        assert res.returncode == 0, res.stderr
        lines = res.stdout.splitlines()
        assert lines[0].startswith(f"round trip '{echo.inport.name}' -> '{echo.outport.name}': median ")
        assert "16 of 16 probes came back" in lines[0]
        assert lines[1].startswith("offset: --offset -") and lines[2].startswith("preset: offset = -")
        # nothing wired back: srlive's own virtual input hears nothing
        res = subprocess.run([sys.executable, "-m", "srlive", "--calibrate", "--backend", "jack",
                              "--out", echo.inport.name, "--in", f"nothing back {os.getpid()}"],
                             capture_output=True, text=True, timeout=60, env=env, cwd=REPO)
        assert res.returncode == 2 and res.stdout == ""
        err = res.stderr.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("srlive: no echo from ") and "within 2 s: connect" in err[0]
    finally:
        echo.close()
