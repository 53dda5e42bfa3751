"""Helper JACK clients that stand in for a performer, a DAW's recorder and a DAW's clock.

They are used by the real-port tests (tests/ports) and the timing benchmarks:

* ``Performer`` — a JACK MIDI output ("performer:<port>") that srlive's ``--in`` reads; ``play()``
  sends (time, bytes) events on absolute perf_counter deadlines (sleep, then spin the last ms).
* ``Recorder`` — a JACK MIDI input ("recorder:<port>") that srlive's ``--out`` writes to; each
  message is stamped with perf_counter() on arrival.
* ``ClockSource`` — MIDI clock (24 per quarter) with Start/Stop/Song Position Pointer, optionally
  with random jitter on each pulse, from a background thread; it keeps the ideal pulse times.

Each helper gets a unique port name so parallel or leftover clients never make a name ambiguous;
``query`` is the string to give srlive (matched by words).
"""

from __future__ import annotations

import itertools
import os
import random
import threading
import time
from typing import Iterable, Optional, Sequence

import rtmidi

_counter = itertools.count(1)
SPIN = 0.002  # spin the last 2 ms before a deadline


def wait_until(deadline: float) -> float:
    """Sleep until shortly before ``deadline`` (perf_counter), then spin releasing the GIL each
    round (so a Recorder's callback in this process is never kept waiting); return the time."""
    while True:
        now = time.perf_counter()
        left = deadline - now
        if left <= 0:
            return now
        time.sleep(left - SPIN if left > SPIN else 0)


def quick_gil_handover(interval: float = 0.0002) -> None:
    """Hand the GIL over within ``interval`` s (default 5 ms) so stamps on arrival stay honest."""
    import sys

    sys.setswitchinterval(interval)


def jack_midi_ports() -> list[str]:
    """Every JACK MIDI port's full name, as srlive's JACK backend sees them."""
    from srlive.ports import jack_midi_ports as ports

    return list(ports() or [])


def _unique(base: str) -> str:
    return f"{base}{os.getpid() % 10000}n{next(_counter)}"


