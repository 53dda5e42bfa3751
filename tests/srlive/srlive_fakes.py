"""Fakes shared by the srlive tests: a model, a clock, ports."""

from __future__ import annotations

import numpy as np

from srlive import roll


class FakeRuntime:
    """step(): the input bar moved up a fifth, or (empty input) a C major arpeggio. Deterministic."""

    latent = roll.LATENT
    provider = "FakeProvider"

    def __init__(self, raise_on=(), slow_on=(), clock=None, slow_by=10.0, steps=roll.STEPS):
        self.steps = steps  # the bar length it takes, in sixteenths (16: 4/4; 12: 3/4 and 6/8)
        self.calls = 0
        self.inputs = []
        self.raise_on = set(raise_on)
        self.slow_on = set(slow_on)
        self.clock = clock
        self.slow_by = slow_by

    def warmup(self):
        pass

    def step(self, bar, noise, temperature):
        self.calls += 1
        self.inputs.append(np.array(bar))
        assert bar.shape == (roll.N_PITCHES, self.steps) and noise.shape == (roll.LATENT,)
        if self.calls in self.raise_on:
            raise RuntimeError("boom")
        if self.calls in self.slow_on:
            self.clock.t += self.slow_by
        if bar.max() < 0.5:
            out = roll.empty_roll(self.steps)
            for k, p in enumerate((60, 64, 67, 72)[:self.steps // 4]):
                out[p - roll.LOWEST_PITCH, 4 * k:4 * k + 2] = 0.8
            return out
        return roll.transpose_roll(bar, 7)


class FakeClock:
    def __init__(self, t=0.0):
        self.t = t

    def now(self):
        return self.t

    def sleep(self, dt):
        self.t += max(dt, 1e-5)


class FakeOutput:
    def __init__(self, name="fake out"):
        self.name = name
        self.sent = []
        self.closed = False

    def send(self, msg):
        self.sent.append(msg)

    def close(self):
        self.closed = True


class FakeInput:
    def __init__(self, name="fake in"):
        self.name = name
        self.callback = None
        self.closed = False

    def set_callback(self, fn):
        self.callback = fn

    def close(self):
        self.closed = True


def bar_roll(*notes):
    """A roll from (pitch, start, end[, velocity]) tuples."""
    return roll.notes_to_roll([roll.Note(n[0], n[1], n[2], n[3] if len(n) > 3 else 100) for n in notes])
