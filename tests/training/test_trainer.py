"""One training step (training/trainer.py and its loss table, training/loss_terms.py), CPU only."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from run_helpers import corpus, iter_batches, live_trainer, one_thread, params, small  # noqa: F401 - autouse fixture
from srlive_training.config import get_config
from srlive_training.model import VAEGAN, sample_z
from srlive_training.run_log import LOG_COLUMNS
from srlive_training.settings import TRAIN_PRESETS, TrainConfig
from srlive_training.trainer import Trainer


def test_encoder_learns_with_the_exact_paper_losses_too():
    tc = small(config="paper", prior="paper", recon_weight=0.0, kl_warmup_steps=0, free_bits=0.0)
    trainer = Trainer(VAEGAN(get_config("live")), tc, torch.device("cpu"))
    e_params = {id(p) for p in trainer.model.encoder.parameters()}
    in_opt = {id(p) for g in trainer.opt_eg.param_groups for p in g["params"]}
    assert e_params <= in_opt
    before = params(trainer.model.encoder)
    prev, nxt = (torch.as_tensor(a) for a in next(iter_batches(corpus(), 8)))
    trainer.train_step(prev, nxt)
    after = params(trainer.model.encoder)
    assert all(not torch.equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize("key, over, steps", [
    ("loss_recon", dict(recon_weight=1.0, recon_pos_weight=4.0), 20),
    ("loss_density", dict(density_weight=10.0, structure_weight=0.0, instance_noise=0.0), 20),
    # from silence (G starts every cell at 0.02) the soft counts need a few more steps to move
    ("loss_struct", {}, 50),  # terms of the live preset
    ("loss_motion", dict(interval_weight=20.0, kept_cells_weight=20.0, kept_pitches_weight=20.0), 50),
])
def test_a_few_steps_on_a_fixed_batch_reduce_the_loss(key, over, steps):
    torch.manual_seed(0)
    trainer = Trainer(VAEGAN(get_config("live")), small(**over),
                        torch.device("cpu"))
    prev, nxt = (torch.as_tensor(a) for a in next(iter_batches(corpus(), 8)))
    hist = [trainer.train_step(prev, nxt) for _ in range(steps)]
    early = np.mean([h[key] for h in hist[:5]])
    late = np.mean([h[key] for h in hist[-5:]])
    assert late < 0.8 * early, (early, late)
    assert all(np.isfinite(list(h.values())).all() for h in hist)


def test_instance_noise_reaches_what_d_sees_and_only_when_asked():
    model = VAEGAN(get_config("live"))
    x = torch.zeros(64, 1, 88, 16)
    plain = Trainer(model, small(instance_noise=0.0), torch.device("cpu"))
    assert torch.equal(plain._noisy(x), x)
    noisy = Trainer(model, small(instance_noise=0.1), torch.device("cpu"))
    seen = noisy._noisy(x)
    assert float(seen.std()) == pytest.approx(0.1, rel=0.05)
    assert not torch.equal(noisy._noisy(x), seen)  # fresh noise each time


def test_the_paper_losses_alone_reduce_feature_matching():
    torch.manual_seed(0)
    tc = small(config="paper", recon_weight=0.0, kl_warmup_steps=0, pitch_class_weight=0.0, density_weight=0.0,
               structure_weight=0.0, instance_noise=0.0)
    trainer = Trainer(VAEGAN(get_config("live")), tc, torch.device("cpu"))
    prev, nxt = (torch.as_tensor(a) for a in next(iter_batches(corpus(), 8)))
    hist = [trainer.train_step(prev, nxt)["loss_feat"] for _ in range(20)]
    assert np.mean(hist[-5:]) < 0.8 * np.mean(hist[:5]), hist


def test_own_prev_swaps_in_the_models_own_answers_as_heard_and_the_bar_after():
    torch.manual_seed(0)
    trainer = Trainer(VAEGAN(get_config("live")), small(own_prev_share=0.5),
                        torch.device("cpu"))
    prev, nxt, after = (torch.rand(8, 1, 88, 16) for _ in range(3))
    has = torch.tensor([False, True, True, False, True, True, True, True])
    given = prev.clone()
    p2, n2, rows = trainer.own_prev(prev, nxt, after, has)
    assert rows.tolist() == [1, 2, 4, 5]
    swapped = [1, 2, 4, 5]  # the first round(0.5 * 8) rows that have a bar after
    kept = [0, 3, 6, 7]
    assert torch.equal(p2[kept], prev[kept]) and torch.equal(n2[kept], nxt[kept])
    assert torch.equal(n2[swapped], after[swapped])
    own = p2[swapped]
    assert not torch.equal(own, prev[swapped])
    assert bool(((own == 0) | (own >= 0.5)).all())  # as heard: nothing under the threshold
    assert torch.equal(prev, given) and not p2.requires_grad  # the caller's batch is left alone


def test_own_answers_with_context_two_hear_the_real_bar_answered_as_the_bar_before():
    """As the live engine hears a solo: the model's own bar, then, before it, the bar it answered."""
    torch.manual_seed(0)
    cfg = dataclasses.replace(get_config("live"), context=2)
    trainer = Trainer(VAEGAN(cfg), small(own_prev_share=0.5, context=2), torch.device("cpu"))
    prev = torch.rand(8, 2, 88, 16)
    nxt, after = torch.rand(8, 1, 88, 16), torch.rand(8, 1, 88, 16)
    has = torch.ones(8, dtype=torch.bool)
    p2, n2, rows = trainer.own_prev(prev, nxt, after, has)
    assert rows.tolist() == [0, 1, 2, 3] and p2.shape == prev.shape
    assert torch.equal(p2[rows, 1], prev[rows, 0])  # the bar answered is now the bar before
    own = p2[rows, 0]
    assert bool(((own == 0) | (own >= 0.5)).all()) and not torch.equal(own, prev[rows, 0])
    assert torch.equal(p2[4:], prev[4:]) and torch.equal(n2[rows], after[rows])
    out = trainer.train_step(prev, nxt, after, has)  # the whole step runs on two bars heard
    assert all(math.isfinite(v) for v in out.values())


