"""--record FILE.mid: the take, a standard MIDI file in the bar clock's musical time.

The file (type 1, 480 ticks a quarter note) has a conductor track ``srlive take`` (the meter's
time signature: 4/4, 3/4 or 6/8; the tempo map and markers), then ``performer`` (what the performer played, exactly as
timed, not quantised; on several channels one track a channel, ``performer ch N``), ``srlive`` (what
srlive played, on its grid) and ``metronome`` (the clicks, when there are any).

Ticks come from the bar clock (srlive.clocks.timeline), not from seconds at a fixed tempo: tick 0 is bar
1's downbeat (with --sync the DAW's bar 1, with --link the first bar srlive heard; with a count-in
the take starts at the count-in's first bar and a marker says where bar 1 is). The tempo map has a
``set_tempo`` at tick 0 and at each bar whose tempo differs from the last written by more than
TEMPO_TOLERANCE, so a DAW that imports the take puts every note at its beat and its second. Markers
say what a producer looks for: count-in end, mode changes, mute, panic, skipped bars, clock
start/stop/continue.

Messages that come before the clock has a time base wait and are then placed by it (a note-on from
before the take's first bar is left out). While the clock is stopped, note-ons are left out (the
capture lets them go too) and note-offs land where it stopped; when it starts again at an earlier
place (the DAW rewound), the take goes on at the next bar line after what it holds, and the marker
says which of the clock's bars that is.

The file is written after every bar, so a crash — even SIGKILL — loses at most the bar in progress;
each write closes the notes still sounding at its end. Each message is encoded once, as it comes
(srlive.takes.midifile.Track), and a write puts only what is new in place
(srlive.takes.midifile.GrowingFile), so a bar costs the same however long the take. A flood is kept
out (BAR_NOTES): past it a bar's note-ons are left out and a marker says how many; a channel with no
track opens one only from a bar that was no flood. A session's
first write never replaces an existing file: if one appeared since the name was chosen
(srlive.takes.takepath), the take moves to the next free name and says so.
"""

from __future__ import annotations

import bisect
import math
import os
import threading
from collections import deque
from pathlib import Path
from typing import Callable

import mido

from srlive.clocks.timeline import ClockTimeline, FixedTempo
from srlive.contract import DEFAULT_METER, DEFAULT_TEMPO, METERS, Meter
from srlive.errors import UserError
from srlive.takes import midifile
from srlive.takes.takepath import next_free

TAKE_TRACK = "srlive take"  # the conductor track: tempo map, time signature, markers
TRACK_OF_SOURCE = {"performer": "performer", "srlive": "srlive", "panic": "srlive", "metronome": "metronome"}
#: the performer's note-ons a take keeps in one bar: more than ten fingers play in a bar; a flood (a
#: broken controller) beyond it is left out, and a marker at the bar's downbeat says how much
BAR_NOTES = 256
TEMPO_TOLERANCE = 0.001  # a bar's tempo is written when it differs from the last written by more
MAX_PENDING = 4096  # messages kept while the clock has no time base (the newest: a flood can't grow it)
EARLY_ONSET = 0.25  # beats: a note-on at most this early for the take's first bar is put at its start
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
        self.closed_early: dict[tuple[int, int], int] = {}  # note-offs already written at a re-trigger


class _Conductor:
    """The tempo map and markers: (tick, message) in tick order, encoded as they come when in order."""

    def __init__(self):
        self.events: list[tuple[int, int, mido.MetaMessage]] = []  # (tick, sequence, message)
        self.track = midifile.Track(TAKE_TRACK)
        self.encoded = 0  # events[:encoded] are in track

    def add(self, tick: int, msg: mido.MetaMessage) -> None:
        item = (tick, len(self.events), msg)
        if self.events and tick < self.events[-1][0]:
            bisect.insort(self.events, item, key=lambda e: e[0])
            self.track, self.encoded = midifile.Track(TAKE_TRACK), 0  # re-encoded on the next snapshot
        else:
            self.events.append(item)

    def parts(self, tempo: float) -> tuple[list[mido.MetaMessage], midifile.Track]:
        """(what goes before the events: a tempo at tick 0 while the map has none there yet, the
        events encoded so far)."""
        for tick, _, msg in self.events[self.encoded:]:
            self.track.add(msg.copy(time=tick - self.track.ticks))
        self.encoded = len(self.events)
        if any(tick == 0 and msg.type == "set_tempo" for tick, _, msg in self.events[:8]):
            return [], self.track
        return [mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo))], self.track

    @property
    def last_tick(self) -> int:
        return self.events[-1][0] if self.events else 0


