"""The bars that went by, heard and played, in one place (pure, numpy only).

Once a bar, the engine adds what the performer played in it (None: silent) and what srlive played
in it (its answer as it sounds, ``roll.as_heard``; None: srlive played nothing), newest last. The
answerer (what the model hears: the bar before, the bars k back, the performer's memory), the
selection's context (motif and density) and the key follower read it; nobody else keeps bars.

It sits beside srlive.roll at the top of the package because the live engine writes it and the
model's side (srlive.model) reads it, and the evaluation's runners use it the same way.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

import numpy as np

from srlive.contract import HISTORY_MAX, MEMORY_MAX, N_PITCHES

#: bars kept, newest last: enough for a model that hears up to HISTORY_MAX bars back from the bar it
#: answers, when that bar is itself the newest
BARS_KEPT = HISTORY_MAX + 1
#: the performer's (and srlive's) last bars with notes, kept however long a silence between them
PLAYED_KEPT = max(MEMORY_MAX, BARS_KEPT)


class Bar(NamedTuple):
    """One bar that went by: what the performer played (None: silent) and what srlive played
    (None: nothing), each [88, steps] float32."""

    heard: np.ndarray | None
    played: np.ndarray | None

    @property
    def sounded(self) -> np.ndarray | None:
        """What a listener took from the bar: the performer's when they played, else srlive's."""
        return self.heard if self.heard is not None else self.played


def _bar(x) -> np.ndarray | None:
    return None if x is None else np.asarray(x, np.float32).reshape(N_PITCHES, -1)


class BarHistory:
    """The bars heard and played, newest last; see the module's docstring."""

    def __init__(self, kept: int = BARS_KEPT, played_kept: int = PLAYED_KEPT):
        self._bars: deque[Bar] = deque(maxlen=kept)
        self._heard: deque[np.ndarray] = deque(maxlen=played_kept)
        self._played: deque[np.ndarray] = deque(maxlen=played_kept)
        self.version = 0  # bumps with every bar added, so readers can cache what they derive

    def add(self, heard: np.ndarray | None = None, played: np.ndarray | None = None) -> None:
        """One bar went by: the performer's bar (None when silent) and srlive's (None: nothing)."""
        bar = Bar(_bar(heard), _bar(played))
        self._bars.append(bar)
        if bar.heard is not None:
            self._heard.append(bar.heard)
        if bar.played is not None:
            self._played.append(bar.played)
        self.version += 1

    def __len__(self) -> int:
        """Bars that went by, up to the number kept."""
        return len(self._bars)

    def back(self, k: int) -> Bar | None:
        """The bar ``k`` back (1: the newest); None when it did not happen (or is no longer kept)."""
        if not 1 <= k <= len(self._bars):
            return None
        return self._bars[-k]

    def sounded(self, k: int) -> np.ndarray | None:
        """What sounded ``k`` bars back (``Bar.sounded``); None for silence or a bar not there."""
        bar = self.back(k)
        return None if bar is None else bar.sounded

    def heard_bars(self, n: int) -> list[np.ndarray]:
        """The performer's last ``n`` bars that were not silent, oldest first."""
        return list(self._heard)[-n:] if n > 0 else []

    def played_bars(self, n: int) -> list[np.ndarray]:
        """srlive's last ``n`` bars played, oldest first."""
        return list(self._played)[-n:] if n > 0 else []