def test_own_answers_with_memory_keep_the_performers_memory_and_some_rows_hear_none():
    """With memory, the second bar stays the performer's while the model answers itself, all the
    way along a chain; a share of rows hears silence there (srlive answering before anyone played)."""
    torch.manual_seed(0)
    cfg = dataclasses.replace(get_config("live"), context=2, memory=4)
    trainer = Trainer(VAEGAN(cfg), small(own_prev_share=1.0, own_prev_steps=3, context=2, memory=4),
                      torch.device("cpu"))
    n = 32
    prev = torch.rand(n, 2, 88, 16) * 0.9 + 0.1
    nxt, after = torch.rand(n, 1, 88, 16), torch.rand(n, 3, 88, 16)
    p2, _, rows = trainer.own_prev(prev, nxt, after, torch.ones(n, 3, dtype=torch.bool))
    assert rows.tolist() == list(range(n))
    assert torch.equal(p2[:, 1], prev[:, 1]) and not torch.equal(p2[:, 0], prev[:, 0])
    trainer.tc.memory_silent_share = 0.5
    quiet = trainer.silence_memory(prev)
    dropped = quiet[:, 1].flatten(1).amax(1) == 0
    assert 0 < int(dropped.sum()) < n
    assert torch.equal(quiet[~dropped], prev[~dropped]) and torch.equal(quiet[:, 0], prev[:, 0])
    out = trainer.train_step(prev, nxt, after, torch.ones(n, 3, dtype=torch.bool))
    assert all(math.isfinite(v) for v in out.values())


