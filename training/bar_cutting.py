"""Cutting one tune into bars: pure functions, no I/O.

Choices, as docs/design.md leaves them to us:

* Two cuts (`CUTS`, chosen by `srlive-prepare --meter`): "4/4" (the default model's bars) and
  "triple" (the triple model's, for 3/4 and 6/8). A 4/4 bar is 4 quarter notes = 16 sixteenth
  steps; a triple bar 3 quarters = 12 steps. What follows says "4 quarters" for the 4/4 cut; the
  triple cut is the same with 3.
* A triple bar keeps tunes whose full measure is 3 quarters (3/4, 6/8) or 1.5 quarters (3/8: two
  measures make one bar). 9/8 (4.5 quarters), 6/4 and 3/2 (6) are dropped: their measures do not
  cut into 3-quarter bars as played; 4/4, 2/4... tunes are dropped from it too.
* Bars are consecutive 4-quarter windows starting at the tune's first full measure: a pickup
  (anacrusis) is skipped — only its notes still sounding at the first bar line show, from step 0.
* Meters: a tune is kept only when its meter has a full measure of 1, 2, 4, 8 or 16 quarters
  (2/4, 4/4, C, 2/2, C|, 4/2, 2/8, 4/8, 2/1, 4/1...), so that 4-quarter windows fall on bar
  lines. Tunes in other meters (3/4, 6/8, 9/8, 3/2, 6/4, 5/4...) and tunes without a meter
  ("M: none", free rhythm) are dropped, counted per reason ("meter 6/8", "no meter"). A tune may
  spend up to 10% of its length under another meter (an odd measure; or the 1/16, 1/8 meters
  music21 invents for a stray short measure in ABC): bars re-anchor after it (next point).
* Windows stay on bar lines across irregular measures: after each window the next starts 4
  quarters later if that point is a measure start (or a 4-quarter point inside a long measure);
  otherwise (e.g. a 3-beat first ending followed by a full second ending) it moves on to the
  next full measure, skipping the less-than-a-bar in between. A short end-of-part measure plus
  the next part's pickup that together make a bar stay one bar, as played.
* Each bar is the 88x16 (triple: 88x12) roll of docs/design.md made by srlive.roll.notes_to_roll: onsets and ends
  quantised to the nearest sixteenth (half rounds up), every note at least one step, pitches
  folded into the keyboard. A note that crosses a bar line is still sounding in the next bar, so
  it appears in both: to the end of the first, and from step 0 of the next.
* Empty bars at the start and the end of a tune are dropped (silence inside a tune is kept);
  tunes with fewer than 2 bars are dropped ("too short"): they give no pair; so are tunes with
  no full measure ("no full measure": e.g. ABC without L: whose default halves every measure).
* Duplicates (`content_key`): tunes whose bars are identical up to transposition.
* Split by tune (`split_of`), deterministic: sha1("<seed>:<tune name>") mod 1000 → < 900 train,
  < 950 validation, else test.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from srlive.contract import METERS
from srlive.roll import N_PITCHES, STEPS, Note, notes_to_roll

STEPS_PER_QUARTER = 4  # a step is a sixteenth in every meter
MAX_ODD_SHARE = 0.1  # of a tune's measured length that may be under another meter
SPLIT_PER_MILLE = (900, 950)  # < 900 train, < 950 val, else test
_EPS = 1e-6


@dataclass(frozen=True)
class BarCut:
    """How tunes are cut into bars: the bar's length and the measure lengths that fit it."""

    name: str  # "4/4" or "triple" (srlive-prepare --meter)
    steps: int  # sixteenths in a bar: the roll's width
    measure_quarters: tuple[float, ...]  # full-measure lengths (in quarters) kept; others dropped

    @property
    def bar_quarters(self) -> float:
        return self.steps / STEPS_PER_QUARTER


CUTS = {
    "4/4": BarCut("4/4", METERS["4/4"].steps, (1.0, 2.0, 4.0, 8.0, 16.0)),
    "triple": BarCut("triple", METERS["3/4"].steps, (1.5, 3.0)),
}
FOUR_FOUR = CUTS["4/4"]
# the 4/4 cut's numbers under their older names
BAR_QUARTERS = FOUR_FOUR.bar_quarters
ALLOWED_BAR_QUARTERS = FOUR_FOUR.measure_quarters


def window_starts(measures: Sequence[tuple[float, float, float]], music_end: float,
                  cut: BarCut = FOUR_FOUR) -> list[float]:
    """Start (in quarters) of each bar of a tune, kept on bar lines (see the module doc).

    measures: (start, actual length, nominal bar length) in order. music_end: end of the last note.
    """
    bar_quarters = cut.bar_quarters
    ms = sorted(m for m in measures if m[1] > _EPS)
    full = [m for m in ms if m[1] >= m[2] - _EPS and _allowed(m[2], cut)]
    if not full:
        return []
    ends = [m[0] + m[1] for m in ms]

    def on_grid(x: float) -> bool:
        for (start, _, _), end in zip(ms, ends):
            if start - _EPS <= x < end - _EPS:
                r = (x - start) % bar_quarters
                return r < _EPS or r > bar_quarters - _EPS
        return True  # past the last measure (or in a gap): nothing to misalign

    out: list[float] = []
    t = full[0][0]
    while t < music_end - _EPS:
        out.append(t)
        nxt = t + bar_quarters
        if not on_grid(nxt):
            later = [m[0] for m in full if m[0] >= nxt - _EPS]
            nxt = later[0] if later else nxt
        t = nxt
    return out


