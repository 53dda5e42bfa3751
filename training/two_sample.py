"""The classifier two-sample test: given the bars before, can a classifier tell the tune's real
next bar from the model's answer? Pure apart from scikit-learn (the `train` extra); no I/O.

An item is four bars heard (t-4..t-1) and a bar t. Half of the items, chosen at random once, keep
the tune's real bar t; the other half get the answer a model gave to the same bars heard. A
logistic regression and a gradient-boosted classifier learn, from the features below, which half
an item is in; their 5-fold cross-validated accuracy is the measure: 0.5 when the answers cannot
be told from the music, 1.0 when every one can. Each context is used once (never with both its
real bar and an answer), so the control, the same split with the real bar in both halves, is the
null hypothesis itself and must come out near 0.5.

Features are what a listener would use, relative to the key of the bars before (so a transposed
tune gives the same features):
- of bar t: the pitch-class histogram relative to the tonic, the onset-step histogram, the note
  count, the mean note length, the pitch span, the histogram of intervals between consecutive
  tones, the share of onsets on odd sixteenths;
- of how it joins the bars before: its mean pitch minus theirs, the interval from the last tone
  heard to its first, and the share of its onsets (step, pitch) each bar heard also has (does it
  restate a bar, or none);
- of the bars before, the same few numbers (notes per bar, mean note length, pitch span, share of
  onsets on odd sixteenths, and the notes of bar t-1), so the classifier can judge fit;
- the key's mode (major or minor).

The key is the Krumhansl-Kessler key profile (major or minor, 12 tonics) that correlates best with
the bars' pitch-class histogram weighted by note length: a tonic, where a best-fitting scale of
srlive_training.metrics only gives a set of pitch classes (C major and A minor tie there).
"""

from __future__ import annotations

import numpy as np

from srlive_training import metrics

FOLDS = 5

#: Krumhansl & Kessler (1982) probe-tone ratings, tonic first.
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])

#: Upper edges (semitones, absolute) of the interval bins: unison, step, third, fourth-fifth, wider;
#: each bin is split by direction except unison, so 9 bins.
INTERVAL_EDGES = (0, 2, 4, 7)


def key_of(notes: np.ndarray) -> tuple[int, bool]:
    """(tonic pitch class, minor) of the notes [n, 4]: the Krumhansl-Kessler profile, of 24, that
    correlates best with their pitch-class histogram weighted by length. (0, False) for no notes
    or a histogram without contrast."""
    notes = np.asarray(notes, np.int64).reshape(-1, 4)
    hist = np.bincount(notes[:, 0] % 12, weights=notes[:, 2] - notes[:, 1], minlength=12)
    if not len(notes) or hist.std() == 0:
        return 0, False
    scores = [np.corrcoef(hist, np.roll(profile, tonic))[0, 1] for profile in (KK_MAJOR, KK_MINOR)
              for tonic in range(12)]
    best = int(np.argmax(scores))
    return best % 12, best >= 12


def interval_histogram(tones: np.ndarray) -> np.ndarray:
    """[9] share of the intervals between consecutive tones in each bin: unison, then up and down
    by a step (1-2), a third (3-4), a fourth or fifth (5-7), wider. Zeros under 2 tones."""
    iv = np.diff(np.asarray(tones, np.int64).ravel())
    out = np.zeros(1 + 2 * len(INTERVAL_EDGES), np.float64)
    if not iv.size:
        return out
    size = np.searchsorted(INTERVAL_EDGES, np.abs(iv))  # 0 unison, 1 step, ..., 4 wider
    index = np.where(size == 0, 0, 2 * size - (iv > 0))
    return np.bincount(index, minlength=len(out)) / iv.size