def test_own_answer_chains_answer_their_own_answers_and_aim_at_the_real_bar_as_far_on():
    """own_prev_steps = K: a row's chain is 1..K of the model's own answers (no longer than the tune
    leaves room for), and its target the real bar that many bars after the next."""
    torch.manual_seed(0)
    cfg = dataclasses.replace(get_config("live"), context=2)
    trainer = Trainer(VAEGAN(cfg), small(own_prev_share=1.0, own_prev_steps=3, context=2), torch.device("cpu"))
    n = 64
    prev = torch.rand(n, 2, 88, 16)
    nxt = torch.rand(n, 1, 88, 16)
    after = torch.stack([torch.full((88, 16), float(k + 1)) for k in range(3)])[None].repeat(n, 1, 1, 1)
    has = torch.ones(n, 3, dtype=torch.bool)
    has[:8, 1:] = False  # these tunes end one bar after next: chains of one answer only
    p2, n2, rows = trainer.own_prev(prev, nxt, after, has)
    assert rows.tolist() == list(range(n))
    aimed = n2[:, 0, 0, 0].long()  # k + 1: the chain's length
    assert set(aimed[:8].tolist()) == {1} and set(aimed[8:].tolist()) == {1, 2, 3}
    one = aimed == 1
    assert torch.equal(p2[one, 1], prev[one, 0])  # one answer: the bar it answered is the bar before it
    longer = ~one
    assert not torch.equal(p2[longer, 1], prev[longer, 0])  # longer: the bar before is its own answer too
    assert bool(((p2[longer] == 0) | (p2[longer] >= 0.5)).all())


def test_pair_critic_is_off_by_default_and_in_the_paper_config():
    assert TRAIN_PRESETS["paper"].pair_weight == 0.0 and TrainConfig().pair_weight == 0.0
    assert live_trainer().pair_critic is None
    assert "pair_weight=1.0 (paper: 0.0)" in small(pair_weight=1.0).deviations()


def test_pair_critic_learns_to_tell_a_copy_of_the_bar_heard_from_the_real_next_bar():
    """What D cannot see (a copy of a real bar is a real bar), P learns: trained on real consecutive
    pairs against (bar, the same bar), it scores copies lower than real pairs it has not seen."""
    c = corpus()
    i = c.pairs("train")
    prev, nxt = torch.as_tensor(c.rolls(i)[:, None]), torch.as_tensor(c.rolls(i + 1)[:, None])
    moved = (prev != nxt).flatten(1).any(1)  # pairs whose next bar differs from the one before
    prev, nxt = prev[moved], nxt[moved]
    train, held = slice(0, 32), slice(32, None)
    trainer = live_trainer(pair_weight=1.0, seed=1, pair_lr=2e-3)  # a faster critic than training's, for a short test
    for _ in range(70):
        trainer._pair_update(prev[train], nxt[train], prev[train], prev[train])
    with torch.no_grad():
        real = torch.sigmoid(trainer.pair_critic(torch.cat([prev[held], nxt[held]], 1))[0]).mean()
        copy = torch.sigmoid(trainer.pair_critic(torch.cat([prev[held], prev[held]], 1))[0]).mean()
    assert float(real) - float(copy) > 0.3 and float(copy) < 0.4, (float(real), float(copy))


def test_pair_critic_trains_on_real_pairs_and_its_term_reaches_the_generator():
    trainer = live_trainer(pair_weight=1.0, own_prev_share=0.5, seed=2)
    seen = []
    update = trainer._pair_update
    trainer._pair_update = lambda *a: (seen.append([t.clone() for t in a]), update(*a))[1]
    critic0 = {k: v.clone() for k, v in trainer.pair_critic.state_dict().items()}
    prev, nxt, after = (torch.rand(8, 1, 88, 16) for _ in range(3))
    has = torch.ones(8, dtype=torch.bool)
    out = trainer.train_step(prev, nxt, after, has)
    (p_real, n_real, p_heard, answers), = seen
    assert torch.equal(p_real, prev) and torch.equal(n_real, nxt)  # the real pairs, not the swapped rows
    # fake pairs only where E heard a real bar (rows 4..7; rows 0..3 heard the model's own answers)
    assert torch.equal(p_heard, prev[4:]) and answers.shape == (4, 1, 88, 16)
    assert all(not torch.equal(critic0[k], v) for k, v in trainer.pair_critic.state_dict().items())
    assert math.isfinite(out["loss_pair"]) and out["loss_pair"] > 0 and 0 < out["pair_real"] < 1
    # the same step without the term leaves G elsewhere: the critic's gradient reaches G
    g_with = params(trainer.model.generator)
    plain = live_trainer(pair_weight=0.0, own_prev_share=0.5, seed=2)
    plain.train_step(prev, nxt, after, has)
    g_without = params(plain.model.generator)
    assert not all(torch.equal(g_with[k], g_without[k]) for k in g_with)


