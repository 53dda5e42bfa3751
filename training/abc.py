"""ABC files and music21 scores → timed notes and measures (the input of srlive_training.bar_cutting).

- `split_abc(text)`: an ABC file holds many tunes, each starting at an ``X:`` line. We split the
  file ourselves (instead of parsing it whole into a music21 Opus) so that each tune parses on its
  own: a tune music21 cannot read is counted and skipped without losing its neighbours, and the
  work spreads evenly over the worker processes. File-header fields (L:, M:, Q: before the first
  X:) are copied into each tune.
- `score_events(score, ...)`: any music21 Score (an ABC tune, a Bach chorale from MusicXML/kern)
  → `TuneEvents`: every pitched note of every part in quarters from the start of the score (grace
  notes are dropped: they have no duration of their own), the measures of the first part (start,
  actual length, nominal bar length — a pickup is a measure shorter than its bar), the meters used,
  and the chord symbols realised as an accompaniment voice (srlive_training.chords).

Ties need no treatment: the roll cannot tell a tied note from two notes filling the same steps.
Repeats are not expanded: a tune is used as written (a 1st and 2nd ending follow each other).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from srlive_training.chords import chord_track

_HEADER_FIELDS = re.compile(r"^[LMQ]:")


@dataclass
class TuneEvents:
    """Timed content of one tune. Times in quarter notes from the start of the score."""

    notes: list[tuple[int, float, float, int]] = field(default_factory=list)  # pitch, start, end, velocity
    measures: list[tuple[float, float, float]] = field(default_factory=list)  # start, length, bar length
    meters: list[str] = field(default_factory=list)  # "4/4", "6/8", ...; empty when the tune has none
    bar_lengths: list[float] = field(default_factory=list)  # quarters per full measure, per meter
    n_chords: int = 0  # chord symbols realised
    title: str = ""


def decode_text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def split_abc(text: str) -> list[str]:
    """The tunes of an ABC file, each a complete ABC text starting with its X: line."""
    header: list[str] = []
    tunes: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("X:"):
            tunes.append([line])
        elif tunes:
            tunes[-1].append(line)
        elif _HEADER_FIELDS.match(line):
            header.append(line)
    return ["\n".join([t[0], *header, *t[1:]]).strip() + "\n" for t in tunes]


def parse_abc_tune(text: str):
    """One ABC tune → a music21 Score (raises on what music21 cannot read)."""
    from music21 import converter, stream

    parsed = converter.parseData(text, format="abc")
    if isinstance(parsed, stream.Opus):  # a text holding several X: blocks
        scores = list(parsed.scores)
        if not scores:
            raise ValueError("no tune in ABC text")
        parsed = scores[0]
    return parsed


def _chord_symbol(cs):
    """(root pitch class or None, pitch classes) of a music21 ChordSymbol; None if unreadable."""
    from music21 import harmony

    if isinstance(cs, harmony.NoChord):
        return None, ()
    try:
        pitches = cs.pitches
        root = cs.root()
    except Exception:  # music21 raises various errors on odd figures
        return False
    if not pitches or root is None:
        return False
    return root.pitchClass, tuple(p.pitchClass for p in pitches)


def score_events(score, melody_velocity: int, chord_velocity: int) -> TuneEvents:
    """Notes, measures, meters and realised chord symbols of a music21 Score."""
    from music21 import harmony, meter, note, chord

    ev = TuneEvents()
    md = score.metadata
    ev.title = (md.title or "") if md is not None else ""
    parts = list(score.parts) or [score]
    symbols: list[tuple[float, int | None, tuple[int, ...]]] = []
    music_end = 0.0
    for part in parts:
        for el in part.flatten().notes:
            start = float(el.offset)
            if isinstance(el, harmony.Harmony):
                sym = _chord_symbol(el)
                if sym is not False:
                    symbols.append((start, *sym))
                continue
            if el.duration.isGrace or float(el.quarterLength) <= 0:
                continue
            end = start + float(el.quarterLength)
            if isinstance(el, note.Note):
                pitches = [el.pitch.midi]
            elif isinstance(el, chord.Chord):
                pitches = [p.midi for p in el.pitches]
            else:  # unpitched
                continue
            for p in pitches:
                ev.notes.append((int(p), start, end, int(melody_velocity)))
            music_end = max(music_end, end)
    for m in parts[0].getElementsByClass("Measure"):
        length = float(m.duration.quarterLength)
        if length <= 0:
            continue
        ev.measures.append((float(m.offset), length, float(m.barDuration.quarterLength)))
    for ts in score.recurse().getElementsByClass(meter.TimeSignature):
        if ts.ratioString not in ev.meters:
            ev.meters.append(ts.ratioString)
            ev.bar_lengths.append(float(ts.barDuration.quarterLength))
    if not ev.measures and ev.bar_lengths and music_end > 0:
        # music21 leaves a short one-line tune unmeasured: lay its first meter's bars from 0
        length, t = ev.bar_lengths[0], 0.0
        while t < music_end:
            ev.measures.append((t, length, length))
            t += length
    if symbols:
        chords = chord_track(symbols, music_end, chord_velocity)
        ev.n_chords = sum(1 for s in symbols if s[1] is not None)
        ev.notes.extend(chords)
    return ev
