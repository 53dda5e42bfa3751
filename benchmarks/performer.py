"""A simulated performer for benchmarks.follow (pure: numbers in, numbers out).

A performance is a melody's note positions (sixteenth steps, bar 1's downbeat at 0) played on a
tempo curve: the performer's own beat grid is the time of each quarter note (each beat's length
``60 / tempo``, times one plus its beat-to-beat variation), a sixteenth between two beats lies
linearly between them, and each onset is the grid's time at its position plus the onset jitter.

Tempo curves (``CURVES``), each a tempo for every quarter note of the piece:

- ``steady``: one tempo throughout.
- ``drift``: +8 % over the first 32 bars, then back down by the same over the next 32.
- ``ritardando``: phrases of PHRASE bars; the last two bars of each slow down by 15 % (linearly),
  and the next phrase starts a tempo.
- ``human``: a tempo wandering slowly (a smoothed random walk within ±7 %), each beat's length
  varying about it independently, so that one beat's length differs from the next's by 3-5 % on
  average (the seed picks how much), and ± 15 ms jitter on every onset.
- ``pause``: steady; the performer is silent for two bars in the middle and comes back on the grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

CURVES = ("steady", "drift", "ritardando", "human", "pause")
PHRASE = 8  # bars in a phrase of the ritardando curve
HUMAN_JITTER = 0.015  # seconds: ± onset jitter of the human curve (uniform)


@dataclass
class Performance:
    beats: np.ndarray  # time of each quarter note of the grid (seconds from bar 1's downbeat), one past the end
    onsets: np.ndarray  # seconds from bar 1's downbeat, one per note
    positions: np.ndarray  # each note's position in steps
    pitches: np.ndarray
    lengths: np.ndarray  # steps each note is held
    steps: int  # a bar's steps

    def grid(self, pos) -> np.ndarray:
        """The performer's time of position(s) ``pos`` (steps): linear between their beats."""
        q = np.asarray(pos, float) / 4.0
        k = np.clip(np.floor(q).astype(int), 0, len(self.beats) - 2)
        return self.beats[k] + (q - k) * (self.beats[k + 1] - self.beats[k])

    def tempo_of_bar(self, bar: int) -> float:
        """The performer's tempo over bar ``bar`` (0-based): its quarters over its length."""
        q = self.steps // 4
        return 60.0 * q / (self.beats[(bar + 1) * q] - self.beats[bar * q])


def tempo_curve(kind: str, bars: int, tempo: float, steps: int = 16, seed: int = 0) -> tuple[np.ndarray, float]:
    """(the tempo of each quarter note, the onset jitter in seconds) for curve ``kind``."""
    q = steps // 4
    n = bars * q
    beat = np.arange(n) / q  # in bars
    jitter = 0.0
    if kind in ("steady", "pause"):
        curve = np.full(n, tempo)
    elif kind == "drift":
        half = bars / 2
        curve = tempo * np.where(beat < half, 1 + 0.08 * beat / half, 1.08 - 0.08 * (beat - half) / half)
    elif kind == "ritardando":
        inside = np.mod(beat, PHRASE)
        slow = np.clip((inside - (PHRASE - 2)) / 2, 0, 1)  # 0 → 1 over the phrase's last two bars
        curve = tempo * (1 - 0.15 * slow)
    elif kind == "human":
        rng = np.random.default_rng(seed)
        walk = np.cumsum(rng.normal(0, 0.01, n))
        walk = np.convolve(walk, np.ones(8) / 8, mode="same")
        walk = 0.07 * walk / max(1e-9, np.abs(walk).max())
        change = rng.uniform(0.03, 0.05)  # the mean change from one beat's length to the next's
        spread = change / (np.sqrt(2) * np.sqrt(2 / np.pi))  # ... of beats that vary independently by this (sd)
        curve = tempo * (1 + walk) / (1 + rng.normal(0, spread, n))
        jitter = HUMAN_JITTER
    else:
        raise ValueError(f"no tempo curve {kind!r}: choose {', '.join(CURVES)}")
    return curve, jitter


def melody(bars: int, steps: int = 16, source: str | Path | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(positions, pitches, lengths) of a melody ``bars`` long: the shipped example take's notes, or
    ``source``'s (a .mid), repeated from its first bar line as often as it takes."""
    import mido

    path = Path(source) if source else Path(__file__).resolve().parents[1] / "srlive" / "data" / "example_take.mid"
    mid = mido.MidiFile(path)
    per_step = mid.ticks_per_beat / 4
    notes, held, tick = [], {}, 0
    for msg in mido.merge_tracks(mid.tracks):
        tick += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            held[msg.note] = tick
        elif msg.type in ("note_on", "note_off") and msg.note in held:
            start = held.pop(msg.note)
            notes.append((round(start / per_step), msg.note, max(1, round((tick - start) / per_step))))
    notes.sort()
    first = notes[0][0] // steps * steps
    span = -(-max(p + n for p, _, n in notes) // steps) * steps - first
    pos, pit, length = [], [], []
    k = 0
    while True:
        for p, pitch, n in notes:
            at = p - first + k * span
            if at >= bars * steps:
                return np.array(pos), np.array(pit), np.array(length)
            pos.append(at)
            pit.append(pitch)
            length.append(min(n, bars * steps - at))
        k += 1


def perform(kind: str, bars: int = 32, tempo: float = 120.0, steps: int = 16, seed: int = 0,
            source: str | Path | None = None) -> Performance:
    """The melody played on curve ``kind`` (module docstring)."""
    curve, jitter = tempo_curve(kind, bars, tempo, steps, seed)
    beats = np.concatenate([[0.0], np.cumsum(60.0 / curve)])
    pos, pitch, length = melody(bars, steps, source)
    if kind == "pause":  # silent for two bars in the middle
        mid = (bars // 2) * steps
        keep = (pos < mid) | (pos >= mid + 2 * steps)
        pos, pitch, length = pos[keep], pitch[keep], length[keep]
        length = np.where(pos < mid, np.minimum(length, mid - pos), length)
    perf = Performance(beats, np.zeros(len(pos)), pos, pitch, length, steps)
    onsets = perf.grid(pos)
    if jitter:
        rng = np.random.default_rng(seed + 1000)
        onsets = onsets + rng.uniform(-jitter, jitter, len(onsets))
        onsets[0] = 0.0  # bar 1 is the first note
        onsets = np.maximum.accumulate(onsets)
    perf.onsets = onsets
    return perf
