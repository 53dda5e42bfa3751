"""Make srlive/data/example_take.mid: 8 bars of a German folk song from music21's Essen corpus.

The shipped demo take (`srlive --demo`). A developer script: it needs music21 (the `train`
extra); the performer's install only reads the .mid it wrote. Run from the repo root:

    python -m srlive.data.make_example_take

The first Essen tune in 4/4 that starts on a downbeat, has at least 8 bars and 32 notes in them
(a lively one) is taken; its first 8 bars are written at 110 BPM on channel 1 as a one-track MIDI file (track `performer`), notes
held for 90 % of their written length, downbeats a little louder (96) than the rest (80).
"""

from __future__ import annotations

from pathlib import Path

from srlive.takes import midifile

BARS = 8
TEMPO = 110
TPB = midifile.TICKS_PER_BEAT
OUT = Path(__file__).with_name("example_take.mid")
SOURCES = ("essenFolksong/ballad50",)  # first fit: "Tochter als Faehnrich"
MIN_NOTES = 32


def pick_tune():
    from music21 import corpus, meter

    for source in SOURCES:
        opus = corpus.parse(source)
        for score in getattr(opus, "scores", [opus]):
            score = score.stripTies()  # a tied note is one note, not two strikes
            part = score.parts[0] if score.parts else score
            measures = list(part.getElementsByClass("Measure"))
            ts = part.recurse().getElementsByClass(meter.TimeSignature).first()
            if ts is None or ts.ratioString != "4/4" or len(measures) < BARS + 1:
                continue
            if any(m.duration.quarterLength != 4.0 for m in measures[:BARS]):
                continue  # a pickup bar (not a downbeat start) or a mis-barred transcription
            if sum(len(list(m.recurse().notes)) for m in measures[:BARS]) < MIN_NOTES:
                continue
            title = score.metadata.title if score.metadata else source
            return title, source, measures[:BARS]
    raise SystemExit("no suitable 4/4 tune found")


def main() -> int:
    title, source, measures = pick_tune()
    notes = []  # (pitch, start tick, end tick, velocity)
    for i, m in enumerate(measures):
        for n in m.recurse().notes:
            if n.duration.quarterLength <= 0:
                continue
            offset = i * 4.0 + float(n.getOffsetInHierarchy(m))
            start = int(round(offset * TPB))
            length = max(1, int(round(float(n.duration.quarterLength) * TPB * 0.9)))
            length = min(length, BARS * 4 * TPB - start)  # a note tied past bar 8 ends there
            vel = 96 if float(n.getOffsetInHierarchy(m)) % 4 == 0 else 80
            notes += [(p.midi, start, start + length, vel) for p in n.pitches]
    track = midifile.Track("performer", midifile.note_track(notes))
    midifile.write(OUT, [track], TEMPO, end_tick=BARS * 4 * TPB, ticks_per_beat=TPB,
                   text=f"{title} ({source}, music21 corpus)")
    print(f"wrote {OUT}: {title!r} from {source}, {BARS} bars at {TEMPO} BPM, {len(notes)} notes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