class Recorder:
    def __init__(self, path, tempo: float = DEFAULT_TEMPO, ticks_per_beat: int = midifile.TICKS_PER_BEAT,
                 origin: float | None = None, check: bool = True, *, overwrite: bool = False,
                 log: Callable[[str], None] | None = None, meter: Meter = METERS[DEFAULT_METER]):
        self.path = check_writable(path) if check else Path(path)
        self.tpb = int(ticks_per_beat)
        self.meter = meter  # the take's bars: its time signature, quarter notes (beats of the file) a bar
        self.bar_beats = meter.quarters
        self.bar_ticks = int(round(meter.quarters * self.tpb))
        self.timeline: ClockTimeline = FixedTempo(tempo, origin, meter)
        self.overwrite = overwrite  # may the first write replace a file that is there?
        self.log = log or (lambda msg: None)
        self.shift = 0.0  # beats added to the clock's: the take's tick 0 is its first bar
        self.tracks: dict[tuple[str, int], _Track] = {}  # (track, channel for the performer's) → track
        self.conductor = _Conductor()
        self._pending: deque[tuple] = deque(maxlen=MAX_PENDING)  # what came before the clock had a time base
        self._gen: int | None = None  # the clock generation placed last (None: nothing placed yet)
        self._frozen: int | None = None  # the tick where the clock stopped, while it is stopped
        self._tempo_bar = 0  # the next take bar whose tempo is to be written
        self._tempo: float | None = None  # the tempo last written
        self._written = False
        self._lock = threading.Lock()
        self.file = midifile.GrowingFile(self.path, self.tpb, meter.time_signature)
        self._empty = {name: _Track(name) for name in ("performer", "srlive")}  # tracks shown before any note
        self._pbar = -1  # the take bar the performer's notes are counted in
        self._pnotes = 0  # the performer's note-ons in it
        self._held: list[tuple[int, bytes, bool]] = []  # its messages on channels without a track yet
        self._left_out = 0  # note-ons of it left out of the take

    # --- the clock ----------------------------------------------------------------------------
    def follow(self, clock) -> None:
        """Place everything by this bar clock (the engine's) from now on."""
        with self._lock:
            self.timeline = ClockTimeline(clock, self.meter)

    def set_origin(self, origin: float) -> None:
        """Bar 1's downbeat on a recorder of its own (fixed tempo); with a clock followed, just
        places what was waiting for it."""
        with self._lock:
            if isinstance(self.timeline, FixedTempo):
                self.timeline.start(origin)
            self._flush()

    def start_at_bar(self, bar: int) -> None:
        """Start the take at the clock's bar ``bar`` (a count-in's first, before bar 1 = 0)."""
        with self._lock:
            self.shift = -self.bar_beats * min(int(bar), 0)

    def clock_started(self, t: float) -> None:
        """The clock has (again) a time base at time t: place what waited, say where it starts."""
        with self._lock:
            if self.timeline.ready:
                self._restart(t)
                self._flush()

    def clock_stopped(self, t: float) -> None:
        """The clock stopped at time t: what comes until it starts again lands there."""
        with self._lock:
            if self._gen is None:
                return  # nothing placed yet: what comes waits for the clock
            try:
                self._frozen = self._tick(self.timeline.beat_at(t))  # the clock's last line, still there
            except RuntimeError:
                return
            self.conductor.add(self._frozen, mido.MetaMessage("marker", text="clock stop"))

    def _can_place(self) -> bool:
        try:
            return self.timeline.ready
        except RuntimeError:
            return False

    def _restart(self, t: float) -> None:
        first = self._gen is None
        self._gen = self.timeline.generation
        self.timeline.forget()
        beat = self.timeline.beat_at(t)
        bar = max(math.floor(beat / self.bar_beats + 1e-9), 0)  # Link: "now" may be just before bar 1
        held = max([self._frozen or 0] + [tr.last_tick for tr in self.tracks.values()])
        if not first and self._tick(bar * self.bar_beats) < held:  # started again further back
            self.shift = math.ceil(held / self.bar_ticks) * self.bar_beats - bar * self.bar_beats
        self._frozen = None
        if self.timeline.clock.external:  # a clock that starts and stops
            text = f"clock {'start' if first else 'continue'} (bar {bar + 1})"
            self.conductor.add(self._tick(bar * self.bar_beats), mido.MetaMessage("marker", text=text))

    def _tick(self, beat: float) -> int:
        return max(0, int(round((beat + self.shift) * self.tpb)))

    def _place(self, t: float, event=None) -> tuple[int, bool] | None:
        """(tick, whether the clock is stopped) of time t or a scheduled event; None: not yet known."""
        tl = self.timeline
        if self._can_place() and tl.running:
            if self._gen != tl.generation or self._frozen is not None:
                self._restart(t)
            beat = tl.event_beat(event) if event is not None else tl.beat_at(t)
            return int(round((beat + self.shift) * self.tpb)), False
        if self._frozen is not None:
            return self._frozen, True
        return None

    def _flush(self) -> None:
        if self._pending and self._can_place():
            pending, self._pending = self._pending, deque(maxlen=MAX_PENDING)
            for item in pending:
                self._put(*item)

    # --- what is recorded ---------------------------------------------------------------------
    def add(self, source: str, t: float, data, event=None) -> None:
        """Record one channel message (raw bytes) from ``source`` (performer, srlive, panic,
        metronome) at time t; ``event``: the scheduled event it belongs to (its place on the grid)."""
        data = bytes(data)
        if not data or not 0x80 <= data[0] < 0xF0:
            return  # channel messages only
        with self._lock:
            self._flush()
            self._put("message", source, t, data, event)

    def marker(self, text: str, t: float | None = None, bar: int | None = None) -> None:
        """A marker at the clock's bar ``bar`` (its downbeat), or at time t, or (neither) at the end
        of what is recorded."""
        with self._lock:
            self._flush()
            if bar is not None or t is None:
                tick = self._tick(bar * self.bar_beats) if bar is not None else self._end()
                self.conductor.add(tick, mido.MetaMessage("marker", text=text))
            else:
                self._put("marker", text, t, b"", None)

    def _put(self, kind: str, what: str, t: float | None, data: bytes, event) -> None:
        place = self._place(t, event) if t is not None else None
        if place is None:
            self._pending.append((kind, what, t, data, event))
            return
        tick, stopped = place
        if kind == "marker":
            self.conductor.add(max(tick, 0), mido.MetaMessage("marker", text=what))
        else:
            self._append(TRACK_OF_SOURCE.get(what, what), tick, data, stopped)

    def _append(self, name: str, tick: int, data: bytes, stopped: bool) -> None:
        try:
            msg = mido.Message.from_bytes(data)
        except ValueError:
            return  # a malformed message (wrong length, data byte over 127): not MIDI a file can hold
        status = data[0] & 0xF0
        key = (data[0] & 0x0F, data[1] if len(data) > 1 else 0)
        if status == NOTE_ON and data[2] == 0:
            status = NOTE_OFF
        if status == NOTE_ON and (stopped or tick < -EARLY_ONSET * self.tpb):
            return  # played while the clock stood, or before the take began
        channel = key[0] if name == "performer" else 0
        if name == "performer" and not self._performer_keeps(tick, data, stopped, status == NOTE_ON):
            return
        self._append_to(name, channel, key, tick, msg, status)

    def _performer_keeps(self, tick: int, data: bytes, stopped: bool, note_on: bool) -> bool:
        """Whether a performer's message goes into its track now (BAR_NOTES): a note-on past the bar's
        budget is left out; a message on a channel with no track yet waits for its bar to end, and
        opens the track only if the bar was no flood, so a flood opens no track a channel."""
        bar = tick // self.bar_ticks
        if bar > self._pbar:
            self._end_performer_bar()
            self._pbar = bar
        elif bar < self._pbar:  # a straggler stamped into a bar already closed: only into a track there is
            return ("performer", data[0] & 0x0F) in self.tracks
        if note_on:
            self._pnotes += 1
        if ("performer", data[0] & 0x0F) not in self.tracks:
            self._held.append((tick, data, stopped))
            return False
        if note_on and self._pnotes > BAR_NOTES:
            self._left_out += 1
            return False
        return True

    def _end_performer_bar(self) -> None:
        """The performer's bar is over: what waited on channels without a track goes in when the bar
        was no flood; in a flood only the busiest channel's, and only when the take has no performer
        track yet. Left-out notes are said by a marker at the bar's downbeat."""
        held, self._held = self._held, []
        flooded = self._pnotes > BAR_NOTES
        keep: set[int] | None = None  # channels whose held messages go in (None: all)
        if flooded:
            ons = [d[0] & 0x0F for _, d, _ in held if d[0] & 0xF0 == NOTE_ON and len(d) > 2 and d[2]]
            keep = set()
            if ons and not any(name == "performer" for name, _ in self.tracks):
                keep = {max(set(ons), key=ons.count)}
        room = BAR_NOTES
        for tick, data, stopped in held:
            on = data[0] & 0xF0 == NOTE_ON and len(data) > 2 and data[2] > 0
            if keep is not None and (data[0] & 0x0F not in keep or (on and room <= 0)):
                self._left_out += on
                continue
            room -= on
            self._append_message("performer", tick, data, stopped)
        if self._left_out and self._pbar >= 0:
            self.conductor.add(self._pbar * self.bar_ticks, mido.MetaMessage(
                "marker", text=f"input flood: {self._left_out} notes left out of this bar"))
        self._pnotes = self._left_out = 0

    def _append_message(self, name: str, tick: int, data: bytes, stopped: bool) -> None:
        """A message kept for a track (after _performer_keeps), into it."""
        msg = mido.Message.from_bytes(data)
        status = data[0] & 0xF0
        if status == NOTE_ON and data[2] == 0:
            status = NOTE_OFF
        key = (data[0] & 0x0F, data[1] if len(data) > 1 else 0)
        self._append_to(name, key[0] if name == "performer" else 0, key, tick, msg, status)

    def _append_to(self, name: str, channel: int, key: tuple[int, int], tick: int, msg, status: int) -> None:
        tr = self.tracks.get((name, channel))
        if tr is None:
            tr = self.tracks[(name, channel)] = _Track(name)
        if status == NOTE_OFF:
            if tr.closed_early.get(key):
                tr.closed_early[key] -= 1  # that note was closed when its pitch sounded again
                return
            if not tr.open.get(key):
                return  # its note-on was never recorded (dropped late): nothing to close
            tr.open[key] -= 1
        elif status == NOTE_ON:
            if tr.open.get(key):
                # the pitch sounds again before its note-off: close the sounding note here, so every
                # reader (pretty_midi, mido, a DAW) pairs the notes alike; its own note-off is skipped
                self._write(tr, tick, mido.Message("note_off", channel=msg.channel, note=msg.note, velocity=0))
                tr.open[key] -= 1
                tr.closed_early[key] = tr.closed_early.get(key, 0) + 1
            tr.open[key] = tr.open.get(key, 0) + 1
        self._write(tr, tick, msg)

    @staticmethod
    def _write(tr: _Track, tick: int, msg) -> None:
        tick = max(tick, tr.last_tick, 0)
        msg.time = tick - tr.last_tick
        tr.encoded.add(msg)
        tr.last_tick = tick

    # --- the file -----------------------------------------------------------------------------
    def _tempo_through(self, tick: int) -> None:
        """The tempo of every take bar that ended before the one holding ``tick``, where it changed.

        A bar's tempo is written once the bar is over, when the clock's estimate of both its bar
        lines is made from pulses around them rather than foreseen; the bar still playing keeps
        the tempo before it until the next write (a take that stops inside a bar ends on that)."""
        bar_ticks = self.bar_ticks
        offset = int(round(self.shift / self.bar_beats))  # take bar k is the clock's bar k - offset
        for k in range(self._tempo_bar, tick // bar_ticks):
            tempo = self.timeline.tempo_of_bar(k - offset)
            if self._tempo is None or abs(tempo / self._tempo - 1) > TEMPO_TOLERANCE:
                at = 0 if self._tempo is None else k * bar_ticks
                self.conductor.add(at, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo)))
                self._tempo = tempo
        self._tempo_bar = max(self._tempo_bar, tick // bar_ticks)

    def _end(self) -> int:
        return max([tr.last_tick for tr in self.tracks.values()] + [self.conductor.last_tick])

    def _names(self) -> list[tuple[str, _Track]]:
        performer = sorted(((ch, tr) for (name, ch), tr in self.tracks.items() if name == "performer"),
                           key=lambda item: item[0])
        named = ([("performer", performer[0][1])] if len(performer) == 1 else
                 [(f"performer ch {ch + 1}", tr) for ch, tr in performer]) or [("performer", self._empty["performer"])]
        for name in ("srlive", "metronome"):
            tr = self.tracks.get((name, 0))
            if tr is not None or name == "srlive":
                named.append((name, tr or self._empty[name]))
        return named

    def _parts(self, until: float | None, final: bool = False):
        """(conductor head, conductor track, [(name, track, closing note-offs)], end tick): the take as it
        stands, still-sounding notes closed at the end. The performer's bar still going at ``until``
        keeps its messages on channels without a track until it ends (``final``, or no ``until``: now)."""
        self._flush()
        place = self._place(until) if until is not None else None
        if final or until is None or place is not None and place[0] >= (self._pbar + 1) * self.bar_ticks:
            self._end_performer_bar()
            self._pbar = max(self._pbar, place[0] // self.bar_ticks if place is not None else self._pbar)
        end = self._end()
        if place is not None:
            end = max(end, place[0])
            if not place[1]:
                self._tempo_through(place[0])
        tracks = []
        for name, tr in self._names():
            closing, tick = [], tr.last_tick
            for (ch, pitch), n in tr.open.items():
                for _ in range(n):
                    closing.append(mido.Message("note_off", channel=ch, note=pitch, velocity=0, time=end - tick))
                    tick = end
            tracks.append((name, tr.encoded, closing))
        tempo = self._tempo or self.timeline.clock.tempo
        head, conductor = self.conductor.parts(tempo)
        return head, conductor, tracks, end

    def snapshot(self, until: float | None = None) -> tuple[midifile.Track, list[midifile.Track], int]:
        """The tempo map, each track's messages as they stand (still-sounding notes closed at the
        end), and that end."""
        with self._lock:
            head, conductor, parts, end = self._parts(until)
            tempo_map = midifile.Track(TAKE_TRACK, head)
            tempo_map.body += conductor.body
            tempo_map.ticks = conductor.ticks
            tracks = []
            for name, encoded, closing in parts:
                track = encoded.copy()
                track.name = name
                track.extend(closing)
                tracks.append(track)
            return tempo_map, tracks, end

    def write(self, until: float | None = None, final: bool = False) -> None:
        """Write the take so far: what is new since the last write, in place (srlive.takes.midifile.GrowingFile);
        the first time only where no file is. ``final``: the take ends here (the bar going on too)."""
        with self._lock:
            head, conductor, parts, end = self._parts(until, final)
            tracks = [(TAKE_TRACK, head, conductor, [])] + [(name, [], encoded, closing)
                                                             for name, encoded, closing in parts]
            for _ in range(1000):
                try:
                    self.file.write(tracks, end, replace=self.overwrite or self._written)
                    break
                except FileExistsError:
                    free = next_free(self.path)
                    self.log(f"{self.path} appeared meanwhile; recording to {free}")
                    self.path = self.file.path = free
            self._written = True
