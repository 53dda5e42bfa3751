"""srlive.selection: the candidate the score says is the one chosen; each term does what it says."""

import numpy as np
import pytest

from srlive.roll import notes_to_roll
from srlive.model.selection import (
    BadWeights,
    Context,
    Weights,
    bar_facts,
    choose,
    copy_term,
    motif_term,
    parse_weights,
)

ONLY = {name: 0.0 for name in ("critic", "motif", "density", "length", "copy")}


def bar(*notes):
    """notes as (pitch, start, end)"""
    return notes_to_roll([(p, s, e, 100) for p, s, e in notes])


RISING = bar((60, 0, 4), (62, 4, 8), (64, 8, 12), (65, 12, 16))
RISING_UP_A_FIFTH = bar((67, 0, 4), (69, 4, 8), (71, 8, 12), (72, 12, 16))
LEAPS = bar((60, 0, 4), (72, 4, 8), (55, 8, 12), (79, 12, 16))
DENSE = bar(*[(60 + (k % 5), k, k + 1) for k in range(16)])


def test_one_candidate_is_always_played():
    ctx = Context()
    ctx.add(heard=RISING)
    assert choose(np.stack([LEAPS]), ctx, Weights(), critic_logits=np.array([-50.0]), source=LEAPS).index == 0


def test_the_critic_alone_picks_the_highest_logit():
    ctx = Context()
    choice = choose(np.stack([RISING, LEAPS, DENSE]), ctx, Weights(**{**ONLY, "critic": 1.0}), np.array([0.1, 2.0, -1.0]))
    assert choice.index == 1


def test_motif_prefers_the_figures_heard_even_moved_to_another_pitch():
    ctx = Context()
    ctx.add(heard=RISING)
    w = Weights(**{**ONLY, "motif": 1.0})
    assert choose(np.stack([LEAPS, RISING_UP_A_FIFTH]), ctx, w).index == 1
    cand = bar_facts(np.stack([LEAPS, RISING_UP_A_FIFTH, RISING]))
    shared = motif_term(cand, ctx)
    assert shared[0] == 0  # no pair of tones nor interval-and-rhythm figure in common
    assert shared[1] > 0  # the same steps and rhythm, a fifth up
    assert shared[2] > shared[1]  # the same tones: pairs and figures both found


def test_motif_counts_a_figure_repeated_inside_the_answer():
    ctx = Context()
    twice = bar((60, 0, 2), (62, 2, 4), (60, 4, 6), (62, 6, 8))
    once = bar((60, 0, 2), (62, 2, 4), (65, 4, 6), (69, 6, 8))
    scores = motif_term(bar_facts(np.stack([twice, once])), ctx)
    assert scores[0] > scores[1]


def test_density_pulls_toward_the_performers_note_count():
    ctx = Context()
    for _ in range(3):
        ctx.add(heard=RISING)
    w = Weights(**{**ONLY, "density": 1.0})
    assert choose(np.stack([DENSE, RISING_UP_A_FIFTH, bar((60, 0, 1))]), ctx, w).index == 1


def test_density_follows_srlives_own_bars_when_the_performer_is_silent():
    ctx = Context()
    ctx.add(heard=np.zeros((88, 16), np.float32), played=DENSE)
    w = Weights(**{**ONLY, "density": 1.0})
    assert choose(np.stack([RISING, DENSE]), ctx, w).index == 1


def test_length_holds_short_choppy_notes_back():
    ctx = Context()
    ctx.add(heard=RISING)
    choppy = bar((60, 0, 1), (62, 4, 5), (64, 8, 9), (65, 12, 13))
    w = Weights(**{**ONLY, "length": 1.0})
    assert choose(np.stack([choppy, RISING_UP_A_FIFTH]), ctx, w).index == 1


def test_a_copy_of_the_bar_heard_loses_even_when_the_other_terms_prefer_it():
    ctx = Context()
    ctx.add(heard=RISING)
    choice = choose(np.stack([RISING, LEAPS]), ctx, Weights(), critic_logits=np.array([5.0, -5.0]), source=RISING)
    assert choice.index == 1
    assert choice.terms["copy"][0] == 1.0 and choice.terms["copy"][1] == 0.0


def test_a_silent_candidate_loses_while_the_music_goes_on_even_when_the_terms_prefer_it():
    silent = np.zeros_like(LEAPS)
    ctx = Context()
    ctx.add(heard=RISING)
    choice = choose(np.stack([silent, LEAPS]), ctx, Weights(), critic_logits=np.array([50.0, -50.0]))
    assert choice.index == 1
    # with nothing heard or played yet, silence is an answer like any other
    assert choose(np.stack([silent, LEAPS]), Context(), Weights(), critic_logits=np.array([50.0, -50.0])).index == 0
    # and when every candidate is silent, the first is played
    assert choose(np.stack([silent, silent]), ctx, Weights()).index == 0


def test_copy_penalty_starts_above_half_the_cells():
    heard = RISING
    half = bar((60, 0, 4), (62, 4, 8), (50, 8, 12), (52, 12, 16))  # 8 of 16 cells shared: Jaccard 1/3
    penalty = copy_term(bar_facts(np.stack([half, RISING])), heard)
    assert penalty[0] == 0.0 and penalty[1] == 1.0


def test_silence_everywhere_scores_without_errors():
    ctx = Context()
    silent = np.zeros((3, 88, 16), np.float32)
    choice = choose(silent, ctx, Weights(), critic_logits=np.zeros(3))
    assert choice.index == 0 and np.all(np.isfinite(choice.scores))


@pytest.mark.parametrize("text,wanted", [
    ("critic=2", Weights(critic=2.0)),
    ("motif=0, copy=10", Weights(motif=0.0, copy=10.0)),
    ("", Weights()),
])
def test_weights_from_the_command_line(text, wanted):
    assert parse_weights(text) == wanted


def test_weights_from_metadata_are_a_dict_on_top_of_the_defaults():
    assert parse_weights({"motif": 3}) == Weights(motif=3.0)
    assert parse_weights("critic=0", base=Weights(motif=3.0)) == Weights(motif=3.0, critic=0.0)


@pytest.mark.parametrize("bad,says", [
    ("critic", "NAME=NUMBER"),
    ("groove=1", "unknown weight 'groove'"),
    ("critic=-1", "must be a number >= 0"),
    ("critic=nan", "must be a number >= 0"),
    ("motif=lots", "must be a number >= 0"),
    ({"critic": True}, "must be a number >= 0"),
    (7, "expected NAME=NUMBER"),
])
def test_bad_weights_are_one_line(bad, says):
    with pytest.raises(BadWeights) as err:
        parse_weights(bad, where="--selection")
    assert says in str(err.value) and "\n" not in str(err.value) and str(err.value).startswith("--selection")
