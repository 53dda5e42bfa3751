"""Measures of generated music. Pure: numpy in, numbers out; no I/O, no torch.

Four families:

- The paper's measures (Akbari & Liang, ICASSP 2018, section 4.1) over multi-bar samples:
  scale consistency, tone span, uniqueness, velocity span, recurrence, diversity.
- MuseGAN's per-bar measures: empty bars (EB), used pitch classes (UPC), qualified notes (QN).
- The jam-partner measure: key fit of an answer bar to the 4 real bars before it.
- The listening measures: the share of onsets on odd sixteenths (after a performer who plays
  none), the onsets a bar shares with a bar before (phrase returns), and a solo chain's empty
  bars, runs of identical bars and notes per bar against the music's range. (The classifier
  two-sample test is srlive_training.two_sample.)

Conventions shared by every function here:

- Notes are read from rolls with `srlive.roll.roll_to_notes` (a run of cells >= threshold in one
  row is one note; every note ends by the end of its bar, so a note held over a bar line counts
  as two notes). A sample's notes are an int array [n, 4] of (pitch, onset, end, velocity) with
  onsets in steps from the start of the sample (bar b's step k is b * S + k).
- A bar is S steps wide: 16 (4/4) or 12 (a triple bar: 3/4, 6/8), read from the rolls' last
  axis. Step 0 is the downbeat; the odd steps are the odd sixteenths in either.
- The tone sequence of a sample is the pitches of its notes ordered by onset, then pitch.
- Ratios are fractions in [0, 1] (the evaluation table shows them as percentages).
- A ratio that is undefined (no notes) is NaN and callers exclude it (np.nanmean); counts of an
  empty sample are 0 (tone span, velocity span, recurrence). Emptiness itself is measured by EB.
- Real bars (corpus data) are read with REAL_THRESHOLD, i.e. any cell with velocity >= 1 sounds;
  the `threshold` arguments apply to model output.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from srlive.roll import DEFAULT_THRESHOLD, N_PITCHES, STEPS, roll_to_notes

#: Reads every non-zero cell of a velocity/127 roll as sounding (for real bars from the corpus).
REAL_THRESHOLD = 0.5 / 127.0

SCALE_STEPS = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "natural minor": (0, 2, 3, 5, 7, 8, 10),
    "harmonic minor": (0, 2, 3, 5, 7, 8, 11),
}


def _scale_masks() -> np.ndarray:
    """[36, 12] bool: row = root * 3 + scale type, True where the pitch class is in the scale."""
    masks = np.zeros((12 * len(SCALE_STEPS), 12), dtype=bool)
    for root in range(12):
        for s, steps in enumerate(SCALE_STEPS.values()):
            masks[root * len(SCALE_STEPS) + s, [(root + k) % 12 for k in steps]] = True
    return masks


SCALE_MASKS = _scale_masks()

NOTE_FIELDS = ("pitch", "onset", "end", "velocity")


# --------------------------------------------------------------------------- reading notes


def as_bars(rolls) -> np.ndarray:
    """Rolls [..., 88, S] as [T, 88, S], S their own width."""
    r = np.asarray(rolls)
    return r.reshape(-1, N_PITCHES, r.shape[-1] if r.ndim else STEPS)


def bar_notes(roll: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """Notes of one [88, S] roll as int [n, 4] (pitch, start, end, velocity), by (start, pitch)."""
    notes = roll_to_notes(roll, threshold)
    if not notes:
        return np.zeros((0, 4), dtype=np.int64)
    return np.asarray(notes, dtype=np.int64).reshape(-1, 4)


def join_bars(bars: Sequence[np.ndarray], steps: int = STEPS) -> np.ndarray:
    """Per-bar note arrays (steps within each bar of `steps` steps) -> one array with onsets from
    the first bar's start, ordered by onset then pitch."""
    parts = [np.asarray(b, dtype=np.int64).reshape(-1, 4) + np.array([0, k * steps, k * steps, 0]) for k, b in enumerate(bars)]
    notes = np.concatenate(parts) if parts else np.zeros((0, 4), dtype=np.int64)
    return notes[np.lexsort((notes[:, 0], notes[:, 1]))]