def test_mode_seeking_is_off_by_default_and_in_the_paper_config():
    assert TRAIN_PRESETS["paper"].mode_seeking_weight == 0.0 and TrainConfig().mode_seeking_weight == 0.0
    assert "mode_seeking_weight=2.0 (paper: 0.0)" in small(mode_seeking_weight=2.0).deviations()


def test_mode_seeking_term_reaches_the_generator_and_not_the_encoder():
    trainer = live_trainer(mode_seeking_weight=1.0, seed=3)
    E, G = trainer.model.encoder, trainer.model.generator
    mu, log_scale = E(torch.rand(8, 1, 88, 16))
    z = sample_z(mu, log_scale, trainer.randn(8), 1.0)
    loss = trainer.mode_seeking(mu, log_scale, z)
    loss.backward()
    assert math.isfinite(float(loss))
    assert all(p.grad is None for p in E.parameters())  # E cannot buy spread by listening less
    assert any(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in G.parameters())
    out = trainer.train_step(torch.rand(8, 1, 88, 16), torch.rand(8, 1, 88, 16))
    assert math.isfinite(out["loss_spread"]) and out["loss_spread"] > 0


def test_coverage_term_is_off_by_default_and_logged_when_on():
    assert TRAIN_PRESETS["paper"].coverage_weight == 0.0 and TRAIN_PRESETS["live"].coverage_weight == 0.0
    trainer = live_trainer(coverage_weight=10.0, seed=4)
    nxt = torch.zeros(8, 1, 88, 16)
    nxt[:, 0, 40, :4] = 90 / 127  # the real next bars sound at a quarter of their steps
    out = trainer.train_step(torch.rand(8, 1, 88, 16), nxt)
    assert math.isfinite(out["loss_coverage"]) and out["loss_coverage"] > 0
    assert "loss_coverage" in LOG_COLUMNS
    assert "coverage_weight=10.0 (paper: 0.0)" in small(coverage_weight=10.0).deviations()


def test_onset_profile_term_is_off_by_default_and_logged_when_on():
    assert TRAIN_PRESETS["paper"].onset_profile_weight == 0.0 and TRAIN_PRESETS["live"].onset_profile_weight == 0.0
    trainer = live_trainer(onset_profile_weight=10.0, init_output_density=0.3, seed=6)
    nxt = torch.zeros(8, 1, 88, 16)
    nxt[:, 0, 40, :4] = 90 / 127
    nxt[:, 0, 44, 4:8] = 90 / 127  # every real onset on a beat
    out = trainer.train_step(torch.rand(8, 1, 88, 16), nxt)
    assert math.isfinite(out["loss_onsets"]) and out["loss_onsets"] > 0
    assert "loss_onsets" in LOG_COLUMNS and "val_loss_onsets" in LOG_COLUMNS
    assert "onset_profile_weight=10.0 (paper: 0.0)" in small(onset_profile_weight=10.0).deviations()


def test_register_term_is_off_by_default_and_logged_when_on():
    assert TRAIN_PRESETS["paper"].register_weight == 0.0 and TRAIN_PRESETS["live"].register_weight == 0.0
    trainer = live_trainer(register_weight=10.0, init_output_density=0.6, seed=5)
    nxt = torch.zeros(8, 1, 88, 16)
    nxt[:, 0, 70, :8] = 90 / 127  # real next bars high up; the fresh G sounds everywhere
    out = trainer.train_step(torch.rand(8, 1, 88, 16), nxt)
    assert math.isfinite(out["loss_register"]) and out["loss_register"] > 0.1
    assert {"loss_register", "val_loss_register"} <= set(LOG_COLUMNS)
    assert "register_weight=10.0 (paper: 0.0)" in small(register_weight=10.0).deviations()


