"""The answer path srlive plays, shared by the live engine and the evaluation's runners, so that
what is measured is what srlive plays.

One bar's answer: draw N noises, run the model step on the bar heard N times in ONE batched call,
let the critic judge the N candidates (when the model has one and its weight is not 0), choose
with `srlive.model.selection`, keep it in a key when asked (`srlive.model.keylock`), and read it as
it sounds (`roll.as_heard`): the one answer the caller plays and remembers. The bars that went by
are read from a `srlive.history.BarHistory` (the engine's, or the answerer's own, written by `hear`).

The model is anything with ``candidates_for(bars [S,C,88,16], noise [S*N,L], temperature) ->
[S*N,88,16]`` (N answers to each bar; one bar and one noise is exactly the model's single step; C is
the model's ``context``, 1 without it: the bar answered, then the bar that went by before it)
and, optionally, ``has_critic`` and ``critic(bars [N,88,16]) -> [N]`` (srlive.model.runtime.Runtime, or
training's torch runner); the numpy Generator passed in is the only randomness, so a seed fixes
the answers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from srlive.contract import DEFAULT_THRESHOLD, LATENT, MAX_CANDIDATES, N_PITCHES
from srlive.history import BarHistory
from srlive.model.keylock import lock_roll
from srlive.model.scales import Scale
from srlive.model.selection import Choice, Context, Weights, choose
from srlive.roll import as_heard, memory_of



def candidates_for(model, bars: np.ndarray, noise: np.ndarray, temperature: float) -> np.ndarray:
    """N answers to each of S bars from `model` ([S*N, 88, 16]); a model with only a single
    ``step(bar, noise, temperature)`` is run once per answer."""
    if hasattr(model, "candidates_for"):
        return model.candidates_for(bars, noise, temperature)
    c = int(getattr(model, "context", 1))
    bars = np.asarray(bars, np.float32).reshape(-1, c, N_PITCHES, np.shape(bars)[-1])
    items = bars[:, 0] if c == 1 else bars  # a one-bar model's step takes the bar [88, W] itself
    n = len(noise) // len(bars)
    return np.stack([np.asarray(model.step(items[i // n], noise[i], temperature), np.float32).reshape(N_PITCHES, -1)
                     for i in range(len(noise))])


def draw_noise(rng: np.random.Generator, n: int, latent: int = LATENT) -> np.ndarray:
    """[n, latent] float32 prior noise. For n = 1 exactly the draw srlive has always made per bar
    (``rng.standard_normal(latent)`` as float32), so one candidate reproduces earlier answers."""
    return rng.standard_normal((n, latent)).astype(np.float32)


@dataclass
class Answer:
    roll: np.ndarray  # [88, 16] the chosen answer, raw model output in [0, 1] (key-locked when asked)
    heard: np.ndarray  # [88, 16] the same as it sounds (what srlive goes on from)
    choice: Choice | None  # the scores, when there was more than one candidate


class Answerer:
    """Answers bars one at a time, reading the last bars heard and played from ``history`` (the
    engine's; by default its own, written by ``hear``)."""

    def __init__(self, model, candidates: int = 1, weights: Weights | None = None,
                 threshold: float = DEFAULT_THRESHOLD, latent: int | None = None, history: BarHistory | None = None):
        self.model = model
        self.candidates = int(candidates)
        self.weights = weights or Weights()
        self.threshold = float(threshold)
        self.latent = int(latent if latent is not None else getattr(model, "latent", LATENT))  # the noise it draws
        self.history = history if history is not None else BarHistory()
        self.context = Context(self.history, threshold=self.threshold)

    @property
    def has_critic(self) -> bool:
        return bool(getattr(self.model, "has_critic", False))

    def hear(self, heard: np.ndarray | None = None, played: np.ndarray | None = None) -> None:
        """A bar went by: what the performer played (None when silent) and what srlive played (for
        an answerer that keeps its own history: the evaluation's runners; the engine writes its own)."""
        self.history.add(heard, played)

    @property
    def bars_heard(self) -> int:
        """How many bars the model hears (srlive.context): 1, or 2 with the bar before the source."""
        return int(getattr(self.model, "context", 1))

    @property
    def offsets(self) -> tuple[int, ...]:
        """Which bars the model hears, as offsets back from the bar it answers (srlive.history: 1 the
        bar answered, 2 the bar that went by before it, ...)."""
        offsets = getattr(self.model, "history", None)
        return tuple(offsets) if offsets else ((1, 2) if self.bars_heard == 2 else (1,))

    @property
    def memory(self) -> int:
        """How many of the performer's bars the model's second bar holds (srlive.memory; 0: the bar before)."""
        return int(getattr(self.model, "memory", 0) or 0)

    def model_input(self, source: np.ndarray) -> np.ndarray:
        """What the model hears for an answer to `source` [88, W]: [context, 88, W], the bars at the
        model's offsets (`offsets`, srlive.history): the source (1), and the bars that went by before it (2: the
        one before, ... 8: seven before; silence where none did): counted back from the last bar
        given to `hear`, or from the one before that when the last is the source itself. A model with memory M
        hears instead its memory (srlive.memory_kind: the mean, or the rhythm) of the performer's
        last M bars given to `hear` (srlive.roll.memory_of; silence before they play), the bar
        answered among them when it is theirs."""
        src = np.asarray(source, np.float32).reshape(N_PITCHES, -1)
        if self.bars_heard == 1:
            return src[None]
        if self.memory:
            mine = [b for b in self.history.heard_bars(self.memory) if b.shape == src.shape]
            kind = getattr(self.model, "memory_kind", "bars")
            return np.stack([src, memory_of(np.stack(mine), kind=kind) if mine else np.zeros_like(src)])
        # the bars that went by before the source, counted from the newest, or from the one before
        # it when the newest is the source itself
        newest = self.history.sounded(1)
        first = 2 if newest is not None and newest.shape == src.shape and np.array_equal(newest, src) else 1

        def back(k: int) -> np.ndarray:
            bar = src if k == 1 else self.history.sounded(first + k - 2)
            return bar if bar is not None and bar.shape == src.shape else np.zeros_like(src)

        return np.stack([back(k) for k in self.offsets])

    def count(self, candidates: int | None = None) -> int:
        """How many candidates a bar draws: `candidates` (a live control's), else the answerer's."""
        return max(1, min(int(self.candidates if candidates is None else candidates), MAX_CANDIDATES))

    def answer(self, source: np.ndarray, rng: np.random.Generator | None, temperature: float,
               candidates: int | None = None, weights: Weights | None = None, threshold: float | None = None,
               noise: np.ndarray | None = None, scale: Scale | None = None, transpose: int = 0) -> Answer:
        """The answer to bar `source` [88, 16] (the bar heard, or srlive's own last as heard).
        `candidates`, `weights`, `threshold` override the answerer's own for this bar (live
        controls change them between bars); `noise` [N, latent], when given, is used instead of
        drawing from `rng`; `scale` (with the --transpose it sounds at) keeps the chosen answer in
        that key (srlive.model.keylock.lock_roll)."""
        src = np.asarray(source, np.float32).reshape(N_PITCHES, -1)
        if noise is None:
            noise = draw_noise(rng, self.count(candidates), self.latent)
        n = len(noise)
        out = np.asarray(candidates_for(self.model, self.model_input(src)[None], noise, float(temperature)), np.float32)
        return self.choose(src, out.reshape(n, N_PITCHES, src.shape[-1]), weights, threshold, scale, transpose)

    def rehearse(self, steps: int, temperature: float, candidates: int | None = None, weights: Weights | None = None,
                 threshold: float | None = None) -> None:
        """The answer path run on a silent bar of `steps` and thrown away: fixed noise (no generator
        drawn from), nothing remembered. It warms the model's memory just before a real answer
        (the live loop's rehearsals, docs/design.md "Time")."""
        noise = np.zeros((self.count(candidates), self.latent), np.float32)
        self.answer(np.zeros((N_PITCHES, steps), np.float32), None, temperature, weights=weights,
                    threshold=threshold, noise=noise)

    def choose(self, source: np.ndarray, candidates: np.ndarray, weights: Weights | None = None,
               threshold: float | None = None, scale: Scale | None = None, transpose: int = 0) -> Answer:
        """The answer among `candidates` [N, 88, 16] to bar `source` (the model already ran: the
        evaluation draws many bars' candidates in one call), key-locked to `scale` when given
        (before the threshold: lock_roll moves cells, as_heard then reads the notes)."""
        weights = weights or self.weights
        threshold = self.threshold if threshold is None else float(threshold)
        choice = None
        index = 0
        if len(candidates) > 1:
            # the critic judges what a listener hears: the note cells (docs/design.md)
            notes = (candidates >= threshold).astype(np.float32)
            logits = self.model.critic(notes) if weights.critic and self.has_critic else None
            self.context.set_threshold(threshold)
            choice = choose(candidates, self.context, weights, critic_logits=logits, source=source, threshold=threshold)
            index = choice.index
        roll = candidates[index]
        roll = lock_roll(roll, scale, transpose)  # the roll itself without a scale
        return Answer(roll=roll, heard=as_heard(roll, threshold), choice=choice)
