"""Standard MIDI files, read and written in one place, with mido.

Reading: every channel message of a .mid with its time in seconds (tempo changes honoured, as mido
plays the file) and in ticks, the file's first tempo and time signature, and when it ends.

Writing: named tracks of mido messages, with a tempo and a time signature in the first track,
replaced atomically (a temporary file in the same folder, then os.replace), so a reader never sees
a half-written file. mido encodes every message, its delta time and the file's chunks; a Track
keeps its messages encoded, so a take rewritten after every bar is not encoded again each time.
"""

from __future__ import annotations

import errno
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, NamedTuple, Sequence

import mido
from mido.midifiles.meta import encode_variable_int
from mido.midifiles.midifiles import write_chunk

TICKS_PER_BEAT = 480
DRUM_CHANNEL = 9  # 0-based: General MIDI's channel 10


class UnreadableMidi(ValueError):
    """The file is not a standard MIDI file mido can read; str() says why, in a few words."""


class TimedMessage(NamedTuple):
    time: float  # seconds from the file's start
    tick: int  # ticks from the file's start
    message: mido.Message  # a channel message (note, controller, program, pitch bend, ...)


class MidiNote(NamedTuple):
    """A note-on paired with its note-off, in ticks."""

    channel: int
    pitch: int
    velocity: int
    start: int
    end: int


@dataclass
class MidiContents:
    messages: list[TimedMessage]  # every channel message, in time order
    ticks_per_beat: int
    tempo: float | None  # the first tempo in BPM (None when the file sets none)
    time_signature: tuple[int, int] | None  # the first (numerator, denominator)
    end: float  # seconds of the file's last event (its end of track)

    def notes(self) -> list[MidiNote]:
        """Notes paired as pretty_midi pairs them: a note-off (or note-on of velocity 0) closes every
        sounding note of its channel and pitch that began before it; notes never closed are left out."""
        open_: dict[tuple[int, int], list[tuple[int, int]]] = {}
        notes = []
        for _, tick, msg in self.messages:
            if msg.type not in ("note_on", "note_off"):
                continue
            key = (msg.channel, msg.note)
            if msg.type == "note_on" and msg.velocity > 0:
                open_.setdefault(key, []).append((tick, msg.velocity))
                continue
            sounding = open_.pop(key, [])
            notes += [MidiNote(key[0], key[1], vel, start, tick) for start, vel in sounding if start != tick]
            kept = [(start, vel) for start, vel in sounding if start == tick]
            if kept:
                open_[key] = kept
        return sorted(notes, key=lambda n: (n.start, n.pitch))


def read(path) -> MidiContents:
    """The channel messages, first tempo and time signature of a .mid; UnreadableMidi when it isn't one."""
    try:
        mid = mido.MidiFile(str(path))
        tpb = mid.ticks_per_beat
        tempo_us, tempo, signature = mido.midifiles.midifiles.DEFAULT_TEMPO, None, None
        t, tick, messages = 0.0, 0, []
        for msg in mido.merge_tracks(mid.tracks):  # delta ticks; seconds as mido's playback counts them
            if msg.time > 0:
                t += mido.tick2second(msg.time, tpb, tempo_us)
                tick += msg.time
            if msg.is_meta:
                if msg.type == "set_tempo":
                    tempo_us = msg.tempo
                    tempo = mido.tempo2bpm(msg.tempo) if tempo is None else tempo
                elif msg.type == "time_signature" and signature is None:
                    signature = (msg.numerator, msg.denominator)
            elif not msg.type.startswith("sys") and hasattr(msg, "channel"):
                messages.append(TimedMessage(t, tick, msg))
    except (OSError, EOFError, ValueError, KeyError, IndexError, TypeError) as e:
        raise UnreadableMidi(" ".join(str(e).split())[:100] or type(e).__name__) from None
    return MidiContents(messages, tpb, tempo, signature, t)