def test_figures_term_is_off_by_default_and_logged_when_on():
    assert TRAIN_PRESETS["paper"].figures_weight == 0.0 and TRAIN_PRESETS["live"].figures_weight == 0.0
    trainer = live_trainer(figures_weight=10.0, init_output_density=0.3, seed=7)
    prev, nxt = torch.zeros(8, 1, 88, 16), torch.zeros(8, 1, 88, 16)
    prev[:, 0, 40, 0:2], prev[:, 0, 42, 2:4] = 90 / 127, 90 / 127  # the figure 40-42
    for k in (4, 8, 12):  # played three times more, a beat on each
        nxt[:, 0, 40, k:k + 1], nxt[:, 0, 42, k + 2:k + 3] = 90 / 127, 90 / 127
    out = trainer.train_step(prev, nxt)
    assert math.isfinite(out["loss_figures"]) and out["loss_figures"] > 0
    assert "figures_weight=10.0 (paper: 0.0)" in small(figures_weight=10.0).deviations()


def test_every_loss_term_is_a_column_of_the_training_log():
    from srlive_training.loss_terms import TERMS
    for term in TERMS:
        assert f"loss_{term.name}" in LOG_COLUMNS
        if term.val is not None:
            assert f"val_loss_{term.name}" in LOG_COLUMNS


def test_encoder_learns_until_its_freeze_step_and_is_held_after_it_while_the_generator_learns():
    assert TrainConfig().encoder_freeze_step == 0 and TRAIN_PRESETS["live"].encoder_freeze_step == 0
    assert "encoder_freeze_step=2 (paper: 0)" in small(encoder_freeze_step=2).deviations()
    trainer = live_trainer(encoder_freeze_step=2, seed=6)
    E, G = trainer.model.encoder, trainer.model.generator
    batches = iter_batches(corpus(), 8)
    snapshots = [(params(E), params(G))]
    for _ in range(4):
        prev, nxt = (torch.as_tensor(a) for a in next(batches))
        trainer.train_step(prev, nxt)
        snapshots.append((params(E), params(G)))

    def moved(a, b):
        return any(not torch.equal(a[k], b[k]) for k in a)

    e_moved = [moved(snapshots[i][0], snapshots[i + 1][0]) for i in range(4)]
    g_moved = [moved(snapshots[i][1], snapshots[i + 1][1]) for i in range(4)]
    assert e_moved == [True, True, False, False]  # steps 0 and 1 train E; from step 2 it is held
    assert g_moved == [True, True, True, True]


def test_notes_follow_asks_answers_to_own_bars_for_the_notes_they_heard():
    assert TrainConfig().notes_follow is False and TRAIN_PRESETS["live"].notes_follow is False
    assert "notes_follow=True (paper: False)" in small(notes_follow=True, notes_weight=1.0).deviations()
    from srlive_training.loss_terms import _notes, Pass

    trainer = live_trainer(notes_weight=1.0, notes_read=True, notes_follow=True)
    prev, nxt = torch.zeros(2, 1, 88, 16), torch.zeros(2, 1, 88, 16)
    prev[1, 0, 40, 0:4], prev[1, 0, 42, 4:8], prev[1, 0, 44, 8:12] = 0.7, 0.7, 0.7  # own bar: 3 notes
    nxt[:, 0, 50, :] = 0.7  # the real bars: one long note
    answer = torch.zeros(2, 1, 88, 16)
    answer[:, 0, 60, 0:4], answer[:, 0, 62, 4:8], answer[:, 0, 64, 8:12] = 0.8, 0.8, 0.8  # 3 notes each
    o = Pass(prev, nxt, None, None, None, answer, answer, None, None, None, None, None,
             torch.tensor([True, False]))
    followed = float(_notes(trainer, o))
    trainer.tc = dataclasses.replace(trainer.tc, notes_follow=False)
    assert followed < float(_notes(trainer, o))  # the own row's 3 notes are right when followed
