"""What happens to each input message: docs/design.md's capture stage, run by the input port's one
consumer thread (srlive.ports: the MIDI thread only stamps and queues).

For each message, stamped on arrival: MIDI clock feeds the clock follower (``--sync``); a CC
mapped in the preset's ``[cc]`` table is a live control (consumed, not passed thru); a note goes
into the capture buffer for its bar's window, into the recording, and thru to the output. Each
note-on is an onset for the bar clock (the internal clock starts on the first: bar 1's downbeat). Echo suppression
(``allow_feedback``): a message that comes back on the input within ECHO_WINDOW of srlive sending
the same bytes is taken for srlive's own and ignored.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Callable

from srlive.clocks.bar_clock import BarClock
from srlive.live.quantise import NoteMsg
from srlive.live.render import CC, OFF, ON
from srlive.settings import Settings

ECHO_WINDOW = 0.25  # seconds
CLOCK_TYPES = ("clock", "start", "continue", "stop", "songpos")
HANDLED_TYPES = ("note_on", "note_off", "control_change")
#: what the engine never uses, for MidiInput.ignore (dropped before Python where the backend can)
UNUSED_TYPES = ("pitchwheel", "aftertouch", "polytouch", "program_change", "active_sensing", "sysex",
                "quarter_frame", "song_select", "tune_request", "reset")


def unused_input_types(sync: bool) -> tuple[str, ...]:
    """Message types the engine ignores: clock and transport too unless it follows MIDI clock."""
    return UNUSED_TYPES if sync else UNUSED_TYPES + CLOCK_TYPES


class CaptureBuffer:
    """Note messages stamped on arrival, waiting for their window to close (thread-safe).

    A flood (a stuck controller, a feedback loop) is cut off at ``max_items`` waiting messages —
    far more than anyone plays in a bar — so quantising a window stays within its budget; the
    rest are counted in ``overflow`` and ignored."""

    def __init__(self, max_items: int = 2048):
        self._items: list[NoteMsg] = []
        self._lock = threading.Lock()
        self.max_items = max_items
        self.overflow = 0

    def append(self, m: NoteMsg) -> bool:
        with self._lock:
            if len(self._items) >= self.max_items:
                self.overflow += 1
                return False
            self._items.append(m)
            return True

    def drain(self, until: float) -> list[NoteMsg]:
        with self._lock:
            out = [m for m in self._items if m.time < until]
            self._items = [m for m in self._items if m.time >= until]
        return out


class EchoFilter:
    """Recognises srlive's own messages coming back on its input (same port, --allow-feedback)."""

    def __init__(self, window: float = ECHO_WINDOW):
        self.window = window
        self._sent: deque[tuple[float, bytes]] = deque()
        self._lock = threading.Lock()

    def sent(self, data: bytes, t: float) -> None:
        with self._lock:
            self._sent.append((t, bytes(data)))
            while self._sent and self._sent[0][0] < t - self.window:
                self._sent.popleft()

    def is_echo(self, data: bytes, t: float) -> bool:
        data = bytes(data)
        with self._lock:
            for i, (ts, d) in enumerate(self._sent):
                if d == data and t - self.window <= ts <= t + 0.001:
                    del self._sent[i]
                    return True
        return False


@dataclass
class Intake:
    """What the engine's input thread does with each message (the module's docstring): it hands
    each on to one place — the clock, the capture buffer, the take, the thru output, or a live
    control — and never touches the bar being worked out.

    ``settings()`` is read once a message (live controls replace the settings whole); ``control``
    applies a live control; ``warn(key, text)`` says something once."""

    clock: BarClock
    capture: CaptureBuffer
    send_now: Callable  # (kind, channel, data1, data2, source): thru, at once
    control: Callable[[str, int], None]
    settings: Callable[[], Settings]
    warn: Callable[[str, str], None]
    recorder: object = None
    echo: EchoFilter | None = None

    def take(self, msg, t: float) -> None:
        """One input message, stamped ``t`` on arrival (already moved back by --input-latency)."""
        typ = msg.type
        if typ in CLOCK_TYPES:
            self.clock.feed(typ, t, getattr(msg, "pos", None))  # a MIDI clock follower's; other clocks ignore it
            return
        if typ not in HANDLED_TYPES:
            return  # sysex, active sensing, pitch bend, aftertouch, program change: ignored
        data = bytes(msg.bytes())
        if self.echo is not None and self.echo.is_echo(data, t):
            return
        s = self.settings()  # one consistent set for this message (live controls replace it whole)
        if s.in_channel is not None and msg.channel != s.in_channel:
            return
        if typ == "control_change":
            target = s.cc.get(msg.control)
            if target is not None:
                self.control(target, msg.value)
            elif s.thru:
                self.send_now(CC, msg.channel, msg.control, msg.value, "thru")
            return
        vel = msg.velocity if typ == "note_on" else 0
        if vel > 0:
            self.clock.onset(t)  # the internal clock's bar 1 is the performer's first note
        if not self.capture.append(NoteMsg(t, msg.note, vel, msg.channel)):
            self.warn("flood", "input flood: more notes than a bar can hold; ignoring the excess")
            return
        if self.recorder is not None:
            self.recorder.add("performer", t, data)
        if s.thru:
            self.send_now(ON if vel else OFF, msg.channel, msg.note, vel, "thru")
