"""The listening check run at every validation: quick jam-partner figures on ~200 validation answers.

Each held-out tune is transposed to a random key and the model answers bar j from the real bar j-1:
key fit (the share of the answer's notes in the best scale of the 4 real bars before it,
srlive_training.metrics.key_fit), context sensitivity (key fit minus key fit when the bar answered
comes from another tune), and empty bars, note density, note length and distinct pitches against
the real next bars. `listening_score` folds them into the one number best.pt is kept by.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from srlive_training.corpus import BarCorpus
from srlive_training.metrics import bar_notes
from srlive_training.model import VAEGAN


def _answer_positions(corpus: BarCorpus, split: str = "val") -> np.ndarray:
    """Bar indices j with 4 earlier bars of the same tune: the answer to bar j-1, context j-4..j-1."""
    t = corpus.tune
    j = np.arange(4, len(t))
    ok = (t[j - 4] == t[j]) & (corpus.split[t[j]] == {"train": 0, "val": 1, "test": 2}[split])
    return j[ok]


@torch.no_grad()
def listening_check(model: VAEGAN, corpus: BarCorpus, n: int = 200, seed: int = 0, split: str = "val",
                    threshold: float = 0.5, device="cpu") -> dict[str, float]:
    """Quick jam-partner figures on `n` answers of the `split`: each held-out tune transposed to a
    random key, the model answers bar j from the real bar j-1.

    key_fit: mean over non-empty answers of srlive_training.metrics.key_fit(4 real bars before, answer);
    context: key_fit minus the key fit of answers to a bar from ANOTHER tune (also in a random key)
    judged against the same 4 real bars; empty / real_empty: share of empty answers / real next bars;
    density / real_density: sounding cells per bar."""
    from srlive.roll import transpose_roll
    from srlive_training.metrics import REAL_THRESHOLD, key_fit

    pos = _answer_positions(corpus, split)
    if len(pos) == 0:
        return {}
    rng = np.random.default_rng(seed)
    pick = rng.choice(pos, size=min(n, len(pos)), replace=False)
    keys = rng.integers(-6, 6, size=len(pick))
    other_keys = rng.integers(-6, 6, size=len(pick))
    # a bar from another tune of the split for each answer (None when the split has one tune)
    others = []
    for j in pick:
        cand = pos[corpus.tune[pos] != corpus.tune[j]]
        others.append(int(rng.choice(cand)) - 1 if len(cand) else -1)
    ctx = np.stack([transpose_roll(corpus.rolls(np.arange(j - 4, j)), k) for j, k in zip(pick, keys)])
    real_next = np.stack([transpose_roll(corpus.rolls(j), k) for j, k in zip(pick, keys)])
    have_other = all(o >= 0 for o in others)

    def heard(j: int, k: int) -> np.ndarray:
        """Bar j as the encoder hears it ([1, 88, S]), in key k."""
        return transpose_roll(corpus.rolls(np.array([j])), k)

    other_prev = np.stack([heard(o, k) for o, k in zip(others, other_keys)]) if have_other else None
    gen = torch.Generator().manual_seed(seed + 1)
    model = model.eval()

    def answer(prev: np.ndarray) -> np.ndarray:
        x = torch.as_tensor(prev).to(device)  # [N, 1, 88, S]
        noise = torch.randn(len(prev), model.config.latent, generator=gen).to(device)
        return model.step(x, noise, 1.0)[:, 0].cpu().numpy()

    ans = answer(np.stack([heard(j - 1, k) for j, k in zip(pick, keys)]))
    kf = np.array([key_fit(c, a, threshold) for c, a in zip(ctx, ans)])
    out = {
        "key_fit": float(np.nanmean(kf)) if np.isfinite(kf).any() else float("nan"),
        "empty": float(np.mean(ans.reshape(len(ans), -1).max(1) < threshold)),
        "real_empty": float(np.mean(real_next.reshape(len(ans), -1).max(1) < REAL_THRESHOLD)),
        "density": float(np.mean((ans >= threshold).sum((1, 2)))),
        "real_density": float(np.mean((real_next >= REAL_THRESHOLD).sum((1, 2)))),
        "note_len": mean_note_length(ans, threshold),
        "real_note_len": mean_note_length(real_next, REAL_THRESHOLD),
        "pitches": float(np.mean((ans >= threshold).any(2).sum(1))),
        "real_pitches": float(np.mean((real_next >= REAL_THRESHOLD).any(2).sum(1))),
    }
    if have_other:
        ans_o = answer(other_prev)
        kf_o = np.array([key_fit(c, a, threshold) for c, a in zip(ctx, ans_o)])
        out["key_fit_other"] = float(np.nanmean(kf_o)) if np.isfinite(kf_o).any() else float("nan")
        out["context"] = out["key_fit"] - out["key_fit_other"]
    else:
        out["key_fit_other"] = out["context"] = float("nan")
    return out


def mean_note_length(bars: np.ndarray, threshold: float) -> float:
    """Steps per note over all bars, notes read as the live tool reads them (srlive.roll)."""
    lengths = [int(end - start) for bar in bars for _, start, end, _ in bar_notes(bar, threshold)]
    return float(np.mean(lengths)) if lengths else float("nan")


def listening_score(v: dict) -> float:
    """One number to keep best.pt by: key fit + context sensitivity, minus the miss in empty-bar
    rate and half the log-ratio misses in note density, and (when measured) in note length and
    distinct pitches per bar (higher is better; NaN -> -inf)."""

    def miss(a: str, b: str) -> float:
        return abs(math.log(max(v[a], 1e-3) / max(v[b], 1e-3)))

    try:
        s = v["key_fit"] + v["context"] - abs(v["empty"] - v["real_empty"]) - 0.5 * miss("density", "real_density")
        for a, b in (("note_len", "real_note_len"), ("pitches", "real_pitches")):
            if a in v and b in v:
                s -= 0.5 * miss(a, b)
    except (KeyError, TypeError, ValueError):
        return -math.inf
    return s if math.isfinite(s) else -math.inf