def sample_notes(rolls: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """Notes of consecutive bars [T, 88, S] as int [n, 4] (pitch, onset, end, velocity), onsets
    in steps from the first bar's start, ordered by onset then pitch."""
    bars = as_bars(rolls)
    return join_bars([bar_notes(r, threshold) for r in bars], bars.shape[-1])


def tone_sequence(notes: np.ndarray) -> np.ndarray:
    """Pitches of the notes ordered by onset, then pitch."""
    notes = np.asarray(notes).reshape(-1, 4)
    order = np.lexsort((notes[:, 0], notes[:, 1]))
    return notes[order, 0]


# --------------------------------------------------------------------------- scales


def scale_shares(pitches: Sequence[int]) -> np.ndarray:
    """[36] share of the notes whose pitch class (pitch mod 12) lies in each of the 12 roots x
    {major, natural minor, harmonic minor} scales (row = root * 3 + type). NaN if no notes."""
    p = np.asarray(pitches, dtype=np.int64).ravel()
    if p.size == 0:
        return np.full(len(SCALE_MASKS), np.nan)
    counts = np.bincount(p % 12, minlength=12)
    return SCALE_MASKS.astype(np.float64) @ counts / p.size


def scale_consistency(pitches: Sequence[int]) -> float:
    """Paper 4.1: the largest share of a sample's notes that lies in one scale, over the 12 roots x
    {major, natural minor, harmonic minor}, pitch classes taken mod 12. NaN if no notes."""
    shares = scale_shares(pitches)
    return float(np.max(shares)) if np.isfinite(shares).all() else float("nan")


# --------------------------------------------------------------------------- the paper's measures


def tone_span(pitches: Sequence[int]) -> float:
    """Paper 4.1: highest minus lowest pitch of the sample, in semitones. 0 if no notes."""
    p = np.asarray(pitches).ravel()
    return float(p.max() - p.min()) if p.size else 0.0


def uniqueness(pitches: Sequence[int]) -> float:
    """Paper 4.1: number of distinct tones (pitches) / number of tones. NaN if no notes."""
    p = np.asarray(pitches).ravel()
    return float(len(np.unique(p)) / p.size) if p.size else float("nan")


def velocity_span(velocities: Sequence[int]) -> float:
    """Paper 4.1: loudest minus softest note velocity (MIDI 1..127). 0 if no notes."""
    v = np.asarray(velocities).ravel()
    return float(v.max() - v.min()) if v.size else 0.0


def recurrence(tones: Sequence[int]) -> int:
    """Paper 4.1, made precise: the number of 2-grams (tones[i], tones[i+1]) of the tone sequence
    that already occurred at an earlier position j < i. E.g. [60, 62, 60, 62, 60] -> 2."""
    seen: set[tuple[int, int]] = set()
    count = 0
    t = [int(x) for x in np.asarray(tones).ravel()]
    for gram in zip(t[:-1], t[1:]):
        if gram in seen:
            count += 1
        else:
            seen.add(gram)
    return count


def edit_distance(a: Sequence, b: Sequence) -> int:
    """Levenshtein distance (unit cost insert, delete, substitute) between two sequences."""
    return int(_batched_edit_distance([np.asarray(a)], [np.asarray(b)])[0])


def _batched_edit_distance(seqs_a: list[np.ndarray], seqs_b: list[np.ndarray]) -> np.ndarray:
    """Levenshtein distances of many pairs at once: the DP goes row by row over a, vectorised over
    pairs and over b's positions; the insertion chain within a row is a running minimum
    (d[j] = min_k<=j (c[k] + j - k) = j + cummin(c[k] - k)). Padding never reaches the cell
    (len a, len b) that is read, since DP cell (i, j) only depends on a[:i] and b[:j]."""
    P = len(seqs_a)
    la = np.array([len(s) for s in seqs_a])
    lb = np.array([len(s) for s in seqs_b])
    La, Lb = int(la.max(initial=0)), int(lb.max(initial=0))
    A = np.full((P, max(La, 1)), -1, dtype=np.int64)
    B = np.full((P, max(Lb, 1)), -2, dtype=np.int64)
    for k, (x, y) in enumerate(zip(seqs_a, seqs_b)):
        A[k, : len(x)] = x
        B[k, : len(y)] = y
    j = np.arange(Lb + 1)
    row = np.broadcast_to(j, (P, Lb + 1)).astype(np.int64)
    out = np.where(la == 0, lb, 0).astype(np.int64)
    for i in range(1, La + 1):
        sub = row[:, :-1] + (A[:, i - 1 : i] != B[:, :Lb])
        c = np.empty_like(row)
        c[:, 0] = i
        c[:, 1:] = np.minimum(sub, row[:, 1:] + 1)
        row = j + np.minimum.accumulate(c - j, axis=1)
        done = la == i
        if done.any():
            out[done] = row[done, lb[done]]
    return out


def diversity(
    sequences: Sequence[Sequence[int]],
    rng: np.random.Generator | None = None,
    max_pairs: int = 20000,
    max_cells: float = 3e8,
) -> float:
    """Paper 4.1: mean over pairs of different samples of edit_distance(a, b) / max(len a, len b)
    of their tone sequences (0 = identical, 1 = nothing shared). Samples without notes are left
    out; NaN if fewer than 2 remain.

    All pairs are used when there are at most `max_pairs`; otherwise `max_pairs` distinct random
    pairs (drawn with `rng`), fewer if their DP tables would exceed `max_cells` cells in total
    (but at least 50), so thousands of samples stay fast."""
    seqs = [np.asarray(s, dtype=np.int64).ravel() for s in sequences]
    seqs = [s for s in seqs if s.size]
    n = len(seqs)
    if n < 2:
        return float("nan")
    n_all = n * (n - 1) // 2
    if n_all <= max_pairs:
        i, j = np.triu_indices(n, k=1)
    else:
        rng = rng if rng is not None else np.random.default_rng(0)
        i = rng.integers(0, n, size=max_pairs * 2)
        j = rng.integers(0, n, size=max_pairs * 2)
        keep = i < j
        pairs = np.unique(np.stack([i[keep], j[keep]], 1), axis=0)
        pairs = pairs[rng.permutation(len(pairs))[:max_pairs]]
        i, j = pairs[:, 0], pairs[:, 1]
    lengths = np.array([s.size for s in seqs])
    cost = np.cumsum(lengths[i] * lengths[j])
    keep = max(50, int(np.searchsorted(cost, max_cells, side="right")))
    i, j = i[:keep], j[:keep]
    # batch pairs of similar length together so padding stays small
    order = np.argsort(np.maximum(lengths[i], lengths[j]), kind="stable")
    total = 0.0
    for chunk in np.array_split(order, max(1, len(order) // 256)):
        d = _batched_edit_distance([seqs[k] for k in i[chunk]], [seqs[k] for k in j[chunk]])
        total += float(np.sum(d / np.maximum(lengths[i[chunk]], lengths[j[chunk]])))
    return total / len(i)


# --------------------------------------------------------------------------- MuseGAN per bar


def empty_bar_rate(bars: Sequence[np.ndarray]) -> float:
    """MuseGAN EB: the share of bars without any note (bars given as note arrays [n, 4])."""
    if len(bars) == 0:
        return float("nan")
    return float(np.mean([len(b) == 0 for b in bars]))


def used_pitch_classes(bars: Sequence[np.ndarray]) -> float:
    """MuseGAN UPC: the number of distinct pitch classes (pitch % 12) per bar, averaged over the
    bars that have notes (empty bars are counted by EB, not here). NaN if every bar is empty."""
    counts = [len(np.unique(np.asarray(b)[:, 0] % 12)) for b in bars if len(b)]
    return float(np.mean(counts)) if counts else float("nan")


def qualified_note_rate(bars: Sequence[np.ndarray], min_steps: int = 3) -> float:
    """MuseGAN QN: the share of notes that last at least `min_steps` sixteenth steps (3 steps =
    a dotted eighth; MuseGAN's "qualified" notes). NaN if there are no notes."""
    lengths = [np.asarray(b)[:, 2] - np.asarray(b)[:, 1] for b in bars if len(b)]
    if not lengths:
        return float("nan")
    lengths = np.concatenate(lengths)
    return float(np.mean(lengths >= min_steps))


# --------------------------------------------------------------------------- key fit


def best_scales(pitches: Sequence[int]) -> np.ndarray:
    """Indices (root * 3 + type) of every scale tied for the largest share of the given notes.
    With no notes every one of the 36 scales ties."""
    shares = scale_shares(pitches)
    if not np.isfinite(shares).all():
        return np.arange(len(SCALE_MASKS))
    return np.nonzero(shares >= shares.max() - 1e-12)[0]


def context_profile(context, context_threshold: float = REAL_THRESHOLD) -> np.ndarray:
    """[12] weight of each pitch class under the best-fitting scale of the context bars: 1 for a
    pitch class in it, 0 outside; where several scales tie for the largest share of the
    context's notes, the mean over them (no tie is broken in an answer's favour)."""
    ctx = as_bars(np.asarray(context, dtype=np.float32))
    pitches = np.concatenate([bar_notes(r, context_threshold)[:, 0] for r in ctx]) if len(ctx) else []
    return SCALE_MASKS[best_scales(pitches)].mean(axis=0)


def profile_fit(profile: np.ndarray, answer, threshold: float = DEFAULT_THRESHOLD) -> float:
    """Mean of `profile` over the pitch classes of the answer bar's notes; NaN if it has none."""
    pitches = bar_notes(answer, threshold)[:, 0]
    return float(np.mean(np.asarray(profile)[pitches % 12])) if pitches.size else float("nan")


def key_fit(context, answer, threshold: float = DEFAULT_THRESHOLD, *, context_threshold: float = REAL_THRESHOLD) -> float:
    """Share of the answer bar's notes whose pitch class lies in the best-fitting scale of the
    context (the 4 real bars before it): the scale, of 12 roots x {major, natural minor, harmonic
    minor}, that holds the largest share of the context's notes. When several scales tie, the
    answer's share is averaged over them (see context_profile).

    context: rolls [4, 88, 16] (or a list of [88, 16]), read with `context_threshold` (real bars:
    every non-zero cell sounds); answer: roll [88, 16], read with `threshold`.
    Returns NaN when the answer has no notes: callers exclude it and report the empty rate.
    """
    return profile_fit(context_profile(context, context_threshold), answer, threshold)


# --------------------------------------------------------------------------- whole rows


PAPER_MEASURES = ("scale_consistency", "tone_span", "uniqueness", "velocity_span", "recurrence", "diversity")
MUSEGAN_MEASURES = ("empty_bars", "used_pitch_classes", "qualified_notes")


# --------------------------------------------------------------------------- how a sample moves
# Not targets: they explain uniqueness and recurrence. A tune moves mostly by steps and changes
# most of its cells from bar to bar; an answer that keeps the last bar's cells and jumps between
# them repeats its tones (low uniqueness) without repeating figures (low recurrence).


def stepwise_share(tones: Sequence[int]) -> float:
    """Share of successive tones a step apart (1 or 2 semitones, up or down). NaN under 2 tones."""
    t = np.asarray(tones, dtype=np.int64).ravel()
    if t.size < 2:
        return float("nan")
    iv = np.abs(np.diff(t))
    return float(np.mean((iv >= 1) & (iv <= 2)))


def kept_cells(rolls: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> float:
    """Share of the sounding cells of bars 2..T [T, 88, 16] that already sounded at the same
    pitch and step in the bar before. NaN if those bars have no sounding cells."""
    on = as_bars(rolls) >= threshold
    later = on[1:].sum()
    return float((on[1:] & on[:-1]).sum() / later) if later else float("nan")


def new_pitches(rolls: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> float:
    """Mean over bars 2..T [T, 88, 16] that sound of the share of a bar's distinct pitches that
    did not sound in the bar before (an empty bar before makes every pitch new). A tune moves on
    to new pitches; an answer that stays on the pitches it heard repeats its tones.
    NaN if no bar after the first sounds."""
    on = as_bars(rolls) >= threshold
    pitches = on.any(2)  # [T, 88]
    shares = [float((p & ~q).sum() / p.sum()) for q, p in zip(pitches[:-1], pitches[1:]) if p.any()]
    return float(np.mean(shares)) if shares else float("nan")


def sounding_steps(rolls: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> float:
    """Share of the steps of bars [T, 88, 16] at which at least one cell sounds. A tune's melody
    sounds at nearly every step, one note after another; rests between notes lower it."""
    on = as_bars(rolls) >= threshold
    return float(on.any(1).mean()) if on.size else float("nan")


def onset_counts(bars: Sequence[np.ndarray], steps: int = STEPS) -> np.ndarray:
    """[steps] how many notes of the bars (note arrays [n, 4], steps within a bar of `steps`)
    start at each step of the bar."""
    starts = [np.asarray(b, dtype=np.int64).reshape(-1, 4)[:, 1] for b in bars]
    return np.bincount(np.concatenate(starts) if starts else np.zeros(0, np.int64), minlength=steps)[:steps]


def onset_profile(bars: Sequence[np.ndarray], steps: int = STEPS) -> np.ndarray:
    """[steps] share of the notes of the bars that start at each step: where in the bar notes fall
    (the metric profile). A 4/4 tune puts most on the beats (steps 0, 4, 8, 12), a 3/4 tune on 0,
    4, 8 and a 6/8 tune on 0 and 6; all put almost none on the odd sixteenths. All NaN when the
    bars hold no note."""
    counts = onset_counts(bars, steps).astype(np.float64)
    total = counts.sum()
    return counts / total if total else np.full(steps, np.nan)


def profile_distance(p: np.ndarray, q: np.ndarray) -> float:
    """Total variation distance between two onset profiles: half the sum of |p - q|, 0 (the same)
    to 1 (no step in common)."""
    return float(0.5 * np.abs(np.asarray(p, np.float64) - np.asarray(q, np.float64)).sum())


def count_correlation(a: Sequence[float], b: Sequence[float]) -> float:
    """Pearson correlation of two equally long series of counts; NaN when either does not vary (or
    under 2 items)."""
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    if a.size < 2 or a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def pace_kept(per_sample_bars: Sequence[Sequence[np.ndarray]]) -> float:
    """How far a five-bar phrase keeps its pace: the correlation, over samples, of the notes in the
    first bar and in the last (per-bar note arrays, as sample_measures' "bars"). A tune's airs stay
    slow and its reels busy (0.83-0.84 in the 4/4 tunes); answers that drift towards one mean
    density keep less of it (the shipped model with one candidate: 0.44-0.49), and then the means
    over phrases (notes, uniqueness, recurrence) come from medium phrases where the music's mix
    sparse and dense ones (training/results/EXPERIMENTS.md)."""
    firsts = [len(bars[0]) for bars in per_sample_bars if len(bars) > 1]
    lasts = [len(bars[-1]) for bars in per_sample_bars if len(bars) > 1]
    return count_correlation(firsts, lasts)


def sample_measures(rolls: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> dict:
    """The per-sample paper measures of one multi-bar sample [T, 88, S], plus its tone sequence
    and per-bar notes (for diversity and the MuseGAN measures)."""
    rolls = as_bars(rolls)
    bars = [bar_notes(r, threshold) for r in rolls]
    notes = join_bars(bars, rolls.shape[-1])
    tones = notes[:, 0]
    return {
        "scale_consistency": scale_consistency(tones),
        "tone_span": tone_span(tones),
        "uniqueness": uniqueness(tones),
        "velocity_span": velocity_span(notes[:, 3]),
        "recurrence": float(recurrence(tones)),
        "stepwise": stepwise_share(tones),
        "kept_cells": kept_cells(rolls, threshold),
        "new_pitches": new_pitches(rolls, threshold),
        "sounding_steps": sounding_steps(rolls, threshold),
        "tones": tones,
        "bars": bars,
    }


def summarize_samples(samples: Sequence[np.ndarray], threshold: float = DEFAULT_THRESHOLD, rng=None, progress=None) -> dict:
    """Means over many samples [S, T, 88, W] of the paper's measures (NaNs excluded), the
    diversity between them and the MuseGAN measures over all their bars.
    `progress` optionally wraps the iteration (e.g. tqdm)."""
    it = samples if progress is None else progress(samples)
    per = [sample_measures(s, threshold) for s in it]
    out = {}
    for k in ("scale_consistency", "tone_span", "uniqueness", "velocity_span", "recurrence", "stepwise", "kept_cells",
              "new_pitches", "sounding_steps"):
        vals = np.array([p[k] for p in per], dtype=np.float64)
        out[k] = float(np.nanmean(vals)) if np.isfinite(vals).any() else float("nan")
    out["diversity"] = diversity([p["tones"] for p in per], rng=rng)
    bars = [b for p in per for b in p["bars"]]
    out["empty_bars"] = empty_bar_rate(bars)
    out["used_pitch_classes"] = used_pitch_classes(bars)
    out["qualified_notes"] = qualified_note_rate(bars)
    out["empty_samples"] = float(np.mean([len(p["tones"]) == 0 for p in per])) if per else float("nan")
    out["notes"] = float(np.mean([len(p["tones"]) for p in per])) if per else float("nan")
    out["pace_kept"] = pace_kept([p["bars"] for p in per])
    profile = onset_profile(bars, np.shape(samples[0])[-1] if len(samples) else STEPS)
    out["onset_profile"] = [float(x) for x in profile]
    out["downbeat"] = float(profile[0])
    out["odd_steps"] = float(np.nansum(profile[1::2])) if np.isfinite(profile).any() else float("nan")
    return out


# --------------------------------------------------------------------------- rhythm, phrases, solo
# The listening rows (srlive_training.phrase_eval): does the answer take the performer's rhythm,
# come back to the tune's figures at the phrase, and keep going when it plays alone.


def odd_onset_share(bars: Sequence[np.ndarray]) -> float:
    """Share of the onsets of the bars (note arrays [n, 4], steps within each bar) that fall on an
    odd sixteenth (steps 1, 3, 5, ...). NaN if the bars hold no note."""
    starts = np.concatenate([np.asarray(b, np.int64).reshape(-1, 4)[:, 1] for b in bars] or [np.zeros(0, np.int64)])
    return float(np.mean(starts % 2 == 1)) if starts.size else float("nan")


def even_only(bars: Sequence[np.ndarray]) -> bool:
    """True when no note of the bars (note arrays) starts on an odd sixteenth: a performer playing
    in eighth notes and slower (silent bars count as even)."""
    return not any(np.any(np.asarray(b, np.int64).reshape(-1, 4)[:, 1] % 2 == 1) for b in bars)


def shared_onsets(bar: np.ndarray, other: np.ndarray) -> float:
    """Phrase returns: the share of the bar's onsets (step, pitch) that `other` (another bar's
    notes, steps within its bar) also has: 1 when the bar restates every note of the other where
    it stood, 0 when it starts no note where the other did. NaN if the bar has no note."""
    a = np.asarray(bar, np.int64).reshape(-1, 4)
    if not len(a):
        return float("nan")
    b = {(int(s), int(p)) for p, s in np.asarray(other, np.int64).reshape(-1, 4)[:, :2]}
    return float(np.mean([(int(s), int(p)) in b for p, s in a[:, :2]]))


def longest_identical_run(rolls: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> int:
    """The longest run of consecutive bars [T, 88, S] whose sounding cells are the same (1 when no
    bar repeats the one before; 0 for no bars). A partner stuck on one bar shows a long run."""
    on = as_bars(rolls) >= threshold
    if not len(on):
        return 0
    same = (on[1:] == on[:-1]).reshape(len(on) - 1, -1).all(1)
    run = best = 1
    for s in same:
        run = run + 1 if s else 1
        best = max(best, run)
    return best


def count_range(counts: Sequence[int], low: float = 10, high: float = 90) -> tuple[float, float]:
    """The `low`th and `high`th percentiles of notes per bar (the music's usual range)."""
    c = np.asarray(counts, np.float64)
    return (float(np.percentile(c, low)), float(np.percentile(c, high))) if c.size else (math.nan, math.nan)


def outside_share(counts: Sequence[float], low: float, high: float) -> float:
    """Share of the counts below `low` or above `high`. NaN for no counts."""
    c = np.asarray(counts, np.float64)
    return float(np.mean((c < low) | (c > high))) if c.size else float("nan")


def phrase_means(counts: Sequence[int], width: int = 8) -> np.ndarray:
    """Mean notes per bar of each successive `width`-bar phrase of a chain (a last, shorter phrase
    is left out): how busy the chain is as it goes on."""
    c = np.asarray(counts, np.float64)
    n = len(c) // width
    return c[: n * width].reshape(n, width).mean(1)
