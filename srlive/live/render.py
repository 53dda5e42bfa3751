"""Bar roll → timed note events (pure: numbers in, numbers out).

Each note of the roll (srlive.roll.roll_to_notes) becomes a note-on at ``T + start·step`` and its
note-off at ``T + end·step``; a note that lasts to the end of the bar stops a hair (``HAIR``)
before the bar line, so it is off before the next bar's note-ons of the same pitch.

Velocity policy, applied after the roll is read:

- ``model``: the velocity the model painted (the run's first cell).
- ``follow``: the performer's mean note-on velocity in the previous bar (the model's own when the
  performer played nothing yet).
- ``N`` (1..127): that fixed velocity.

``--transpose`` shifts the roll (pitches pushed off the keyboard fold back by an octave) before
the notes are read, so two notes folded onto one key merge instead of clashing.
"""

from __future__ import annotations

from typing import NamedTuple, Union

import numpy as np

from srlive import roll
from srlive.contract import DEFAULT_METER, METERS, Meter

HAIR = 0.001  # seconds: a bar-long note stops this much before the next bar line (at most step/8)

Velocity = Union[str, int]  # "model", "follow" or 1..127

# event kinds, in the order they go out when deadlines tie
OFF, SWEEP, CC, ON = 0, 1, 2, 3
KIND_NAMES = {OFF: "note_off", SWEEP: "sweep", CC: "control_change", ON: "note_on"}


class Event(NamedTuple):
    """One thing to send at an absolute deadline (seconds on the engine's clock).

    The two MIDI data bytes: kind OFF/ON: ``data1`` = pitch, ``data2`` = velocity; CC: ``data1`` =
    control number, ``data2`` = value. SWEEP: close every note still open from ``source`` (the
    end-of-bar guard).
    """

    time: float
    kind: int
    channel: int = 0  # 0..15
    data1: int = 0  # pitch, or control number
    data2: int = 0  # velocity, or control value
    source: str = "srlive"
    bar: int = -1
    pos: float = -1.0  # --sync: the MIDI clock pulse it belongs to (the scheduler re-times it), else -1

    def sort_key(self):
        return (self.time, self.kind)


def note_velocity(model_velocity: int, policy: Velocity, follow: float | None) -> int:
    if policy == "model":
        return model_velocity
    if policy == "follow":
        return model_velocity if follow is None else int(min(max(round(follow), 1), 127))
    return int(policy)


def sounding_notes(bar_roll: np.ndarray, *, threshold: float = roll.DEFAULT_THRESHOLD, velocity: Velocity = "model",
                   follow: float | None = None, transpose: int = 0) -> list[roll.Note]:
    """The notes a bar's roll plays: read at ``threshold``, moved by ``transpose``, at the velocity
    the policy gives (what sounds; the view shows it as a roll)."""
    r = roll.transpose_roll(bar_roll, transpose) if transpose else bar_roll
    return [n._replace(velocity=note_velocity(n.velocity, velocity, follow)) for n in roll.roll_to_notes(r, threshold)]


def render_notes(notes: list[roll.Note], bar_start: float, step: float, steps: int, *, channel: int = 0,
                 bar: int = -1) -> list[Event]:
    """The note events of one bar of ``steps`` steps starting at ``bar_start``, sorted by deadline
    (offs first on ties), and the bar's closing sweep."""
    hair = min(HAIR, step / 8)
    bar_end = bar_start + steps * step - hair
    events: list[Event] = []
    for n in notes:
        on = bar_start + n.start * step
        off = min(bar_start + n.end * step, bar_end)
        events.append(Event(on, ON, channel, n.pitch, n.velocity, "srlive", bar))
        events.append(Event(off, OFF, channel, n.pitch, 0, "srlive", bar))
    events.append(Event(bar_end, SWEEP, channel, 0, 0, "srlive", bar))
    events.sort(key=Event.sort_key)
    return events


def render_bar(
    bar_roll: np.ndarray,
    bar_start: float,
    step: float,
    *,
    threshold: float = roll.DEFAULT_THRESHOLD,
    velocity: Velocity = "model",
    follow: float | None = None,
    transpose: int = 0,
    channel: int = 0,
    bar: int = -1,
) -> list[Event]:
    """The note events of one bar starting at ``bar_start`` (sounding_notes, then render_notes);
    the bar is as many steps long as the roll is wide."""
    notes = sounding_notes(bar_roll, threshold=threshold, velocity=velocity, follow=follow, transpose=transpose)
    return render_notes(notes, bar_start, step, np.shape(bar_roll)[-1], channel=channel, bar=bar)


def metronome_bar(bar_start: float, step: float, channel: int = 9, bar: int = -1,
                  meter: Meter = METERS[DEFAULT_METER]) -> list[Event]:
    """A click on each of the meter's beats (GM hi/lo wood block: 76 on the downbeat, 77 on the
    others), half a step long each: four in 4/4, three in 3/4, two dotted quarters in 6/8."""
    events = []
    for k in meter.beat_steps:
        t = bar_start + k * step
        pitch, vel = (76, 110) if k == 0 else (77, 80)
        events.append(Event(t, ON, channel, pitch, vel, "metronome", bar))
        events.append(Event(t + step / 2, OFF, channel, pitch, 0, "metronome", bar))
    return events


def events_to_notes(events: list[Event], bar_start: float, step: float) -> list[roll.Note]:
    """Pair note-ons with note-offs and read them back as steps of the bar (for tests and metrics)."""
    open_: dict[tuple[int, int], tuple[float, int]] = {}
    notes = []
    for e in sorted(events, key=Event.sort_key):
        key = (e.channel, e.data1)
        if e.kind == ON:
            open_[key] = (e.time, e.data2)
        elif e.kind == OFF and key in open_:
            t0, vel = open_.pop(key)
            start = int(round((t0 - bar_start) / step))
            end = int(round((e.time - bar_start) / step))
            notes.append(roll.Note(e.data1, start, max(end, start + 1), vel))
    notes.sort(key=lambda n: (n.start, n.pitch))
    return notes
