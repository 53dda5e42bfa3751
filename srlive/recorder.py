"""--record FILE.mid: the take, as a standard MIDI file with tracks `performer` and `srlive`.

The file is rewritten by atomic replace (a temporary file in the same folder, then os.replace)
after every bar, so a crash — even SIGKILL — loses at most the bar in progress, and a reader never
sees a half-written file. Each snapshot closes the notes still sounding at its end, so every
note-on in every snapshot has its note-off (pretty_midi, mido and DAWs read it whole).

Times are seconds on the engine's clock; tick 0 is the session's bar 1 (``origin``), the file's
tempo is the session tempo (480 ticks per quarter). Messages before the origin (a count-in, the
clock follower's first pulses) are put at tick 0. Track bytes are built incrementally, so a
snapshot costs one file write, not a re-encoding of the whole take.
"""

from __future__ import annotations

import os
import struct
import threading
from pathlib import Path

from srlive.errors import UserError

TRACKS = ("performer", "srlive")
NOTE_OFF, NOTE_ON = 0x80, 0x90


def varlen(n: int) -> bytes:
    """A MIDI variable-length quantity."""
    n = max(int(n), 0)
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def meta(kind: int, data: bytes) -> bytes:
    return bytes([0xFF, kind]) + varlen(len(data)) + data


def check_writable(path) -> Path:
    """Refuse, in one line, a path a take can't be written to (before anything starts)."""
    p = Path(path)
    if p.is_dir():
        raise UserError(f"--record/--out {p}: is a folder; give a file name such as {p / 'take.mid'}")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise UserError(f"--record/--out {p}: folder {parent} does not exist; create it or choose another path")
    probe = parent / f".{p.name}.probe{os.getpid()}"
    try:
        with open(probe, "wb"):
            pass
        os.unlink(probe)
    except OSError as e:
        raise UserError(f"--record/--out {p}: can't write there ({e.strerror}); choose a writable folder") from None
    return p


class _Track:
    def __init__(self, name: str):
        self.head = meta(0x03, name.encode())
        self.data = bytearray()
        self.last_tick = 0
        self.open: dict[tuple[int, int], int] = {}


class Recorder:
    def __init__(self, path, tempo: float, ticks_per_beat: int = 480, origin: float | None = None,
                 check: bool = True):
        self.path = check_writable(path) if check else Path(path)
        self.tempo = float(tempo)
        self.tpb = int(ticks_per_beat)
        self.origin = origin
        self.tracks = {name: _Track(name) for name in TRACKS}
        self._pending: list[tuple[str, float, bytes]] = []
        self._lock = threading.Lock()
        self.writes = 0

    def tick(self, t: float) -> int:
        return max(0, int(round((t - self.origin) * self.tempo / 60.0 * self.tpb)))

    def set_origin(self, origin: float) -> None:
        with self._lock:
            self.origin = float(origin)
            pending, self._pending = self._pending, []
            for track, t, data in pending:
                self._append(track, t, data)

    def add(self, track: str, t: float, data) -> None:
        """Record one channel message (raw bytes) on a track at time t."""
        data = bytes(data)
        if not data or not 0x80 <= data[0] < 0xF0:
            return  # channel messages only
        with self._lock:
            if self.origin is None:
                self._pending.append((track, t, data))
            else:
                self._append(track, t, data)

    def _append(self, track: str, t: float, data: bytes) -> None:
        tr = self.tracks[track]
        status = data[0] & 0xF0
        key = (data[0] & 0x0F, data[1] if len(data) > 1 else 0)
        if status == NOTE_ON and len(data) > 2 and data[2] == 0:
            status = NOTE_OFF
        if status == NOTE_OFF:
            if not tr.open.get(key):
                return  # its note-on was never recorded (dropped late): nothing to close
            tr.open[key] -= 1
        elif status == NOTE_ON:
            tr.open[key] = tr.open.get(key, 0) + 1
        tick = max(self.tick(t), tr.last_tick)
        tr.data += varlen(tick - tr.last_tick) + data
        tr.last_tick = tick

    def add_note(self, track: str, t: float, on: bool, channel: int, pitch: int, velocity: int) -> None:
        status = (NOTE_ON if on and velocity > 0 else NOTE_OFF) | (channel & 0x0F)
        self.add(track, t, bytes([status, pitch & 0x7F, (velocity if on else 0) & 0x7F]))

    def to_bytes(self, until: float | None = None) -> bytes:
        """The whole file as it stands, with still-sounding notes closed at its end."""
        with self._lock:
            end = max(tr.last_tick for tr in self.tracks.values())
            if until is not None and self.origin is not None:
                end = max(end, self.tick(until))
            chunks = []
            for i, tr in enumerate(self.tracks.values()):
                body = bytearray(b"\x00" + tr.head)
                if i == 0:
                    body += b"\x00" + meta(0x51, struct.pack(">I", int(round(60e6 / self.tempo)))[1:])
                    body += b"\x00" + meta(0x58, bytes([4, 2, 24, 8]))
                body += tr.data
                tick = tr.last_tick
                for (ch, pitch), n in tr.open.items():
                    for _ in range(n):
                        body += varlen(end - tick) + bytes([NOTE_OFF | ch, pitch, 0])
                        tick = end
                body += varlen(end - tick) + meta(0x2F, b"")
                chunks.append(b"MTrk" + struct.pack(">I", len(body)) + bytes(body))
            header = b"MThd" + struct.pack(">IHHH", 6, 1, len(chunks), self.tpb)
            return header + b"".join(chunks)

    def write(self, until: float | None = None) -> None:
        """Atomically replace the file with the take so far."""
        data = self.to_bytes(until)
        tmp = self.path.with_name(f".{self.path.name}.tmp{os.getpid()}")
        try:
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, self.path)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        self.writes += 1