class Track:
    """A named track being built: each message (timed by delta ticks) is encoded by mido once, as it
    is added, so writing the file again after every bar copies bytes instead of encoding the take."""

    def __init__(self, name: str, messages: Iterable[mido.Message] = ()):
        self.name = name
        self.body = bytearray()
        self.ticks = 0  # where its last message lies
        self.extend(messages)

    def add(self, msg: mido.Message) -> None:
        self.body += bytes(encode_variable_int(msg.time)) + bytes(msg.bytes())
        self.ticks += msg.time

    def extend(self, messages: Iterable[mido.Message]) -> None:
        for msg in messages:
            self.add(msg)

    def copy(self) -> "Track":
        out = Track(self.name)
        out.body, out.ticks = bytearray(self.body), self.ticks
        return out


def timed(events: Iterable[tuple[int, Sequence[int] | bytes]]) -> list[mido.Message]:
    """Channel messages at absolute ticks (in time order) → mido messages timed by delta ticks."""
    out, last = [], 0
    for tick, data in events:
        tick = max(int(tick), last)
        out.append(mido.Message.from_bytes(list(data), time=tick - last))
        last = tick
    return out


def note_track(notes: Iterable[tuple[int, int, int, int]], channel: int = 0) -> list[mido.Message]:
    """Notes (pitch, start tick, end tick, velocity) → note-ons and note-offs timed by delta ticks;
    where one note ends as another begins, the note-off comes first."""
    events = []
    for pitch, start, end, velocity in notes:
        events.append((start, 1, [0x90 | channel, pitch, velocity]))
        events.append((end, 0, [0x80 | channel, pitch, 0]))
    events.sort(key=lambda e: (e[0], e[1]))
    return timed((tick, data) for tick, _, data in events)


def write(path, tracks: Sequence[Track], tempo: float | None, *, end_tick: int = 0,
          time_signature: tuple[int, int] = (4, 4), ticks_per_beat: int = TICKS_PER_BEAT, text: str | None = None,
          tempo_map: Track | None = None, replace: bool = True) -> None:
    """Write ``tracks`` as a standard MIDI file, replacing ``path`` atomically. The first track
    carries the tempo (BPM), the time signature and ``text``; every track ends at ``end_tick`` or
    at its last message, whichever is later. One track makes a type-0 file, more a type-1 file.

    With ``tempo_map`` (a track of set_tempo and marker events, one at tick 0 at least), that track
    comes first, as the file's conductor track, with the time signature and ``text``, and ``tempo``
    is not used. Without ``replace`` an existing ``path`` is left alone (FileExistsError)."""
    num, den = time_signature
    first = [] if tempo_map is not None else [mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo))]
    first += [mido.MetaMessage("time_signature", numerator=num, denominator=den)]
    first += [mido.MetaMessage("text", text=text)] if text else []
    tracks = [tempo_map, *tracks] if tempo_map is not None else list(tracks)

    def save(tmp: str) -> None:
        with open(tmp, "wb") as f:
            write_chunk(f, b"MThd", struct.pack(">hhh", 0 if len(tracks) == 1 else 1, len(tracks), ticks_per_beat))
            for i, track in enumerate(tracks):
                head = Track(track.name, [mido.MetaMessage("track_name", name=track.name), *(first if i == 0 else ())])
                tail = Track(track.name, [mido.MetaMessage("end_of_track", time=max(end_tick - track.ticks, 0))])
                write_chunk(f, b"MTrk", bytes(head.body + track.body + tail.body))

    replace_atomically(Path(path), save, replace)


def replace_atomically(path: Path, save, replace: bool = True) -> None:
    """``save(temporary path)`` beside ``path``, then os.replace; the temporary file never stays.
    Without ``replace``, an existing ``path`` is kept and FileExistsError raised (a hard link puts
    the file in place only where nothing is; where links can't be made, a check comes first)."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        save(str(tmp))
        if replace:
            os.replace(tmp, path)
        else:
            _place_new(tmp, path)
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _place_new(tmp: Path, path: Path) -> None:
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links
        if os.path.lexists(path):
            raise FileExistsError(errno.EEXIST, "file exists", str(path)) from None
        os.replace(tmp, path)
