"""Key lock: keep srlive's answer in a scale, and find the key the performer plays in (pure numpy).

lock_roll — what happens to a note outside the scale. It is *moved*, not dropped, before the
threshold is read: every row of the roll whose pitch is outside the scale hands its values to the
nearest pitch in the scale and is left empty; where two rows land on one pitch, each cell keeps
the larger value (the louder note). Ties (a pitch halfway between two scale tones, like F# in C
major) go to the lower one. Every scale srlive names has no gap wider than three semitones, so a
note moves by one semitone at most; only at the keyboard's two ends, where the nearest scale tone
is off the keyboard, by up to MAX_MOVE (two). Rows in the scale are unchanged, so is the roll's
shape, dtype and value range, and a cell that was below the threshold stays below it: the lock
never makes a note out of nothing, and which notes sound is the same whatever threshold reads it.

KeyFollower — the key of the last ``bars`` bars the performer played (bars with no notes are
skipped, so a rest keeps the key). Each pitch class is weighted by how many steps it sounds. The
candidates (by default the 12 major and 12 natural minor keys) are scored by the share of that
weight their scale holds (scale fit, which decides the pitch-class set the lock uses), then by
the Krumhansl–Kessler profile correlation (which names the root among scales that fit as well,
e.g. D major vs B minor). Nothing is locked until the window holds MIN_NOTES notes of at least
MIN_PITCH_CLASSES pitch classes. Hysteresis: once locked, a different key takes over only when,
in CONFIRM_BARS bars in a row, it fits the window by SWITCH_MARGIN more than the locked key *and*
fits the bar just played better. An odd bar stays in the window for ``bars`` bars, but the bars
after it fit the old key again, so it does not flip the lock; a real change of key does, after
CONFIRM_BARS bars. The same notes under another name (D major / B minor) are the same lock: the
name follows the profiles at once.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from srlive import roll
from srlive.history import PLAYED_KEPT, BarHistory
from srlive.model.scales import FOLLOW, INTERVALS, Scale, ScaleSetting

MAX_MOVE = 2  # semitones: the most a note ever moves (one, except at the keyboard's two ends)
MIN_NOTES = 8  # notes in the window before KeyFollower locks anything
MIN_PITCH_CLASSES = 5
SWITCH_MARGIN = 0.05  # share of the window's weight a new key must fit better by
CONFIRM_BARS = 2  # bars in a row it must do so, each of them fitting it better on its own

#: Krumhansl & Kessler (1982) key profiles, tonic first
PROFILES = {
    "major": (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88),
    "minor": (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17),
}
PROFILES["harmonic minor"] = PROFILES["minor"]


def scale_mask(scale: Scale) -> np.ndarray:
    """[12] bool: True for the scale's pitch classes."""
    mask = np.zeros(12, dtype=bool)
    mask[list(scale.pitch_classes)] = True
    return mask


@lru_cache(maxsize=64)
def row_targets(scale: Scale, transpose: int = 0) -> np.ndarray:
    """[88] the row each row's values go to: itself when it is in the scale, else the nearest row
    in the scale (the lower on a tie). ``transpose`` is the shift render applies afterwards, so the
    scale is of the pitches as they sound."""
    mask = scale_mask(scale)
    rows = np.arange(roll.N_PITCHES)
    in_scale = mask[(rows + roll.LOWEST_PITCH + int(transpose)) % 12]
    targets = rows.copy()
    for row in np.nonzero(~in_scale)[0]:
        for d in sorted(range(-11, 12), key=lambda d: (abs(d), d)):
            if 0 <= row + d < roll.N_PITCHES and in_scale[row + d]:
                targets[row] = row + d
                break
    targets.flags.writeable = False
    return targets


def lock_roll(bar: np.ndarray, scale: Scale | None, transpose: int = 0) -> np.ndarray:
    """The roll (…, 88, steps) with every out-of-scale row moved onto its nearest scale tone (values
    merged with max). ``scale`` None: the roll itself, untouched."""
    if scale is None:
        return bar
    r = np.asarray(bar)
    rows_first = np.moveaxis(r, -2, 0)
    out = np.zeros_like(rows_first)
    np.maximum.at(out, row_targets(scale, int(transpose)), rows_first)
    return np.moveaxis(out, 0, -2)


_ROW_PITCH_CLASS = (np.arange(roll.N_PITCHES) + roll.LOWEST_PITCH) % 12


def pitch_class_weights(bar: np.ndarray) -> tuple[np.ndarray, int]:
    """[12] steps each pitch class sounds in a performer's bar (any cell > 0), and its note count
    (runs of sounding cells in a row, as srlive.roll reads notes)."""
    on = np.asarray(bar).reshape(roll.N_PITCHES, -1) > 0
    weights = np.bincount(_ROW_PITCH_CLASS, weights=on.sum(axis=1), minlength=12)
    notes = int(on[:, 0].sum() + (on[:, 1:] & ~on[:, :-1]).sum())
    return weights, notes


