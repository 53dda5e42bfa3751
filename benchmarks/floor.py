"""The floor: a bare Python scheduler sending a note every sixteenth through the same JACK hop as
srlive, to the same listening client, in the same run. What it achieves is what this machine allows
that minute (the issue's targets are the floor plus a margin where the floor exceeds them), so a
timing figure is read against it rather than against a number from another hour.

It runs as its own process (its own interpreter lock, as srlive has), at SCHED_FIFO where allowed,
and sends each note the way a plain scheduler would: sleep until 2 ms before the deadline, then
spin. Notes go on MIDI channel 16, note-off half a step after each note-on.

    python -m benchmarks.floor --target "recorder:recorder123n2" --origin 1234.5 --step 0.0833 --count 640

``benchmarks.timing --floor`` starts it beside srlive and reports both.
"""

from __future__ import annotations

import argparse
import sys
import time

import rtmidi

from benchmarks.clients import wait_until
from srlive.live.scheduler import raise_priority

CHANNEL = 15  # 0-based: MIDI channel 16, apart from srlive's and the metronome's
PITCH = 100


def send_grid(out, origin: float, step: float, count: int, channel: int = CHANNEL) -> int:
    """Note-on at origin + k·step (k < count), note-off half a step later; returns notes sent (a
    note whose half step has passed before it could start is left out)."""
    sent = 0
    for k in range(count):
        deadline = origin + k * step
        if time.perf_counter() > deadline + step / 2:
            continue  # this one is past already: the next is still on the grid
        wait_until(deadline)
        out.send_message([0x90 | channel, PITCH, 64])
        wait_until(deadline + step / 2)
        out.send_message([0x80 | channel, PITCH, 0])
        sent += 1
    return sent


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--target", required=True, help="full JACK name of the port that listens")
    p.add_argument("--origin", type=float, required=True, help="perf_counter time of the first note")
    p.add_argument("--step", type=float, required=True, help="seconds between notes")
    p.add_argument("--count", type=int, required=True, help="notes to send")
    a = p.parse_args(argv)
    out = rtmidi.MidiOut(rtapi=rtmidi.API_UNIX_JACK, name="floor")
    ports = out.get_ports()
    if a.target not in ports:
        print(f"floor: no JACK port {a.target!r} (ports: {', '.join(ports) or 'none'})", file=sys.stderr)
        return 2
    out.open_port(ports.index(a.target), "floor")
    raise_priority(60)
    try:
        send_grid(out, a.origin, a.step, a.count)
    finally:
        out.close_port()
        out.delete()
    return 0


if __name__ == "__main__":
    sys.exit(main())
