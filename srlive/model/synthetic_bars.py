"""Synthetic bars that look like played music: what `srlive --bench` times the model step on, and
the export parity check's inputs when no corpus is given.

Pure numpy over srlive.roll (no torch, no onnxruntime): the same bars for the same seed.
"""

from __future__ import annotations

import numpy as np

from srlive import roll

_MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])


def music_like_bars(n: int, rng: np.random.Generator, steps: int = roll.STEPS) -> np.ndarray:
    """n bars [n, 88, steps] that look like played music: a melody of 8ths/16ths in a major key over
    a held chord or bass, velocities 40..110, painted with roll.notes_to_roll (notes held past a
    bar of 12 steps end with it)."""
    out = np.empty((n, roll.N_PITCHES, steps), np.float32)
    for i in range(n):
        tonic = 48 + int(rng.integers(0, 12))
        scale = tonic + _MAJOR
        notes = []
        # melody: a walk on the scale, an octave up
        step, degree = 0, int(rng.integers(0, 7))
        while step < steps:
            length = int(rng.choice([1, 2, 2, 4]))
            if rng.random() > 0.15:  # some rests
                pitch = int(scale[degree % 7] + 12 * (1 + degree // 7))
                notes.append(roll.Note(pitch, step, step + length, int(rng.integers(40, 111))))
            degree = max(0, min(13, degree + int(rng.integers(-2, 3))))
            step += length
        # harmony: a triad on a scale degree, held for half or whole bar, sometimes a bass note
        root = int(rng.integers(0, 7))
        hold = int(rng.choice([8, 16]))
        for k in (0, 2, 4):
            if rng.random() < 0.8:
                notes.append(roll.Note(int(scale[(root + k) % 7]), 0, hold, int(rng.integers(40, 90))))
        if rng.random() < 0.6:
            notes.append(roll.Note(int(scale[root]) - 12, 0, 16, int(rng.integers(50, 100))))
        out[i] = roll.notes_to_roll(notes, steps)
    return out
