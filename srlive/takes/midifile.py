"""Standard MIDI files, read and written in one place, with mido.

Reading: every channel message of a .mid with its time in seconds (tempo changes honoured, as mido
plays the file) and in ticks, the file's first tempo and time signature, and when it ends.

Writing: named tracks of mido messages, with a tempo and a time signature in the first track,
replaced atomically (a temporary file in the same folder, then os.replace), so a reader never sees
a half-written file. mido encodes every message, its delta time and the file's chunks; a Track
keeps its messages encoded, so a take written after every bar is not encoded again each time; a
GrowingFile (below) writes only what is new.
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


# --- a take that grows in place --------------------------------------------------------------------
#: Each track's chunk is written with room to grow, filled by a padding event (a sequencer-specific
#: meta event, which readers skip) before its End of Track. Lengths and the End of Track's delta are
#: written as 4-byte variable-length numbers (a reader decodes 0x80 0x80 0x80 0x05 as 5), so the
#: padding's header and the End of Track keep their sizes whatever they hold.
PAD_HEADER = 7  # delta 0, FF 7F, a 4-byte length
END_OF_TRACK = 7  # a 4-byte delta, FF 2F 00
MIN_ROOM = 4096  # bytes a track's chunk holds at least


def _varlen4(n: int) -> bytes:
    """``n`` as a variable-length number of exactly four bytes."""
    return bytes([0x80 | (n >> 21) & 0x7F, 0x80 | (n >> 14) & 0x7F, 0x80 | (n >> 7) & 0x7F, n & 0x7F])


def _padding(length: int) -> bytes:
    """The header of a padding event whose ``length`` data bytes follow (their contents never matter)."""
    return b"\x00\xff\x7f" + _varlen4(length)


def _end_of_track(delta: int) -> bytes:
    return _varlen4(max(delta, 0)) + b"\xff\x2f\x00"


class _Slot:
    """Where one track lies in the file: its encoded head, where its body starts, how much of the body
    is on disk, and the room its chunk has after the head."""

    def __init__(self, track: Track, head: bytes, start: int, room: int):
        self.track, self.head, self.start, self.room = track, head, start, room
        self.written = len(track.body)


class GrowingFile:
    """A type-1 standard MIDI file written again after every bar for the cost of what is new.

    ``write(tracks, end_tick)`` takes (name, head messages, Track, closing messages) for each track:
    the Track grows by appending (srlive.recorder's tracks do), the closing messages (note-offs for
    notes still sounding) belong to this write only. When the layout is unchanged and every track's
    new bytes fit its room, each track gets one write in place: its new messages, the closing ones and
    a padding header, then its End of Track at the chunk's end; nothing before is touched, so a write
    costs what the bar added, however long the take. Otherwise (the first write, a track added, a
    head changed, a track re-encoded, the room used up) the whole file is written anew, atomically,
    each chunk with room for as much again as it holds (at least MIN_ROOM): the take is rewritten
    whole only a logarithmic number of times. The file is a valid MIDI file after every write."""

    def __init__(self, path, ticks_per_beat: int = TICKS_PER_BEAT, time_signature: tuple[int, int] = (4, 4)):
        self.path = Path(path)
        self.tpb = ticks_per_beat
        self.time_signature = time_signature
        self.slots: list[_Slot] | None = None
        self.rewrites = 0  # whole-file writes so far
        self.appends = 0  # in-place writes so far

    def _heads(self, tracks) -> list[bytes]:
        num, den = self.time_signature
        heads = []
        for i, (name, head, _, _) in enumerate(tracks):
            first = [mido.MetaMessage("track_name", name=name)]
            if i == 0:
                first.append(mido.MetaMessage("time_signature", numerator=num, denominator=den))
            heads.append(bytes(Track(name, [*first, *head]).body))
        return heads

    def write(self, tracks: Sequence[tuple[str, Sequence[mido.MetaMessage], Track, Sequence[mido.Message]]],
              end_tick: int, replace: bool = True) -> None:
        """Write the take so far (see the class); FileExistsError when ``replace`` is False and a file
        is there (the first write only)."""
        heads = self._heads(tracks)
        if not self._fits(tracks, heads):
            self._rewrite(tracks, heads, end_tick, replace)
            return
        try:
            with open(self.path, "r+b") as f:
                for slot, (_, _, track, closing) in zip(self.slots, tracks):
                    self._append(f, slot, track, closing, end_tick)
        except OSError:
            self.slots = None  # start again whole next time
            raise
        self.appends += 1

    def _tail(self, track: Track, closing: Sequence[mido.Message]) -> tuple[bytes, int]:
        """The closing messages encoded, and the tick they end on."""
        tail = Track(track.name)
        tail.ticks = track.ticks
        tail.extend(closing)
        return bytes(tail.body), tail.ticks

    def _fits(self, tracks, heads) -> bool:
        if self.slots is None or len(self.slots) != len(tracks) or not self.path.exists():
            return False
        for slot, head, (_, _, track, closing) in zip(self.slots, heads, tracks):
            if slot.track is not track or slot.head != head or len(track.body) < slot.written:
                return False
            closing_bytes, _ = self._tail(track, closing)
            if len(track.body) + len(closing_bytes) + PAD_HEADER + END_OF_TRACK > slot.room:
                return False
        return True

    def _append(self, f, slot: _Slot, track: Track, closing, end_tick: int) -> None:
        closing_bytes, tick = self._tail(track, closing)
        used = len(track.body) + len(closing_bytes)
        pad = slot.room - used - PAD_HEADER - END_OF_TRACK
        f.seek(slot.start + slot.written)
        f.write(bytes(track.body[slot.written:]) + closing_bytes + _padding(pad))
        f.seek(slot.start + slot.room - END_OF_TRACK)
        f.write(_end_of_track(end_tick - tick))
        slot.written = len(track.body)

    def _rewrite(self, tracks, heads, end_tick: int, replace: bool) -> None:
        slots: list[_Slot] = []

        def save(tmp: str) -> None:
            with open(tmp, "wb") as f:
                write_chunk(f, b"MThd", struct.pack(">hhh", 1, len(tracks), self.tpb))
                for head, (_, _, track, closing) in zip(heads, tracks):
                    closing_bytes, tick = self._tail(track, closing)
                    used = len(track.body) + len(closing_bytes) + PAD_HEADER + END_OF_TRACK
                    room = max(MIN_ROOM, 2 * used)
                    pad = room - used
                    body = (bytes(head) + bytes(track.body) + closing_bytes + _padding(pad) + bytes(pad)
                            + _end_of_track(end_tick - tick))
                    start = f.tell() + 8 + len(head)  # past the chunk's header and the head
                    write_chunk(f, b"MTrk", body)
                    slots.append(_Slot(track, head, start, room))

        replace_atomically(self.path, save, replace)
        self.slots = slots
        self.rewrites += 1