def candidates(names=("major", "minor")) -> tuple[Scale, ...]:
    unknown = [n for n in names if n not in PROFILES]
    if unknown:
        raise ValueError(f"no key profile for {', '.join(unknown)}; choose from {', '.join(PROFILES)}")
    return tuple(Scale(root, name) for name in names for root in range(12))


@lru_cache(maxsize=8)
def _key_tables(keys: tuple[Scale, ...]) -> tuple[np.ndarray, np.ndarray]:
    """[K, 12] scale masks and [K, 12] key profiles turned to their roots, centred, unit length."""
    masks = np.array([scale_mask(k) for k in keys], dtype=np.float64)
    profiles = np.array([np.roll(PROFILES[k.name], k.root) for k in keys], dtype=np.float64)
    profiles -= profiles.mean(axis=1, keepdims=True)
    profiles /= np.linalg.norm(profiles, axis=1, keepdims=True)
    return masks, profiles


def key_scores(weights: np.ndarray, keys: tuple[Scale, ...]) -> tuple[np.ndarray, np.ndarray]:
    """[K] scale fit (share of the weight whose pitch class lies in each key's scale; 0 with no
    weight) and [K] Pearson correlation of the weights with each key's profile (0 if flat)."""
    masks, profiles = _key_tables(keys)
    w = np.asarray(weights, dtype=np.float64)
    total = w.sum()
    fits = masks @ w / total if total > 0 else np.zeros(len(keys))
    centred = w - w.mean()
    norm = np.linalg.norm(centred)
    corrs = profiles @ centred / norm if norm > 0 else np.zeros(len(keys))
    return fits, corrs


def fit(weights: np.ndarray, scale: Scale) -> float:
    """Share of the weight whose pitch class lies in the scale (0 when there is none)."""
    w = np.asarray(weights, dtype=np.float64)
    total = w.sum()
    return float(w[scale_mask(scale)].sum() / total) if total > 0 else 0.0


def find_key(weights: np.ndarray, keys: tuple[Scale, ...]) -> Scale:
    """The best-fitting key: the largest scale fit, then the largest profile correlation."""
    fits, corrs = key_scores(weights, keys)
    return keys[int(np.lexsort((corrs, np.round(fits, 9)))[-1])]


class KeyFollower:
    """The key of the performer's last ``bars`` bars with notes (read from a
    srlive.history.BarHistory: the engine's, or its own written by ``add``), held with hysteresis;
    ``scale`` is None until known."""

    def __init__(self, bars: int = 4, scales=("major", "minor"), history: BarHistory | None = None):
        self.keys = candidates(scales)
        self.bars = bars
        self.history = history if history is not None else BarHistory()
        self.scale: Scale | None = None
        self._challenger: Scale | None = None
        self._streak = 0

    def add(self, heard_roll: np.ndarray) -> Scale | None:
        """One bar the performer played, into the follower's own history (as silence when it has no
        notes, as the engine writes it); returns ``update()``."""
        self.history.add(heard_roll if pitch_class_weights(heard_roll)[1] else None, None)
        return self.update()

    def update(self) -> Scale | None:
        """The newest bar of the history has gone by; returns the key now locked (None: not yet).
        Only a bar with notes moves the key."""
        newest = self.history.back(1)
        if newest is None or newest.heard is None or pitch_class_weights(newest.heard)[1] == 0:
            return self.scale
        window = [pitch_class_weights(b) for b in self.history.heard_bars(PLAYED_KEPT)]
        window = [(w, c) for w, c in window if c > 0][-self.bars:]
        weights = window[-1][0]
        total = sum(w for w, _ in window)
        if sum(c for _, c in window) < MIN_NOTES or np.count_nonzero(total) < MIN_PITCH_CLASSES:
            return self.scale
        best = find_key(total, self.keys)
        if self.scale is None:
            self.scale = best
        elif scale_mask(best).tolist() == scale_mask(self.scale).tolist():
            self.scale, self._streak = best, 0  # the same notes, better named (D major / B minor)
        elif fit(total, best) - fit(total, self.scale) >= SWITCH_MARGIN and fit(weights, best) > fit(weights, self.scale):
            self._streak = self._streak + 1 if best == self._challenger else 1
            self._challenger = best
            if self._streak >= CONFIRM_BARS:
                self.scale, self._streak = best, 0
        else:
            self._streak = 0
        return self.scale


def active_scale(setting: ScaleSetting, follower: KeyFollower | None) -> Scale | None:
    """The scale to lock to now: the setting's own, the follower's for "follow", None for off."""
    if setting == FOLLOW:
        return follower.scale if follower is not None else None
    return setting if isinstance(setting, Scale) else None


__all__ = ["INTERVALS", "KeyFollower", "MAX_MOVE", "active_scale", "find_key", "lock_roll", "row_targets"]
