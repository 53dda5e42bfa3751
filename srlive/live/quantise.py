"""Capture windows → bar rolls (pure: numbers in, numbers out).

docs/design.md, "The bar roll": bar t's capture window is ``[T_t − step/2, T_{t+1} − step/2)``; an
onset goes to the nearest sixteenth step, so a note played just before a bar line belongs to the
next bar's step 0. The window closes half a step before the bar line.

Choices written down here:

- A note-on with velocity 0 is a note-off (running-status keyboards send them).
- A note-off ends the note at its nearest step (at least one step after the onset).
- A note still held when the window closes sounds to the end of the bar in this roll, and from
  step 0 of the next bar too, until its note-off comes. A note-off that rounds to the next bar's
  step 0 (released within half a step of the bar line) ends it at the bar line: no 1-step stub.
- A note held for more than ``max_hold_bars`` bars is taken for a lost note-off and dropped.
- A second note-on of a pitch that is already held starts a second note; one note-off ends both;
  where they overlap, the louder wins (srlive.roll.notes_to_roll).
- Out-of-range pitches are folded by octaves into the 88 keys (srlive.roll.notes_to_roll).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, NamedTuple

import numpy as np

from srlive import roll


class NoteMsg(NamedTuple):
    """One note message from the performer: velocity 0 means note-off."""

    time: float  # seconds, on the same clock as the bar starts
    pitch: int
    velocity: int
    channel: int = 0


@dataclass
class _Open:
    start: int  # step where it sounds from in the bar being captured
    velocity: int
    bars: int = 0  # how many window closes it has survived
    carried: bool = False  # held from an earlier window


def _time(m) -> float:
    return m[0]


@dataclass
class CapturedBar:
    roll: np.ndarray  # [88, steps] float32
    notes: list[roll.Note]
    onsets: int  # note-ons that began inside this window
    mean_velocity: float | None  # mean velocity of those note-ons (None when there were none)

    @property
    def silent(self) -> bool:
        return not self.notes


@dataclass
class Quantiser:
    """Turns each closed capture window into a bar roll of ``steps`` sixteenths (the meter's);
    remembers notes held across windows."""

    max_hold_bars: int = 4
    steps: int = roll.STEPS
    held: dict[tuple[int, int], list[_Open]] = field(default_factory=dict)

    def close_bar(self, messages: Iterable[NoteMsg], bar_start: float, step: float) -> CapturedBar:
        """Quantise the messages of bar t's window (bar t starts at ``bar_start``).

        ``messages`` are the note messages stamped inside the window, in any order; messages outside
        it are ignored (the caller drains exactly the window).
        """
        lo = bar_start - step / 2
        hi = bar_start + (self.steps - 0.5) * step
        last = self.steps - 1
        notes: list[roll.Note] = []
        onset_vels: list[int] = []
        # notes held from earlier windows sound from step 0
        open_ = {key: [_Open(0, o.velocity, o.bars, True) for o in os_] for key, os_ in self.held.items()}
        for t, pitch, velocity, channel in sorted(messages, key=_time):
            if not lo <= t < hi:
                continue
            key = (channel, pitch)
            k = int(math.floor((t - bar_start) / step + 0.5))  # the nearest step, round half up
            k = 0 if k < 0 else (last if k > last else k)
            if velocity > 0:
                open_.setdefault(key, []).append(_Open(k, velocity))
                onset_vels.append(velocity)
                continue
            for o in open_.pop(key, ()):
                if o.carried and k == 0:
                    continue  # released within half a step of the bar line: it ended there
                notes.append(roll.Note(pitch, o.start, max(k, o.start + 1), o.velocity))
        # whatever is still open sounds to the end of this bar and carries into the next
        self.held = {}
        for key, os_ in open_.items():
            for o in os_:
                notes.append(roll.Note(key[1], o.start, self.steps, o.velocity))
            kept = [o for o in os_ if o.bars + 1 <= self.max_hold_bars]
            if kept:
                # all of them sound from step 0 of the next bar: one held note, the loudest, the
                # oldest (a flood of note-ons never turned off can't pile up across bars)
                self.held[key] = [_Open(0, max(o.velocity for o in kept), max(o.bars for o in kept) + 1, True)]
        notes.sort(key=lambda n: (n.start, n.pitch))
        mean_vel = float(np.mean(onset_vels)) if onset_vels else None
        return CapturedBar(roll.notes_to_roll(notes, self.steps), notes, len(onset_vels), mean_vel)

    def reset(self) -> None:
        """Forget held notes (the clock stopped, or the performer's input went away)."""
        self.held = {}


def quantise_bar(messages: Iterable[NoteMsg], bar_start: float, step: float, steps: int = roll.STEPS) -> np.ndarray:
    """One window on its own, with no notes held from before: the roll of bar t."""
    return Quantiser(steps=steps).close_bar(messages, bar_start, step).roll
