"""Answer selection: of N candidate answers drawn in one batched model call, play the best.

Pure numpy, no I/O. Each candidate is scored on five terms, each a number per candidate where
higher is better, combined with weights (`Weights`, from the model's `srlive.selection` metadata,
overridable with `--selection`):

- ``critic``: the trained discriminator's realism logit (critic.onnx), the published basis being
  discriminator rejection sampling (Azadi et al., ICLR 2019).
- ``motif``: two-note figures the candidate shares with the last bars heard and played, and
  repeats within itself: pairs of consecutive tones (what the recurrence measure counts), plus
  interval-and-rhythm figures (the same figure moved to another pitch).
- ``density``: how near the candidate's note count and sounding share are to the performer's
  recent bars (to srlive's own when the performer is silent).
- ``length``: how near its mean note length is to the context's (figures alone pick busy,
  choppy bars; this holds them in).
- ``copy``: a penalty for an answer that repeats the bar it answers (cell overlap above half).

Besides the terms, a silent candidate loses to every candidate with a note while the context
sounds (the performer's recent bars or srlive's own): a bar of silence in the middle of the
music is what a listener notices first, and the terms alone sometimes prefer it.

The first four are standardised across the candidates (zero mean, unit spread) before weighting,
so a weight says how much a term counts whatever its scale. The copy penalty (0 .. 1) is counted in
units of the other terms' whole range, so with a copy weight of 1 or more an exact copy loses to
every candidate that is not one, whatever the other terms say. With one candidate every standardised term is 0 and the one
candidate is played: `--candidates 1` is srlive without selection.

Shapes: rolls are [N, 88, S] (or [N, 1, 88, S]) float32 in [0, 1], one per candidate; S is the
bar's width (16 steps, or 12 for 3/4 and 6/8).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from srlive.contract import DEFAULT_THRESHOLD, N_PITCHES, SELECTION_TERMS, STEPS
from srlive.history import BarHistory

TERMS = SELECTION_TERMS
CONTEXT_BARS = 4  # bars heard and bars played that motif and density look back on
COPY_FROM = 0.5  # cell overlap (Jaccard) with the bar heard from which the copy penalty grows
_GAP_MAX = STEPS  # onset gaps of a figure: 0..STEPS steps
_INTERVALS = 2 * N_PITCHES - 1


class BadWeights(ValueError):
    """Selection weights that can't be used; str() says why in one line."""


@dataclass(frozen=True)
class Weights:
    critic: float = 1.0
    motif: float = 1.0
    density: float = 0.5
    length: float = 0.5
    copy: float = 1.0


def parse_weights(text_or_dict, base: Weights | None = None, where: str = "selection weights") -> Weights:
    """Weights from ``"critic=1,motif=2"`` (command line) or a dict (metadata JSON, a preset table),
    on top of ``base``. Every weight is a finite number >= 0; unknown names are refused."""
    return replace(base or Weights(), **weight_changes(text_or_dict, where))


def weight_changes(text_or_dict, where: str = "selection weights") -> dict[str, float]:
    """The weights ``"critic=1,motif=2"`` or a dict names, checked: {name: number}."""
    if isinstance(text_or_dict, str):
        items = []
        for part in filter(None, (p.strip() for p in text_or_dict.split(","))):
            name, sep, value = part.partition("=")
            if not sep:
                raise BadWeights(f"{where}: write NAME=NUMBER,... with NAME one of {', '.join(TERMS)}")
            items.append((name.strip(), value.strip()))
    elif isinstance(text_or_dict, dict):
        items = list(text_or_dict.items())
    else:
        raise BadWeights(f"{where}: expected NAME=NUMBER pairs, got {text_or_dict!r}")
    changes = {}
    for name, value in items:
        if name not in TERMS:
            raise BadWeights(f"{where}: unknown weight {name!r}; choose from {', '.join(TERMS)}")
        try:
            x = float(value) if not isinstance(value, bool) else float("nan")
        except (TypeError, ValueError):
            x = float("nan")
        if not (x == x and 0 <= x < float("inf")):
            raise BadWeights(f"{where}: {name}={value!r} must be a number >= 0")
        changes[name] = x
    return changes


