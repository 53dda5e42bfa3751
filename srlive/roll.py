"""The bar roll: an [88, steps] float32 array, the one picture of a bar every part shares.

Pure: numbers in, numbers out (docs/design.md, "The bar roll"; the numbers are in srlive.contract).

- Row 0 is MIDI note 21 (A0), row 87 is note 108 (C8). Notes outside are folded by octaves.
- Column k is the k-th sixteenth step of the bar: 16 columns in 4/4, 12 in 3/4 and 6/8
  (srlive.contract.METERS). Functions that make a roll take ``steps``; those that read one take
  its width from the array.
- A cell holds velocity/127 for every step in which the note sounds (onset through the last
  sounding step), 0 elsewhere. Where two notes of one pitch overlap, the louder wins.
- Roll -> notes: a cell is on when its value >= threshold; a run of on-cells of one pitch is one
  note whose velocity comes from its first cell; every note ends by the end of its bar.
"""

from __future__ import annotations

from typing import Iterable, NamedTuple

import numpy as np

from srlive.contract import (  # noqa: F401  (the roll's numbers, defined once in the contract)
    BEATS_PER_BAR,
    DEFAULT_THRESHOLD,
    HIGHEST_PITCH,
    LATENT,
    LOWEST_PITCH,
    N_PITCHES,
    STEPS,
    STEPS_PER_BEAT,
)


class Note(NamedTuple):
    """A note inside one bar, in steps: sounds on steps start .. end-1."""

    pitch: int  # MIDI note number
    start: int  # first step, 0..steps-1
    end: int  # one past the last sounding step, start+1..steps
    velocity: int  # 1..127


def fold_pitch(pitch: int) -> int:
    """Fold a MIDI note number into the 88 keys (21..108) by whole octaves."""
    p = int(pitch)
    while p < LOWEST_PITCH:
        p += 12
    while p > HIGHEST_PITCH:
        p -= 12
    return p


def empty_roll(steps: int = STEPS) -> np.ndarray:
    return np.zeros((N_PITCHES, steps), dtype=np.float32)


def notes_to_roll(notes: Iterable[Note | tuple], steps: int = STEPS) -> np.ndarray:
    """Paint notes into a fresh roll of ``steps`` columns. Starts/ends are clipped to the bar;
    pitches are folded.

    A note always sounds for at least its onset step. Overlaps of one pitch keep the louder value.
    """
    roll = empty_roll(steps)
    for n in notes:
        pitch, start, end, velocity = (int(v) for v in n)
        if velocity <= 0:
            continue
        start = min(max(start, 0), steps - 1)
        end = min(max(end, start + 1), steps)
        row = fold_pitch(pitch) - LOWEST_PITCH
        value = np.float32(min(velocity, 127) / 127.0)
        seg = roll[row, start:end]
        np.maximum(seg, value, out=seg)
    return roll


def roll_to_notes(roll: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> list[Note]:
    """Read notes out of a roll (any width): each run of cells >= threshold in one row is one note.

    The velocity is the first cell's value * 127, rounded, kept in 1..127. Sorted by (start, pitch).
    """
    r = roll_of(roll)
    on = r >= threshold
    notes: list[Note] = []
    if not on.any():
        return notes
    padded = np.zeros((N_PITCHES, r.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = on
    diff = np.diff(padded, axis=1)  # +1 at run start, -1 one past run end
    rows_s, starts = np.nonzero(diff == 1)
    rows_e, ends = np.nonzero(diff == -1)
    # nonzero walks row-major, so starts and ends pair up in order
    for row, start, end in zip(rows_s, starts, ends):
        vel = int(round(float(r[row, start]) * 127.0))
        notes.append(Note(int(row) + LOWEST_PITCH, int(start), int(end), min(max(vel, 1), 127)))
    notes.sort(key=lambda n: (n.start, n.pitch))
    return notes


def roll_of(bar) -> np.ndarray:
    """One bar as an [88, steps] float32 array, whatever batch dimensions of 1 it came with
    ([1, 88, steps], [1, 1, 88, steps]); its width is its own."""
    r = np.asarray(bar, dtype=np.float32)
    return r.reshape(N_PITCHES, r.shape[-1])


def transpose_roll(roll: np.ndarray, semitones: int) -> np.ndarray:
    """Shift a roll (…, 88, steps) by semitones; rows pushed off either end fold back by an octave."""
    r = np.asarray(roll)
    k = int(semitones)
    if k == 0:
        return r.copy()
    out = np.zeros_like(r)
    for row in range(N_PITCHES):
        dst = fold_pitch(row + LOWEST_PITCH + k) - LOWEST_PITCH
        np.maximum(out[..., dst, :], r[..., row, :], out=out[..., dst, :])
    return out


def as_heard(rolls: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """Bars as they sound when played: each note (a run of cells >= threshold) at its first cell's
    velocity for its whole length, everything else silent. [..., 88, steps] → float32, same shape.

    The one definition of the bar srlive feeds back to itself: the engine (its own last answer),
    the evaluation's runners and training's own-answer batches all use it, so what is measured is
    what srlive plays. For one bar it equals ``notes_to_roll(roll_to_notes(roll, threshold))``.
    """
    r = np.asarray(rolls, dtype=np.float32)
    on = r >= threshold
    start = on.copy()
    start[..., 1:] &= ~on[..., :-1]
    velocity = np.clip(np.rint(r * np.float32(127.0)), 1, 127)  # the MIDI velocity each cell would give
    value = (velocity / 127.0).astype(np.float32)
    first = np.where(start, np.arange(r.shape[-1]), 0)
    np.maximum.accumulate(first, axis=-1, out=first)  # each cell → the step its run started on
    return np.where(on, np.take_along_axis(value, first, axis=-1), np.float32(0)).astype(np.float32)


def memory_of(bars: np.ndarray, present: np.ndarray | None = None, kind: str = "bars") -> np.ndarray:
    """A performer's recent bars [..., K, 88, W] as one bar [..., 88, W], over those `present`
    ([..., K] bool; all by default), silence where none is. What a model with srlive.memory hears
    beside the bar it answers (docs/design.md), which stays the performer's while srlive answers
    itself. kind "bars": their mean (the pace and the pitches they have been playing); "rhythm": at
    each step, the share of them in which a note starts there, on every row alike (their pace and
    rhythm, none of their pitches, and the same in any key)."""
    b = np.asarray(bars, dtype=np.float32)
    have = np.ones(b.shape[:-2], bool) if present is None else np.asarray(present, bool)
    w = have.astype(np.float32)[..., None, None]
    count = np.maximum(w.sum(axis=-3), np.float32(1))
    if kind == "bars":
        return ((b * w).sum(axis=-3) / count).astype(np.float32)
    if kind != "rhythm":
        raise ValueError(f"memory kind must be 'bars' or 'rhythm', not {kind!r}")
    on = b > 0
    starts = on.copy()
    starts[..., 1:] &= ~on[..., :-1]
    onsets = starts.any(axis=-2, keepdims=True).astype(np.float32)  # [..., K, 1, W]
    share = (onsets * w).sum(axis=-3) / count  # [..., 1, W]
    return np.repeat(share, b.shape[-2], axis=-2).astype(np.float32)