def _shares(values: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(values, minlength=n)[:n] / len(values) if len(values) else np.zeros(n)


def bar_features(notes: np.ndarray, tonic: int, steps: int) -> np.ndarray:
    """Bar t's own features (see the module docstring), pitch classes relative to `tonic`."""
    notes = np.asarray(notes, np.int64).reshape(-1, 4)
    p, s = notes[:, 0], notes[:, 1]
    return np.concatenate([
        _shares((p - tonic) % 12, 12), _shares(s, steps), interval_histogram(metrics.tone_sequence(notes)),
        _summary(notes),
    ])


def _summary(notes: np.ndarray) -> np.ndarray:
    """Note count, mean note length, pitch span, share of onsets on odd sixteenths (0 when empty)."""
    if not len(notes):
        return np.zeros(4)
    odd = metrics.odd_onset_share([notes])
    return np.array([len(notes), np.mean(notes[:, 2] - notes[:, 1]), np.ptp(notes[:, 0]), odd], np.float64)


def context_features(context: list[np.ndarray], steps: int) -> np.ndarray:
    """The bars before's few numbers: notes per bar, mean note length, pitch span, odd-sixteenth
    share (over all of them), and bar t-1's note count."""
    joined = metrics.join_bars(context, steps)
    summary = _summary(joined)
    summary[0] /= max(len(context), 1)
    return np.append(summary, len(context[-1]) if context else 0)


def join_features(context: list[np.ndarray], bar: np.ndarray, steps: int) -> np.ndarray:
    """How bar t joins the bars before: its mean pitch minus theirs and the interval from the last
    tone heard to its first (0 when either side is silent), then the share of its onsets each bar
    heard also has (metrics.shared_onsets; 0 for a silent bar t)."""
    before = metrics.join_bars(context, steps)
    bar = np.asarray(bar, np.int64).reshape(-1, 4)
    shared = [metrics.shared_onsets(bar, b) if len(bar) else 0.0 for b in context]
    if not len(before) or not len(bar):
        return np.r_[0.0, 0.0, shared]
    first = metrics.tone_sequence(bar)[0]
    return np.r_[bar[:, 0].mean() - before[:, 0].mean(), first - metrics.tone_sequence(before)[-1], shared]


def pair_features(context: list[np.ndarray], bar: np.ndarray, steps: int) -> np.ndarray:
    """One item's feature vector: bar t relative to the key of the bars before (note arrays), how
    it joins them, their own numbers and the key's mode."""
    tonic, minor = key_of(metrics.join_bars(context, steps))
    return np.concatenate([bar_features(bar, tonic, steps), join_features(context, bar, steps),
                           context_features(context, steps), [float(minor)]])


def features(contexts: np.ndarray, bars: np.ndarray, threshold: float,
             context_threshold: float = metrics.REAL_THRESHOLD) -> np.ndarray:
    """[K, F] the feature vectors of K items: bars heard `contexts` [K, C, 88, S] (real bars, read
    with `context_threshold`) and bars t `bars` [K, 88, S] (read with `threshold`)."""
    steps = np.shape(bars)[-1]
    rows = []
    for ctx, bar in zip(contexts, bars):
        heard = [metrics.bar_notes(b, context_threshold) for b in ctx]
        rows.append(pair_features(heard, metrics.bar_notes(bar, threshold), steps))
    return np.array(rows, np.float64) if rows else np.zeros((0, 0))


def halves(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two disjoint random halves of n items: the ones that keep their real bar, and the ones
    that get the answer."""
    order = rng.permutation(n)
    return order[: n // 2], order[n // 2 : 2 * (n // 2)]


def cross_validated_accuracy(x_real: np.ndarray, x_other: np.ndarray, seed: int = 0, folds: int = FOLDS) -> dict:
    """{"logistic", "boosted"}: the mean 5-fold (stratified, shuffled with `seed`) accuracy of a
    logistic regression (on standardised features) and of a histogram gradient-boosted classifier
    telling the rows of `x_real` from those of `x_other`. NaN under `folds` items a side."""
    if min(len(x_real), len(x_other)) < folds:
        return {"logistic": float("nan"), "boosted": float("nan")}
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.concatenate([x_real, x_other])
    y = np.r_[np.zeros(len(x_real)), np.ones(len(x_other))]
    split = StratifiedKFold(folds, shuffle=True, random_state=seed)
    models = {"logistic": make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
              "boosted": HistGradientBoostingClassifier(random_state=seed)}
    return {name: float(cross_val_score(m, x, y, cv=split).mean()) for name, m in models.items()}


def classifier_test(contexts: np.ndarray, real_next: np.ndarray, answers: np.ndarray, threshold: float,
                    seed: int = 0) -> dict:
    """The test on K items: contexts [K, C, 88, S], the tune's real bars t [K, 88, S] and the
    answers to the same contexts [K, 88, S] (read with `threshold`). The halves are drawn from
    `seed`, so every row of a table splits its items the same way; passing the real bars as the
    answers (with metrics.REAL_THRESHOLD) is the control."""
    real, other = halves(len(contexts), np.random.default_rng([seed, 11]))
    x_real = features(contexts[real], real_next[real], metrics.REAL_THRESHOLD)
    x_other = features(contexts[other], answers[other], threshold)
    return cross_validated_accuracy(x_real, x_other, seed)