# --- reading candidates ----------------------------------------------------------------------------
@dataclass
class BarFacts:
    """What selection needs of bars, for a batch of N: onsets and tones, vectorised."""

    n: int
    notes: np.ndarray  # [N] notes per bar
    sounding: np.ndarray  # [N] share of steps at which something sounds
    mean_length: np.ndarray  # [N] mean note length in steps (0 for an empty bar)
    on: np.ndarray  # [N, 88, 16] bool, cells that sound
    owner: np.ndarray  # [M] which bar each tone belongs to, tones ordered by (bar, onset, pitch)
    pitch: np.ndarray  # [M]
    onset: np.ndarray  # [M]


def bar_facts(rolls: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> BarFacts:
    r = np.asarray(rolls, dtype=np.float32)
    r = r.reshape(-1, N_PITCHES, r.shape[-1])  # a bar's width: 16 steps, or 12 (3/4, 6/8)
    on = r >= threshold
    starts = on.copy()
    starts[:, :, 1:] &= ~on[:, :, :-1]  # a run of on-cells starts where the cell before is off
    owner, row, step = np.nonzero(starts)
    order = np.lexsort((row, step, owner))
    owner, row, step = owner[order], row[order], step[order]
    n = r.shape[0]
    notes = np.bincount(owner, minlength=n).astype(np.float64)
    cells = on.sum(axis=(1, 2)).astype(np.float64)
    return BarFacts(n=n, notes=notes, sounding=on.any(axis=1).mean(axis=1), mean_length=cells / np.maximum(notes, 1),
                    on=on, owner=owner, pitch=row.astype(np.int64), onset=step.astype(np.int64))


def _figures(f: BarFacts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(owner, tone-pair key, interval-rhythm key) of every pair of consecutive tones in a bar."""
    same = f.owner[1:] == f.owner[:-1]
    a, b = f.pitch[:-1][same], f.pitch[1:][same]
    gap = (f.onset[1:] - f.onset[:-1])[same]
    pair = a * N_PITCHES + b
    shape = (b - a + N_PITCHES - 1) * (_GAP_MAX + 1) + np.minimum(gap, _GAP_MAX)
    return f.owner[:-1][same], pair, shape


# --- the context: the last bars heard and played ---------------------------------------------------
class Context:
    """The last `CONTEXT_BARS` bars heard and played (read from a srlive.history.BarHistory),
    reduced to what the terms compare with.

    `score` reads it for every candidate; what it derives is cached until a bar is added. `add`
    writes a history of its own (tests, and callers without one)."""

    def __init__(self, history: BarHistory | None = None, bars: int = CONTEXT_BARS,
                 threshold: float = DEFAULT_THRESHOLD):
        self.history = history if history is not None else BarHistory()
        self.bars = bars
        self.threshold = threshold
        self._cache: dict = {}
        self._version = -1

    def add(self, heard: np.ndarray | None = None, played: np.ndarray | None = None) -> None:
        self.history.add(heard, played)

    @property
    def heard(self) -> list[np.ndarray]:
        """The performer's last `bars` bars with notes, oldest first."""
        return self.history.heard_bars(self.bars)

    @property
    def played(self) -> list[np.ndarray]:
        """srlive's last `bars` bars played, oldest first."""
        return self.history.played_bars(self.bars)

    def set_threshold(self, threshold: float) -> None:
        if threshold != self.threshold:
            self.threshold = threshold
            self._cache.clear()

    def _cached(self, name, compute):
        if self._version != self.history.version:
            self._cache.clear()
            self._version = self.history.version
        if name not in self._cache:
            self._cache[name] = compute()
        return self._cache[name]

    def _facts(self) -> BarFacts | None:
        bars = list(self.heard) + list(self.played)
        return bar_facts(np.stack(bars), self.threshold) if bars else None

    def targets(self) -> tuple[float, float, float] | None:
        """(notes, sounding share, mean note length) the answer should come near: the performer's
        recent non-empty bars, else srlive's own; None when both are silent."""
        return self._cached("targets", self._targets)

    def _targets(self):
        for bars in (self.heard, self.played):
            if bars:
                f = bar_facts(np.stack(list(bars)), self.threshold)
                voiced = f.notes > 0
                if voiced.any():
                    return (float(f.notes[voiced].mean()), float(f.sounding[voiced].mean()),
                            float(f.mean_length[voiced].mean()))
        return None

    def figure_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """Boolean lookup tables: tone pairs and interval-rhythm figures seen in the context."""
        return self._cached("figures", self._figure_tables)

    def _figure_tables(self):
        pairs = np.zeros(N_PITCHES * N_PITCHES, bool)
        shapes = np.zeros(_INTERVALS * (_GAP_MAX + 1), bool)
        f = self._facts()
        if f is not None:
            _, pair, shape = _figures(f)
            pairs[pair] = True
            shapes[shape] = True
        return pairs, shapes


# --- the terms -------------------------------------------------------------------------------------
def motif_term(cand: BarFacts, context: Context) -> np.ndarray:
    """Per candidate: its figures found in the context, plus those it repeats within itself."""
    pairs, shapes = context.figure_tables()
    owner, pair, shape = _figures(cand)
    found = pairs[pair].astype(np.float64) + shapes[shape]
    score = np.bincount(owner, weights=found, minlength=cand.n)
    # repeats within the candidate: its figures minus its distinct figures
    total = np.bincount(owner, minlength=cand.n)
    for key, size in ((pair, N_PITCHES * N_PITCHES), (shape, _INTERVALS * (_GAP_MAX + 1))):
        distinct = np.bincount(np.unique(owner * size + key) // size, minlength=cand.n)
        score += total - distinct
    return score


def density_term(cand: BarFacts, targets) -> np.ndarray:
    if targets is None:
        return np.zeros(cand.n)
    notes, sounding, _ = targets
    return -(np.abs(cand.notes - notes) / max(notes, 1.0) + np.abs(cand.sounding - sounding))


def length_term(cand: BarFacts, targets) -> np.ndarray:
    if targets is None:
        return np.zeros(cand.n)
    length = targets[2]
    return -np.abs(cand.mean_length - length) / max(length, 1.0)


def copy_term(cand: BarFacts, heard: np.ndarray | None, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """Penalty 0 .. 1: 0 while the candidate shares at most half its cells with the bar heard
    (Jaccard), growing to 1 for an exact copy."""
    if heard is None:
        return np.zeros(cand.n)
    h = np.asarray(heard).reshape(N_PITCHES, -1) >= threshold
    if not h.any():
        return np.zeros(cand.n)
    both = (cand.on & h).sum(axis=(1, 2))
    either = (cand.on | h).sum(axis=(1, 2))
    jaccard = both / np.maximum(either, 1)
    return np.clip((jaccard - COPY_FROM) / (1 - COPY_FROM), 0.0, 1.0)


def _standard(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    spread = x.std()
    return (x - x.mean()) / spread if spread > 1e-9 else np.zeros_like(x)


@dataclass
class Choice:
    index: int  # the candidate to play
    scores: np.ndarray  # [N] combined score
    terms: dict  # term name -> [N] raw values (before standardising)


def choose(candidates: np.ndarray, context: Context, weights: Weights, critic_logits: np.ndarray | None = None,
           source: np.ndarray | None = None, threshold: float = DEFAULT_THRESHOLD) -> Choice:
    """Score every candidate and pick the best (the first of equals). `critic_logits` [N] or
    [N, 1]; None (no critic.onnx) leaves the critic term out. `source` is the bar the answers
    answer (the bar heard): the copy penalty compares with it."""
    cand = bar_facts(candidates, threshold)
    n = cand.n
    targets = context.targets()
    raw = {
        "critic": np.zeros(n) if critic_logits is None else np.asarray(critic_logits, np.float64).reshape(n),
        "motif": motif_term(cand, context),
        "density": density_term(cand, targets),
        "length": length_term(cand, targets),
        "copy": copy_term(cand, source, threshold),
    }
    scores = np.zeros(n)
    for name in ("critic", "motif", "density", "length"):
        w = getattr(weights, name)
        if w:
            scores += w * _standard(raw[name])
    # the copy penalty in units of the other terms' whole range: with a weight of 1 or more an exact
    # copy scores below every candidate that is not one, whatever the other terms say
    scores -= weights.copy * raw["copy"] * _whole_range(scores)
    if targets is not None:
        # while the music goes on, a silent candidate scores below every one with a note: srlive
        # does not drop a bar of silence into a phrase when it has drawn a bar to play
        scores -= (cand.notes == 0) * _whole_range(scores)
    return Choice(int(np.argmax(scores)), scores, raw)


def _whole_range(scores: np.ndarray) -> float:
    """More than the scores' whole range: a penalty of this many units puts a candidate below all others."""
    return float(scores.max() - scores.min()) + 1.0
