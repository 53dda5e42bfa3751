"""The answer path srlive plays, shared by the live engine and the evaluation's runners, so that
what is measured is what srlive plays.

One bar's answer: draw N noises, run the model step on the bar heard N times in ONE batched call,
let the critic judge the N candidates (when the model has one and its weight is not 0), choose
with `srlive.selection`, and remember the bar heard and the answer as it sounds
(`roll.as_heard`) for the next bar's choice.

The model is anything with ``step_batch(bars [N,88,16], noise [N,L], temperature) -> [N,88,16]``
and, optionally, ``critic(bars [N,88,16]) -> [N]`` (srlive.runtime.Runtime, or training's torch
runner); the numpy Generator passed in is the only randomness, so a seed fixes the answers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from srlive.contract import DEFAULT_THRESHOLD, LATENT, N_PITCHES, STEPS
from srlive.roll import as_heard
from srlive.selection import Choice, Context, Weights, choose

DEFAULT_CANDIDATES = 1
MAX_CANDIDATES = 256


def draw_noise(rng: np.random.Generator, n: int, latent: int = LATENT) -> np.ndarray:
    """[n, latent] float32 prior noise. For n = 1 exactly the draw srlive has always made per bar
    (``rng.standard_normal(latent)`` as float32), so one candidate reproduces earlier answers."""
    return rng.standard_normal((n, latent)).astype(np.float32)


@dataclass
class Answer:
    roll: np.ndarray  # [88, 16] the chosen answer, raw model output in [0, 1]
    heard: np.ndarray  # [88, 16] the same as it sounds (what srlive goes on from)
    choice: Choice | None  # the scores, when there was more than one candidate


class Answerer:
    """Answers bars one at a time, remembering the last bars heard and played for selection."""

    def __init__(self, model, candidates: int = DEFAULT_CANDIDATES, weights: Weights | None = None,
                 threshold: float = DEFAULT_THRESHOLD, latent: int = LATENT):
        self.model = model
        self.candidates = int(candidates)
        self.weights = weights or Weights()
        self.threshold = float(threshold)
        self.latent = int(latent)
        self.context = Context(threshold=self.threshold)

    @property
    def has_critic(self) -> bool:
        return callable(getattr(self.model, "critic", None))

    def hear(self, heard: np.ndarray | None = None, played: np.ndarray | None = None) -> None:
        """A bar went by: what the performer played (None when silent) and what srlive played."""
        if heard is not None or played is not None:
            self.context.add(heard, played)

    def answer(self, source: np.ndarray, rng: np.random.Generator, temperature: float,
               candidates: int | None = None, weights: Weights | None = None, threshold: float | None = None) -> Answer:
        """The answer to bar `source` [88, 16] (the bar heard, or srlive's own last as heard).
        `candidates`, `weights`, `threshold` override the answerer's own for this bar (live
        controls change them between bars)."""
        n = max(1, min(int(self.candidates if candidates is None else candidates), MAX_CANDIDATES))
        weights = weights or self.weights
        threshold = self.threshold if threshold is None else float(threshold)
        src = np.asarray(source, np.float32).reshape(N_PITCHES, STEPS)
        noise = draw_noise(rng, n, self.latent)
        bars = np.broadcast_to(src, (n, N_PITCHES, STEPS))
        out = np.asarray(self.model.step_batch(bars, noise, float(temperature)), np.float32).reshape(n, N_PITCHES, STEPS)
        choice = None
        index = 0
        if n > 1:
            logits = self.model.critic(out) if weights.critic and self.has_critic else None
            self.context.set_threshold(threshold)
            choice = choose(out, self.context, weights, critic_logits=logits, source=src, threshold=threshold)
            index = choice.index
        roll = out[index]
        return Answer(roll=roll, heard=as_heard(roll, threshold), choice=choice)
