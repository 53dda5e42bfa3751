"""Chord symbols → an accompaniment voice (pure, no music21 needed).

A chord symbol ("D", "Em", "A7", "Am/c") sounds as a closed block chord in root position: the root
is placed in MIDI 48..59 (C3..B3) and every other chord tone is stacked above it within the
octave (intervals taken mod 12), so a triad spans at most 48..66 and a seventh chord at most 70.
A slash bass that is not a chord tone is simply one more tone above the root: the voicing is the
same for every inversion, as an accompanist reading a lead sheet would play it.

Each symbol sounds from its onset until the next symbol (or a "no chord", or the end of the tune).
Re-striking at every bar start needs nothing here: each bar roll is cut independently, so a chord
that goes on across a bar line appears again from step 0 of the next bar — which is what reading
that bar's roll back gives as a fresh note.
"""

from __future__ import annotations

from typing import Iterable, Sequence

CHORD_ROOT_LOW = 48  # the root of every accompaniment chord is in 48..59


def voice_chord(root_pc: int, pitch_classes: Iterable[int]) -> list[int]:
    """MIDI pitches of the closed root-position block chord on root_pc with the given pitch classes."""
    root = CHORD_ROOT_LOW + int(root_pc) % 12
    intervals = sorted({(int(pc) - int(root_pc)) % 12 for pc in pitch_classes} | {0})
    return [root + iv for iv in intervals]


def chord_track(
    symbols: Sequence[tuple[float, int | None, Sequence[int]]], end: float, velocity: int
) -> list[tuple[int, float, float, int]]:
    """Notes (pitch, start, end, velocity), in quarters, of the accompaniment voice.

    symbols: (onset in quarters, root pitch class or None for "no chord", chord pitch classes),
    in any order. Each chord lasts until the next symbol's onset or `end`.
    """
    ordered = sorted(symbols, key=lambda s: s[0])
    notes: list[tuple[int, float, float, int]] = []
    for i, (onset, root, pcs) in enumerate(ordered):
        stop = ordered[i + 1][0] if i + 1 < len(ordered) else end
        if root is None or stop <= onset:
            continue
        for pitch in voice_chord(root, pcs):
            notes.append((pitch, float(onset), float(stop), int(velocity)))
    return notes
