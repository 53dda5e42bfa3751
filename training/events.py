"""A bar as a melody of step events, and back (pure numpy).

The step decoder (srlive_training.phrase_model) writes its bar one sixteenth step at a time, one
event a step (MusicVAE's melody encoding):

- ``0 .. 87``: a new note starts at that pitch row (MIDI note 21 + row), ending the one before;
- ``HOLD`` (88): the note sounding at the step before goes on;
- ``REST`` (89): nothing sounds.

A bar of the corpus becomes events through its melody (`melody_of`): at each step the sounding
cell with the highest velocity, the highest pitch among equals (the tune over its chord symbols,
the top voice of a chorale). A new note starts where the melody's pitch changes or follows a rest;
a roll cannot tell a note repeated without a gap from one held note, so neither can its events.
A roll that is a melody (one pitch or none at each step, as every roll srlive writes from events)
survives ``events -> roll -> events`` exactly, and ``roll -> events -> roll`` up to its velocities.
"""

from __future__ import annotations

import numpy as np

from srlive.contract import N_PITCHES

HOLD = N_PITCHES
REST = N_PITCHES + 1
N_EVENTS = N_PITCHES + 2
#: the event before a bar's first step (the decoder's "previous event" there)
START = N_EVENTS


def melody_of(rolls: np.ndarray) -> np.ndarray:
    """The melody's pitch row at each step of each bar, -1 where nothing sounds: rolls [..., 88, S]
    (velocities in [0, 1] or 0..127) -> int64 [..., S]."""
    rolls = np.asarray(rolls)
    vel = np.rint(rolls * 127.0) if rolls.dtype.kind == "f" else rolls.astype(np.int64)
    rows = np.arange(N_PITCHES).reshape((N_PITCHES, 1))
    key = np.where(vel > 0, vel.astype(np.int64) * 128 + rows, -1)
    top = key.argmax(axis=-2)
    return np.where(key.max(axis=-2) >= 0, top, -1).astype(np.int64)


def events_of_melody(melody: np.ndarray) -> np.ndarray:
    """Melody rows [..., S] (-1: nothing) -> events [..., S]."""
    melody = np.asarray(melody, np.int64)
    before = np.concatenate([np.full(melody.shape[:-1] + (1,), -1), melody[..., :-1]], axis=-1)
    held = (melody >= 0) & (melody == before)
    return np.where(melody < 0, REST, np.where(held, HOLD, melody)).astype(np.int64)


def events_of(rolls: np.ndarray) -> np.ndarray:
    """Bars [..., 88, S] -> their melody's events [..., S]."""
    return events_of_melody(melody_of(rolls))


def melody_of_events(events: np.ndarray) -> np.ndarray:
    """Events [..., S] -> the pitch row sounding at each step (-1: nothing). A HOLD after a rest
    (or at a bar's first step) holds nothing: it is a rest."""
    events = np.asarray(events, np.int64)
    out = np.full(events.shape, -1, np.int64)
    cur = np.full(events.shape[:-1], -1, np.int64)
    for s in range(events.shape[-1]):
        e = events[..., s]
        cur = np.where(e < N_PITCHES, e, np.where(e == HOLD, cur, -1))
        out[..., s] = cur
    return out


def roll_of_events(events: np.ndarray, value: float = 1.0) -> np.ndarray:
    """Events [..., S] -> float32 rolls [..., 88, S] holding `value` where the melody sounds."""
    melody = melody_of_events(events)
    rows = np.arange(N_PITCHES).reshape((N_PITCHES, 1))
    return np.where(melody[..., None, :] == rows, np.float32(value), np.float32(0)).astype(np.float32)


def is_melody(rolls: np.ndarray) -> np.ndarray:
    """Whether each bar [..., 88, S] has one sounding pitch or none at every step."""
    return ((np.asarray(rolls) > 0).sum(axis=-2) <= 1).all(axis=-1)


def last_pitch_before(events: np.ndarray) -> np.ndarray:
    """For each step, the pitch row of the latest new note before it in the bar (-1: none yet):
    events [..., S] -> [..., S] (what the decoder's interval term measures from)."""
    events = np.asarray(events, np.int64)
    out = np.full(events.shape, -1, np.int64)
    last = np.full(events.shape[:-1], -1, np.int64)
    for s in range(events.shape[-1]):
        out[..., s] = last
        e = events[..., s]
        last = np.where(e < N_PITCHES, e, last)
    return out
