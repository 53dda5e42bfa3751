"""Which bars each mode answers, and from what (pure; docs/design.md "Modes").

At the close of bar t's capture window the engine asks its mode ``decide(t, performer, own)``:
the bar roll to feed the model to make bar t+1, or None for silence in bar t+1.
``performer`` is the quantised bar t (srlive.live.quantise.CapturedBar); ``own`` is the last bar srlive
played (None before it played any).

- accompany: answer the performer's bar t; when the performer was silent, continue from srlive's
  own last bar (the paper's "model 1"); silent until there is anything to answer.
- call-response: listen while the performer plays (the call); after a silent bar, answer with as
  many bars as the call: the first from the call's last bar, each next one from srlive's bar before
  it. Bars the performer plays during an answer start the next call, answered after the next
  silent bar.
- solo: play every bar, from the start: bar 1 from a seed (the seed file's last bar, or an empty
  bar: the generator on pure noise); then each from srlive's own last bar, except when the
  performer played: then from the performer's bar (they steer it).
"""

from __future__ import annotations

import numpy as np

from srlive import roll
from srlive.contract import MODES


class Mode:
    name = ""

    def start(self) -> np.ndarray | None:
        """The bar to make the session's first bar from (None: the first bar is silent)."""
        return None

    def decide(self, bar: int, performer, own: np.ndarray | None) -> np.ndarray | None:
        raise NotImplementedError

    @property
    def busy(self) -> bool:
        """Something asked is still to be played (file mode runs on until it is done)."""
        return False


class Accompany(Mode):
    name = "accompany"

    def decide(self, bar, performer, own):
        if not performer.silent:
            return performer.roll
        return own


class CallResponse(Mode):
    name = "call-response"

    def __init__(self, max_call: int = 16):
        self.max_call = max_call
        self.call: list[np.ndarray] = []
        self.remaining = 0

    def decide(self, bar, performer, own):
        if self.remaining > 0:
            if not performer.silent:
                self.call.append(performer.roll)
            self.remaining -= 1
            return own if own is not None else roll.empty_roll()
        if not performer.silent:
            self.call.append(performer.roll)
            del self.call[: -self.max_call]
            return None
        if not self.call:
            return None
        src = self.call[-1]
        self.remaining = len(self.call) - 1
        self.call = []
        return src

    @property
    def busy(self):
        return self.remaining > 0 or bool(self.call)


class Solo(Mode):
    name = "solo"

    def __init__(self, seed: np.ndarray | None = None):
        self.seed = seed

    def start(self):
        return self.seed if self.seed is not None else roll.empty_roll()

    def decide(self, bar, performer, own):
        if not performer.silent:
            return performer.roll
        return own if own is not None else roll.empty_roll()


def make_mode(name: str, seed: np.ndarray | None = None) -> Mode:
    if name == "accompany":
        return Accompany()
    if name == "call-response":
        return CallResponse()
    if name == "solo":
        return Solo(seed)
    raise ValueError(f"unknown mode {name!r}; choose one of {', '.join(MODES)}")
