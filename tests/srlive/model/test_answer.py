"""srlive.model.answer: N candidates in one batched call, the critic's and the selection's choice played,
one candidate exactly the model's own answer."""

import numpy as np
import pytest

from srlive.model.answer import Answerer, draw_noise
from srlive.model.selection import Weights
from srlive.roll import as_heard, memory_of, notes_to_roll


class KnownCandidates:
    """A model whose candidates are given: the i-th row of a batch is candidates[i]."""

    def __init__(self, candidates, logits=None):
        self.candidates = np.asarray(candidates, np.float32)
        self.logits = logits
        self.calls = []

    has_critic = True

    def candidates_for(self, bars, noise, temperature):
        self.calls.append((np.repeat(np.array(bars), len(noise), axis=0), np.array(noise), temperature))
        return self.candidates[: len(noise)]

    def critic(self, bars):
        return np.asarray(self.logits, np.float64)[: len(bars)]


def bar(*notes):
    return notes_to_roll([(p, s, e, 100) for p, s, e in notes])


HEARD = bar((60, 0, 8), (64, 8, 16))
QUIET = bar((60, 0, 1))
MELODY = bar((62, 0, 4), (64, 4, 8), (65, 8, 12), (67, 12, 16))


def test_the_candidates_come_from_one_batched_call_on_the_bar_heard():
    model = KnownCandidates([QUIET, MELODY, HEARD], logits=[0, 0, 0])
    Answerer(model, candidates=3).answer(HEARD, np.random.default_rng(0), 1.3)
    assert len(model.calls) == 1
    bars, noise, temperature = model.calls[0]
    assert bars.shape == (3, 1, 88, 16) and all(np.array_equal(b[0], HEARD) for b in bars)
    assert noise.shape == (3, 128) and temperature == 1.3
    assert np.array_equal(noise, draw_noise(np.random.default_rng(0), 3))


def test_the_critic_picks_when_it_alone_counts():
    model = KnownCandidates([QUIET, MELODY, HEARD], logits=[-1.0, 3.0, 0.0])
    only_critic = Weights(critic=1, motif=0, density=0, length=0, copy=0)
    got = Answerer(model, candidates=3, weights=only_critic).answer(HEARD, np.random.default_rng(0), 1.0)
    assert np.array_equal(got.roll, MELODY) and got.choice.index == 1
    assert np.array_equal(got.heard, as_heard(MELODY))


def test_a_copy_of_the_bar_heard_is_not_played_even_if_the_critic_loves_it():
    model = KnownCandidates([HEARD, MELODY], logits=[9.0, -9.0])
    got = Answerer(model, candidates=2).answer(HEARD, np.random.default_rng(0), 1.0)
    assert np.array_equal(got.roll, MELODY)


def test_one_candidate_is_the_models_answer_to_the_engines_own_noise_draw():
    model = KnownCandidates([MELODY], logits=[0.0])
    rng = np.random.default_rng(7)
    got = Answerer(model, candidates=1).answer(HEARD, rng, 1.0)
    assert got.choice is None and np.array_equal(got.roll, MELODY)
    legacy = np.random.default_rng(7).standard_normal(128).astype(np.float32)  # the per-bar draw srlive made
    assert np.array_equal(model.calls[0][1][0], legacy)


def test_what_was_heard_and_played_steers_the_next_choice():
    model = KnownCandidates([QUIET, MELODY], logits=[0.0, 0.0])
    a = Answerer(model, candidates=2, weights=Weights(critic=0, motif=0, density=1, length=0, copy=0))
    a.hear(heard=bar((60, 0, 1)))  # the performer plays one short note a bar
    assert np.array_equal(a.answer(HEARD, np.random.default_rng(0), 1.0).roll, QUIET)
    b = Answerer(model, candidates=2, weights=Weights(critic=0, motif=0, density=1, length=0, copy=0))
    b.hear(heard=MELODY)
    assert np.array_equal(b.answer(HEARD, np.random.default_rng(0), 1.0).roll, MELODY)


def test_a_model_without_a_critic_still_selects():
    class NoCritic:
        def candidates_for(self, bars, noise, temperature):
            return np.stack([QUIET, MELODY])[: len(noise)]

    a = Answerer(NoCritic(), candidates=2)
    assert not a.has_critic
    a.hear(heard=MELODY)
    assert np.array_equal(a.answer(HEARD, np.random.default_rng(0), 1.0).roll, MELODY)


@pytest.mark.parametrize("asked,drawn", [(0, 1), (1, 1), (5, 5), (10_000, 256)])
def test_the_number_of_candidates_is_kept_in_range(asked, drawn):
    model = KnownCandidates([MELODY] * 256, logits=[0.0] * 256)
    Answerer(model, candidates=asked).answer(HEARD, np.random.default_rng(0), 1.0)
    assert len(model.calls[0][0]) == drawn