class _Client:
    cls = rtmidi.MidiOut

    def __init__(self, client: str, port: Optional[str] = None, target: Optional[str] = None):
        """A virtual port, or with ``target`` (a full JACK port name) a port connected to it."""
        self.client_name = client
        self.port_name = port or _unique(client)
        self.target = target
        self.rt = None
        self.reopen()

    def _setup(self) -> None:
        pass

    @property
    def full_name(self) -> str:
        """'client:port' as JACK shows it (JACK renames a second 'recorder' to 'recorder-01')."""
        mine = [p for p in (jack_midi_ports() or []) if p.endswith(":" + self.port_name)]
        return mine[0] if len(mine) == 1 else f"{self.client_name}:{self.port_name}"

    def connections(self) -> int:
        from srlive.ports import jack_connections

        return jack_connections(self.full_name) or 0

    @property
    def query(self) -> str:
        """What to give srlive's --in/--out to find this port (words of 'client:port')."""
        return f"{self.client_name} {self.port_name}"

    def close(self) -> None:
        if self.rt is None:
            return
        try:
            self.rt.close_port()
        finally:
            self.rt.delete()
            self.rt = None

    def reopen(self) -> None:
        """Come back after close() under the same port name (a restarted DAW)."""
        self.rt = self.cls(rtapi=rtmidi.API_UNIX_JACK, name=self.client_name)
        self._setup()
        if self.target is None:
            self.rt.open_virtual_port(self.port_name)
        else:
            self.rt.open_port(self.rt.get_ports().index(self.target), self.port_name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Performer(_Client):
    cls = rtmidi.MidiOut

    def __init__(self, client: str = "performer", port: Optional[str] = None, target: Optional[str] = None):
        self.sent: list[tuple[float, list[int]]] = []
        self._send_lock = threading.Lock()  # notes from one thread, clock from another
        super().__init__(client, port, target)

    def send(self, data) -> float:
        with self._send_lock:
            t = time.perf_counter()
            self.rt.send_message(list(data))
            self.sent.append((t, list(data)))
        return t

    def play(self, events: Iterable[tuple[float, list[int]]], origin: Optional[float] = None) -> float:
        """Send each (seconds from origin, bytes) on time; returns the origin used."""
        origin = time.perf_counter() + 0.05 if origin is None else origin
        for offset, data in events:
            wait_until(origin + offset)
            self.send(data)
        return origin


class _RecorderCore(_Client):
    """The recording client itself; runs in its own process (see Recorder).

    No Python runs inside JACK's cycle: python-rtmidi queues each message in C++ with its JACK
    time (as a delta from the previous one), and a thread here drains the queue every 0.2 ms.
    A Python callback in the cycle costs ~10 µs a message, so a burst of ~150 messages outlasts a
    1.3 ms period, and the writer then refills the buffer being read: repeated and lost messages
    were seen that way (JACK 1.9.21, async mode). Arrival times come from the JACK times: each
    message keeps (segment, JACK time since the segment's first message, time it was drained);
    the segment's origin is the least (drained − JACK time) seen, so stamps keep JACK's µs
    spacing and sit within a drain's latency (tens of µs) of true arrival on perf_counter."""

    cls = rtmidi.MidiIn
    QUEUE = 8192

    def __init__(self, client: str = "recorder", port: Optional[str] = None, target: Optional[str] = None):
        self.raw: list[tuple[int, float, float, list[int]]] = []
        self._lock = threading.Lock()
        self._segment = 0
        self._cum = 0.0
        self._stop = threading.Event()
        super().__init__(client, port, target)
        threading.Thread(target=self._drain, daemon=True).start()

    def reopen(self) -> None:
        with self._lock_or_none():
            self.rt = rtmidi.MidiIn(rtapi=rtmidi.API_UNIX_JACK, name=self.client_name, queue_size_limit=self.QUEUE)
            self.rt.ignore_types(sysex=False, timing=False, active_sense=False)
            self._segment += 1
            self._cum = 0.0
            if self.target is None:
                self.rt.open_virtual_port(self.port_name)
            else:
                self.rt.open_port(self.rt.get_ports().index(self.target), self.port_name)

    def _lock_or_none(self):
        import contextlib

        return self._lock if hasattr(self, "_lock") else contextlib.nullcontext()

    def close(self) -> None:
        with self._lock:
            super().close()

    def _drain(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                msg = self.rt.get_message() if self.rt is not None else None
                if msg is not None:
                    polled = time.perf_counter()
                    data, delta = msg
                    self._cum += delta
                    self.raw.append((self._segment, self._cum, polled, data))
            if msg is None:
                time.sleep(0.0002)

    def since(self, n: int) -> list:
        with self._lock:
            return self.raw[n:]


def stamp(raw: list) -> list[tuple[float, list[int]]]:
    """(arrival on perf_counter, bytes) from the recorder's (segment, JACK time, drained, bytes)."""
    origin: dict[int, float] = {}
    for seg, cum, polled, _ in raw:
        o = polled - cum
        if seg not in origin or o < origin[seg]:
            origin[seg] = o
    return [(origin[seg] + cum, data) for seg, cum, _, data in raw]


def _serve_recorder(client: str, port: str, target: Optional[str]) -> int:
    """The recorder process: nothing but the JACK callback runs Python here while it records."""
    import json
    import sys

    import gc

    # The callback runs inside JACK's process cycle: a garbage-collector pass over the growing
    # event list there (tens of ms late) lets the writer refill the buffer being read — repeated
    # and lost messages. Nothing here makes reference cycles, so the collector can stay off.
    gc.disable()
    core = _RecorderCore(client, port, target or None)
    out = sys.stdout
    out.write("ready\n")
    out.flush()
    for line in sys.stdin:
        cmd, _, arg = line.strip().partition(" ")
        if cmd == "dump":
            out.write(json.dumps(core.since(int(arg or 0))) + "\n")
        elif cmd == "close":
            core.close()
            out.write("ok\n")
        elif cmd == "reopen":
            core.reopen()
            out.write("ok\n")
        else:
            out.write(f"unknown {cmd}\n")
        out.flush()
    core.close()
    return 0


class Recorder(_Client):
    """A recording JACK input port, run in a child process so that nothing else in the test or
    benchmark (players, clocks, spinning waits) delays its callbacks. A callback late by more than
    a JACK period reads a buffer its writer is already refilling (garbled, repeated messages were
    seen on JACK 1.9.21 that way), so the recorder must be quick; its own process makes it so."""

    def __init__(self, client: str = "recorder", port: Optional[str] = None, target: Optional[str] = None):
        import subprocess
        import sys

        self.client_name = client
        self.port_name = port or _unique(client)
        self.target = target
        self._events: list[tuple[float, list[int]]] = []
        self._io_lock = threading.Lock()
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the repo: benchmarks/ and srlive/
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.clients", "record", client, self.port_name, target or ""],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1, env=env)
        if self._proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the recorder process did not start")
        self.rt = self._proc  # "open" for _Client's bookkeeping

    def _ask(self, line: str) -> str:
        with self._io_lock:
            self._proc.stdin.write(line + "\n")
            self._proc.stdin.flush()
            return self._proc.stdout.readline()

    def snapshot(self) -> list[tuple[float, list[int]]]:
        import json

        if self._proc.poll() is None:
            self._events.extend(json.loads(self._ask(f"dump {len(self._events)}")))
        return stamp(self._events)

    @property
    def events(self) -> list[tuple[float, list[int]]]:
        return self.snapshot()

    def wait_for(self, predicate, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.snapshot()):
                return True
            time.sleep(0.01)
        return predicate(self.snapshot())

    def close(self) -> None:
        """The port goes away (the process stays, so what it recorded can still be read)."""
        if self._proc.poll() is None:
            self._ask("close")

    def reopen(self) -> None:
        if hasattr(self, "_proc") and self._proc.poll() is None:
            self._ask("reopen")

    def shutdown(self) -> None:
        if self._proc.poll() is None:
            self.snapshot()
            self._proc.stdin.close()
            try:
                self._proc.wait(5)
            except Exception:  # noqa: BLE001
                self._proc.kill()
                self._proc.wait()

    def __exit__(self, *exc):
        self.shutdown()

    def __del__(self):
        try:
            if self._proc.poll() is None:
                self._proc.kill()
        except Exception:  # noqa: BLE001
            pass


# What a flood sends, round and round: mostly what srlive must ignore or survive — notes on all 16
# channels, controllers, pitch bend, aftertouch, active sensing, SysEx, a bare running-status pair —
# with, once a cycle, notes on channel 1 outside the 88 keys, a note-on never turned off and a plain
# note (a player can't play 10,000 notes a second; a broken controller can send that much of
# everything else).
_JUNK = (
    [0x91, 60, 100], [0x81, 60, 0],  # channel 2: filtered by --in-channel 1
    [0xE0, 0, 64], [0xE0, 127, 127],  # pitch bend
    [0xD0, 50], [0xA0, 60, 50],  # channel and poly aftertouch
    [0xFE],  # active sensing
    [0xF0, 0x7D, 1, 2, 3, 4, 5, 0xF7],  # SysEx
    [60, 100],  # running status: data bytes without their status byte
    [0x9F, 64, 100], [0xBF, 7, 100],  # channel 16
)
#: a note and a controller on each of the 16 channels (srlive listens to all without --in-channel)
_EVERY_CHANNEL = tuple(m for ch in range(16) for m in ([0x90 | ch, 60, 100], [0x80 | ch, 60, 0],
                                                       [0xB0 | ch, 1, 64]))
FLOOD_CYCLE = _JUNK * 9 + _EVERY_CHANNEL + (
    [0x90, 5, 90], [0x80, 5, 0], [0x90, 120, 90], [0x80, 120, 0],  # outside the 88 keys
    [0x90, 62, 70], [0x80, 62, 0],  # a plain note on channel 1
    [0x90, 71, 80],  # a note-on without its note-off
)

#: An expressive (MPE-like) keyboard played with five fingers: each finger's note on a channel of its
#: own among 2-9 (a member channel), per-note pitch bend and channel pressure streaming while it is
#: held. No note-ons here (the performer's phrase plays the notes): only the stream between them.
MPE_CHANNELS = tuple(range(1, 9))  # 0-based: MIDI channels 2-9
MPE_CYCLE = tuple(m for k in range(64) for ch in (MPE_CHANNELS[k % 5], MPE_CHANNELS[(k + 5) % 8])
                  for m in ([0xE0 | ch, (k * 37) % 128, 64 + (k % 9) - 4], [0xD0 | ch, 40 + k % 60]))


def flood(performer: "Performer", rate: float, seconds: float, chunk: int = 10,
          cycle: Sequence[list[int]] = FLOOD_CYCLE, delay: float = 0.0) -> int:
    """Send ``cycle`` (FLOOD_CYCLE) round and round at ``rate`` messages a second for ``seconds``,
    starting ``delay`` s from now; returns how many were sent. Chunks of ``chunk`` messages go out
    on absolute deadlines."""
    start = time.perf_counter() + delay
    period = chunk / rate
    sent = 0
    k = 0
    while True:
        now = wait_until(start + k * period)
        if now - start >= seconds:
            return sent
        with performer._send_lock:  # the phrase may be playing from another thread
            for _ in range(chunk):
                performer.rt.send_message(cycle[sent % len(cycle)])
                sent += 1
        k += 1


class ClockSource(Performer):
    """MIDI clock from a thread: ``start(bpm, jitter=0.05)`` ... ``stop()``.

    ``jitter`` is the largest shift of a pulse, as a fraction of the pulse period (uniform,
    independent per pulse, so the grid itself never drifts). ``drop`` is the share of pulses never
    sent (at random). ``stall`` is (milliseconds, bars): every that many bars, the pulses due in
    the first that many ms after the downbeat are held and then sent in a burst, as a busy machine
    delivers them. ``changes`` is ((pulse, bpm), ...): the tempo from that pulse on (counted from
    the first one sent). ``pulses`` holds the ideal times of every pulse, sent or not."""

    def __init__(self, client: str = "daw", port: Optional[str] = None, target: Optional[str] = None):
        super().__init__(client, port, target)
        self.pulses: list[float] = []
        self.origin: Optional[float] = None
        self._thread: Optional[threading.Thread] = None
        self._running = threading.Event()

    def start(self, bpm: float, jitter: float = 0.0, position: int = 0, lead: float = 0.2, seed: int = 0,
              continue_: bool = False, drop: float = 0.0, stall: Optional[tuple[float, int]] = None,
              changes: Sequence[tuple[int, float]] = ()) -> float:
        """Send (SPP position, if any, then) Start/Continue at origin, pulses from there; return origin."""
        rng = random.Random(seed)
        origin = time.perf_counter() + lead
        self.origin = origin
        self._running.set()
        if position:
            self.send([0xF2, position & 0x7F, (position >> 7) & 0x7F])

        def run():
            wait_until(origin)
            self.send([0xFB] if (continue_ or position) else [0xFA])
            held = 0
            base, base_k, period = origin, 0, 60.0 / bpm / 24  # the tempo in force: from pulse base_k at base
            later = sorted(changes)
            for k in itertools.count():
                while later and k >= later[0][0]:
                    base, base_k = base + (later[0][0] - base_k) * period, later[0][0]
                    period = 60.0 / later.pop(0)[1] / 24
                ideal = base + (k - base_k) * period
                due = ideal + rng.uniform(-jitter, jitter) * period
                lost = k > 0 and rng.random() < drop
                if stall:
                    bar, offset = divmod(k, 96)
                    release = ideal - offset * period + stall[0] / 1000
                    if bar > 0 and bar % stall[1] == 0 and due < release:
                        held += not lost  # held back until the stall ends
                        self.pulses.append(ideal)
                        continue
                    if held:
                        wait_until(release)
                        for _ in range(held):
                            self.send([0xF8])
                        held = 0
                wait_until(due)
                if not self._running.is_set():
                    return
                if not lost:
                    self.send([0xF8])
                self.pulses.append(ideal)

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        return origin

    def stop(self, send_stop: bool = True) -> None:
        self._running.clear()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if send_stop and self.rt is not None:
            self.send([0xFC])

    def close(self) -> None:
        if self._thread is not None:
            self.stop(send_stop=False)
        super().close()


if __name__ == "__main__":
    import sys

    if len(sys.argv) >= 4 and sys.argv[1] == "record":
        sys.exit(_serve_recorder(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None))
    sys.exit("usage: python -m benchmarks.clients record CLIENT PORT [TARGET]")
