"""--record FILE.mid: the take, as a standard MIDI file with tracks `performer` and `srlive`.

The file is rewritten by atomic replace (a temporary file in the same folder, then os.replace)
after every bar, so a crash — even SIGKILL — loses at most the bar in progress, and a reader never
sees a half-written file. Each snapshot closes the notes still sounding at its end, so every
note-on in every snapshot has its note-off (pretty_midi, mido and DAWs read it whole).

Times are seconds on the engine's clock; tick 0 is the session's bar 1 (``origin``), the file's
tempo is the session tempo (480 ticks per quarter). Messages before the origin (a count-in, the
clock follower's first pulses) are put at tick 0. Each message becomes a mido message once, as it
comes, and is encoded once (srlive.midifile.Track), so a snapshot costs one file write, not an
encoding of the whole take.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import mido

from srlive import midifile
from srlive.errors import UserError

TRACKS = ("performer", "srlive")
NOTE_OFF, NOTE_ON = 0x80, 0x90


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
        self.encoded = midifile.Track(name)  # the messages so far, encoded once each
        self.last_tick = 0
        self.open: dict[tuple[int, int], int] = {}  # (channel, pitch) → note-ons not yet closed


class Recorder:
    def __init__(self, path, tempo: float, ticks_per_beat: int = midifile.TICKS_PER_BEAT,
                 origin: float | None = None, check: bool = True):
        self.path = check_writable(path) if check else Path(path)
        self.tempo = float(tempo)
        self.tpb = int(ticks_per_beat)
        self.origin = origin
        self.tracks = {name: _Track(name) for name in TRACKS}
        self._pending: list[tuple[str, float, bytes]] = []
        self._lock = threading.Lock()

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
        try:
            msg = mido.Message.from_bytes(data)
        except ValueError:
            return  # a malformed message (wrong length, data byte over 127): not MIDI a file can hold
        status = data[0] & 0xF0
        key = (data[0] & 0x0F, data[1] if len(data) > 1 else 0)
        if status == NOTE_ON and data[2] == 0:
            status = NOTE_OFF
        if status == NOTE_OFF:
            if not tr.open.get(key):
                return  # its note-on was never recorded (dropped late): nothing to close
            tr.open[key] -= 1
        elif status == NOTE_ON:
            tr.open[key] = tr.open.get(key, 0) + 1
        tick = max(self.tick(t), tr.last_tick)
        msg.time = tick - tr.last_tick
        tr.encoded.add(msg)
        tr.last_tick = tick

    def snapshot(self, until: float | None = None) -> tuple[list[midifile.Track], int]:
        """Each track's messages as they stand, still-sounding notes closed at the end; and that end."""
        with self._lock:
            end = max(tr.last_tick for tr in self.tracks.values())
            if until is not None and self.origin is not None:
                end = max(end, self.tick(until))
            tracks = []
            for tr in self.tracks.values():
                closing, tick = [], tr.last_tick
                for (ch, pitch), n in tr.open.items():
                    for _ in range(n):
                        closing.append(mido.Message("note_off", channel=ch, note=pitch, velocity=0, time=end - tick))
                        tick = end
                track = tr.encoded.copy()
                track.extend(closing)
                tracks.append(track)
            return tracks, end

    def write(self, until: float | None = None) -> None:
        """Atomically replace the file with the take so far."""
        tracks, end = self.snapshot(until)
        midifile.write(self.path, tracks, self.tempo, end_tick=end, ticks_per_beat=self.tpb)