class TwoBarModel(KnownCandidates):
    context = 2


def test_a_model_that_hears_two_bars_gets_the_bar_that_went_by_before_the_one_answered():
    model = TwoBarModel([MELODY])
    answerer = Answerer(model)
    answerer.answer(HEARD, np.random.default_rng(0), 1.0)  # nothing went by yet: silence before
    first = model.calls[-1][0]
    assert first.shape == (1, 2, 88, 16) and np.array_equal(first[0, 0], HEARD) and first[0, 1].max() == 0
    answerer.hear(heard=QUIET)
    answerer.hear(played=MELODY)  # the performer rested: srlive's bar went by
    answerer.answer(MELODY, np.random.default_rng(0), 1.0)  # answering the last bar: the one before it
    assert np.array_equal(model.calls[-1][0][0, 1], QUIET)
    answerer.hear(heard=HEARD)
    answerer.answer(QUIET, np.random.default_rng(0), 1.0)  # another bar than the last: the last is before it
    assert np.array_equal(model.calls[-1][0][0, 1], HEARD)
    answerer.hear()  # a silent bar, neither side played
    answerer.answer(HEARD, np.random.default_rng(0), 1.0)
    assert model.calls[-1][0][0, 1].max() == 0


class MemoryModel(KnownCandidates):
    context = 2
    memory = 2


def test_a_model_with_memory_hears_the_mean_of_the_performers_last_bars_while_it_answers_itself():
    model = MemoryModel([MELODY])
    answerer = Answerer(model)
    answerer.answer(HEARD, np.random.default_rng(0), 1.0)  # the performer has not played: silence
    assert model.calls[-1][0][0, 1].max() == 0
    answerer.hear(heard=QUIET)
    answerer.hear(heard=HEARD)  # the bar answered is theirs, so it is part of their memory
    answerer.answer(HEARD, np.random.default_rng(0), 1.0)
    np.testing.assert_allclose(model.calls[-1][0][0, 1], (QUIET + HEARD) / 2)
    answerer.hear(played=MELODY)  # the performer rests; srlive's own bars are not their memory
    answerer.hear()
    answerer.answer(MELODY, np.random.default_rng(0), 1.0)
    heard = model.calls[-1][0][0]
    assert np.array_equal(heard[0], MELODY)
    np.testing.assert_allclose(heard[1], (QUIET + HEARD) / 2)
    answerer.hear(heard=MELODY)  # only the last two: QUIET is forgotten
    answerer.answer(MELODY, np.random.default_rng(0), 1.0)
    np.testing.assert_allclose(model.calls[-1][0][0, 1], (HEARD + MELODY) / 2)


class RhythmMemoryModel(MemoryModel):
    memory_kind = "rhythm"


def test_a_model_with_a_rhythm_memory_hears_where_the_performers_notes_started():
    model = RhythmMemoryModel([MELODY])
    answerer = Answerer(model)
    answerer.hear(heard=QUIET)
    answerer.hear(heard=HEARD)
    answerer.answer(HEARD, np.random.default_rng(0), 1.0)
    np.testing.assert_array_equal(model.calls[-1][0][0, 1], memory_of(np.stack([QUIET, HEARD]), kind="rhythm"))
    assert not np.array_equal(model.calls[-1][0][0, 1], (QUIET + HEARD) / 2)


def test_a_model_that_hears_a_phrase_gets_the_bars_1_2_4_and_8_back():
    class Phrase:
        context, history, latent = 4, (1, 2, 4, 8), 8

    from srlive.model.answer import Answerer as _Answerer

    answerer = _Answerer(Phrase(), latent=8)
    bars = [np.zeros((88, 16), np.float32) for _ in range(10)]
    for k, bar in enumerate(bars):
        bar[30 + k, 0] = 1.0
    for bar in bars[:-1]:
        answerer.hear(heard=bar)
    heard = answerer.model_input(bars[-1])  # answering a bar not yet heard: 2 back is the newest
    assert [int(np.argmax(h[:, 0])) - 30 for h in heard] == [9, 8, 6, 2]
    answerer.hear(heard=bars[-1])
    heard = answerer.model_input(bars[-1])  # the newest is the bar answered itself
    assert [int(np.argmax(h[:, 0])) - 30 for h in heard] == [9, 8, 6, 2]
    fresh = _Answerer(Phrase(), latent=8)
    fresh.hear(heard=bars[0])
    early = fresh.model_input(bars[1])
    assert early[1, 30, 0] == 1.0 and not early[2:].any()  # before the phrase began: silence