def _allowed(measure_quarters: float, cut: BarCut) -> bool:
    return any(abs(measure_quarters - a) < _EPS for a in cut.measure_quarters)


def meter_problem(ev, cut: BarCut = FOUR_FOUR) -> str | None:
    """Why a tune's meter rules it out, or None (see the module doc).

    Measures under a meter we can't cut into 4-quarter bars may make up at most MAX_ODD_SHARE of
    the tune: music21 gives a stray short measure in an ABC tune a meter of its own (1/16, 3/8...),
    and an odd measure or two in a 4/4 (or 3/4) tune only costs a re-anchoring of the bars.
    """
    if not ev.meters:
        return "no meter"
    ratio_of = {}
    for ratio, length in zip(ev.meters, ev.bar_lengths):
        ratio_of.setdefault(round(length, 6), ratio)
    total = sum(m[1] for m in ev.measures)
    odd: dict[float, float] = {}
    for _, length, nominal in ev.measures:
        if not _allowed(nominal, cut):
            odd[round(nominal, 6)] = odd.get(round(nominal, 6), 0.0) + length
    if not ev.measures:  # nothing measured: judge the declared meters
        odd = {round(l, 6): 1.0 for l in ev.bar_lengths if not _allowed(l, cut)}
        total = 1.0
    if sum(odd.values()) > MAX_ODD_SHARE * total:
        worst = max(odd, key=odd.get)
        return f"meter {ratio_of.get(worst, f'of {worst:g} quarters')}"
    return None


def _step(q: np.ndarray) -> np.ndarray:
    """Quarters → nearest sixteenth step (half rounds up)."""
    return np.floor(np.asarray(q, dtype=np.float64) * STEPS_PER_QUARTER + 0.5).astype(np.int64)


def cut_bars(notes: Sequence[tuple[int, float, float, int]], starts: Sequence[float],
             steps: int = STEPS) -> np.ndarray:
    """uint8 velocity rolls [W, 88, steps] of the windows of `steps` sixteenths starting at
    `starts` (in quarters).

    Each note is quantised once on the tune's sixteenth grid and painted, clipped, into every
    window it sounds in (srlive.roll.notes_to_roll).
    """
    bars = np.zeros((len(starts), N_PITCHES, steps), dtype=np.uint8)
    if not len(notes) or not len(starts):
        return bars
    arr = np.asarray(notes, dtype=np.float64)
    pitch, vel = arr[:, 0].astype(np.int64), arr[:, 3].astype(np.int64)
    on = _step(arr[:, 1])
    off = np.maximum(_step(arr[:, 2]), on + 1)
    for w, s in enumerate(_step(np.asarray(starts))):
        sel = np.nonzero((on < s + steps) & (off > s))[0]
        if len(sel):
            roll = notes_to_roll((Note(int(pitch[i]), int(on[i] - s), int(off[i] - s), int(vel[i])) for i in sel), steps)
            bars[w] = np.rint(roll * 127.0).astype(np.uint8)
    return bars


def tune_bars(ev, cut: BarCut = FOUR_FOUR) -> tuple[np.ndarray | None, str | None]:
    """(bars, None) for a kept tune, or (None, reason) for a dropped one."""
    problem = meter_problem(ev, cut)
    if problem:
        return None, problem
    if not ev.notes:
        return None, "no notes"
    music_end = max(n[2] for n in ev.notes)
    starts = window_starts(ev.measures, music_end, cut)
    if not starts:  # e.g. an ABC tune without L: whose default note length halves every measure
        return None, "no full measure"
    bars = cut_bars(ev.notes, starts, cut.steps)
    filled = np.nonzero(bars.reshape(len(bars), -1).any(axis=1))[0]
    if len(filled) < 2:
        return None, "too short"
    bars = bars[filled[0] : filled[-1] + 1]
    return bars, None


def content_key(bars: np.ndarray) -> str:
    """Hash of a tune's bars up to transposition (for finding duplicates)."""
    rows = np.nonzero(bars.any(axis=(0, 2)))[0]
    core = bars[:, rows[0] : rows[-1] + 1, :] if len(rows) else bars
    h = hashlib.sha1(np.ascontiguousarray(core).tobytes())
    h.update(str(core.shape).encode())
    return h.hexdigest()


def split_of(name: str, seed: int = 0) -> int:
    """0 train, 1 val, 2 test — from the tune's name alone (deterministic, order-free)."""
    v = int.from_bytes(hashlib.sha1(f"{seed}:{name}".encode()).digest()[:8], "big") % 1000
    return 0 if v < SPLIT_PER_MILLE[0] else 1 if v < SPLIT_PER_MILLE[1] else 2
