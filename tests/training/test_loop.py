"""The training run (training/loop.py) on a tiny synthetic corpus, CPU only: learning, seeds,
resuming, fine-tuning, the log and its pictures."""

import csv
import math

import numpy as np
import torch

from run_helpers import corpus, one_thread, params, small  # noqa: F401 - one_thread is an autouse fixture
from srlive_training.checkpoint import load_checkpoint
from srlive_training.config import get_config
from srlive_training.loop import run_training
from srlive_training.model import VAEGAN, Discriminator
from srlive_training.run_log import LOG_COLUMNS
from srlive_training.settings import TRAIN_PRESETS


def test_every_network_learns_and_the_encoder_is_in_the_optimiser():
    torch.manual_seed(0)
    init = params(VAEGAN(get_config("live")))
    res = run_training(corpus(), small(seed=0), None, steps=3, progress=False)
    after = params(res.model)
    for net in ("encoder", "generator", "discriminator"):
        keys = [k for k in after if k.startswith(net + ".")]
        assert keys
        # every weight tensor of every network moved (the authors' E never did)
        assert all(not torch.equal(init[k], after[k]) for k in keys), net


def test_same_seed_same_result_other_seed_other_result():
    c = corpus()
    a = params(run_training(c, small(seed=3), None, steps=4, progress=False).model)
    b = params(run_training(c, small(seed=3), None, steps=4, progress=False).model)
    d = params(run_training(c, small(seed=4), None, steps=4, progress=False).model)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], d[k]) for k in a)


def test_resume_continues_exactly(tmp_path):
    c = corpus()
    tc = small(seed=5)
    whole = run_training(c, tc, tmp_path / "whole", steps=8, progress=False)
    run_training(c, tc, tmp_path / "split", steps=4, progress=False)
    resumed = run_training(c, tc, tmp_path / "split", steps=8, resume=True, progress=False)
    assert resumed.step == whole.step == 8
    a, b = params(whole.model), params(resumed.model)
    assert all(torch.equal(a[k], b[k]) for k in a)
    # the log continues: one header, steps in order
    with open(tmp_path / "split" / "train_log.csv") as f:
        steps = [int(r["step"]) for r in csv.DictReader(f)]
    assert steps == sorted(steps) and steps[-1] == 8


def test_training_on_own_answers_runs_and_is_off_in_the_paper_config():
    assert TRAIN_PRESETS["paper"].own_prev_share == 0.0
    res = run_training(corpus(), small(own_prev_share=0.5, seed=2), None, steps=3, progress=False)
    assert res.step == 3 and all(np.isfinite(list(res.last.values())))


def test_resume_with_the_pair_critic_continues_exactly(tmp_path):
    c = corpus()
    tc = small(seed=6, pair_weight=1.0)
    whole = run_training(c, tc, tmp_path / "whole", steps=6, progress=False)
    run_training(c, tc, tmp_path / "split", steps=3, progress=False)
    resumed = run_training(c, tc, tmp_path / "split", steps=6, resume=True, progress=False)
    a, b = params(whole.model), params(resumed.model)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert all(math.isfinite(v) for v in resumed.last.values())


def test_init_from_fine_tunes_with_new_settings_from_the_checkpoints_weights_moments_and_step(tmp_path):
    c = corpus()
    first = run_training(c, small(seed=3), tmp_path / "first", steps=4, progress=False)
    start = params(first.model)
    # zero further steps: the fine-tuning run starts exactly where the checkpoint is
    held = run_training(c, small(seed=9, lr_g=1e-3), tmp_path / "held", steps=4, progress=False,
                          init_from=tmp_path / "first" / "last.pt")
    assert held.step == 4 and all(torch.equal(start[k], params(held.model)[k]) for k in start)
    tc = small(seed=9, lr_g=1e-3, encoder_adv_grad=False, register_weight=2.0)
    tuned = run_training(c, tc, tmp_path / "tuned", steps=6, progress=False,
                           init_from=tmp_path / "first" / "last.pt")
    assert tuned.step == 6  # 2 more steps: the step count goes on from the checkpoint's
    moved = params(tuned.model)
    assert any(not torch.equal(start[k], moved[k]) for k in start)
    _, ckpt = load_checkpoint(tmp_path / "tuned" / "last.pt")
    assert ckpt["train_config"]["register_weight"] == 2.0 and ckpt["train_config"]["encoder_adv_grad"] is False
    assert ckpt["init_from"]["step"] == 4 and ckpt["init_from"]["path"].endswith("last.pt")
    base = load_checkpoint(tmp_path / "first" / "last.pt")[1]["train_seconds"]
    assert ckpt["train_seconds"] > base > 0  # the model's whole training time: bars/s counts both runs
    assert [g["lr"] for g in ckpt["optimizers"]["opt_eg"]["param_groups"]] == [tc.lr_e, 1e-3]  # this run's rates
    assert ckpt["optimizers"]["opt_eg"]["state"]  # Adam's moments came along
    with open(tmp_path / "tuned" / "train_log.csv") as f:
        logged = [int(r["step"]) for r in csv.DictReader(f)]
    assert logged and min(logged) == 6  # a fresh log: nothing of the first run's steps 1-4
    # a resumed fine-tuning run keeps saying where it started
    run_training(c, tc, tmp_path / "tuned", steps=8, progress=False, resume=True)
    assert load_checkpoint(tmp_path / "tuned" / "last.pt")[1]["init_from"]["step"] == 4


def test_pictures_are_written(tmp_path):
    from srlive_training.plots import loss_curves_png, piano_roll_png, read_log

    log = tmp_path / "log.csv"
    with open(log, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(LOG_COLUMNS)
        for step in (1, 2, 3):
            row = {"step": step, "loss_d": 1.0 / step, "loss_feat": 2.0, "val_key_fit": 0.9 if step == 3 else None}
            w.writerow(["" if row.get(c) is None else row[c] for c in LOG_COLUMNS])
    cols = read_log(log)
    assert list(cols["step"]) == [1, 2, 3] and np.isnan(cols["val_key_fit"][0])
    png = loss_curves_png(log, tmp_path / "curves.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
    rolls = corpus().rolls(np.arange(4))
    out = piano_roll_png(rolls, tmp_path / "sub" / "roll.png", title="four bars")
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_a_one_bar_checkpoint_fine_tunes_into_a_two_bar_model_that_starts_deaf_to_the_second_bar(tmp_path):
    """--set context=2 --init-from a context-1 checkpoint: E's weights for the bar before are zero, so
    the widened model answers exactly as the one-bar model did; training then moves them."""
    c = corpus()
    first = run_training(c, small(seed=3), tmp_path / "first", steps=2, progress=False)
    held = run_training(c, small(seed=3, context=2), tmp_path / "held", steps=2, progress=False,
                        init_from=tmp_path / "first" / "last.pt")
    assert held.model.config.context == 2
    bars = torch.from_numpy(c.rolls(np.arange(6))[:, None])
    before = torch.from_numpy(c.rolls(np.arange(6, 12))[:, None])
    noise = torch.randn(6, 128, generator=torch.Generator().manual_seed(0))
    one = first.model.step(bars, noise, 1.0)
    two = held.model.step(torch.cat([bars, before], 1), noise, 1.0)
    assert torch.equal(one, two)
    tuned = run_training(c, small(seed=3, context=2), tmp_path / "tuned", steps=4, progress=False,
                         init_from=tmp_path / "first" / "last.pt")
    assert tuned.step == 4 and tuned.model.encoder.convs[0].weight[:, 1].abs().sum() > 0
    _, ckpt = load_checkpoint(tmp_path / "tuned" / "last.pt")
    assert ckpt["config"]["context"] == 2 and ckpt["train_config"]["context"] == 2
    # and resumes as a two-bar model
    again = run_training(c, small(seed=3), tmp_path / "tuned", steps=5, progress=False, resume=True)
    assert again.model.config.context == 2 and again.step == 5


def test_a_checkpoint_of_cells_fine_tunes_into_one_pitch_a_step_from_where_it_hesitated(tmp_path):
    """--preset live-step-pitch --init-from a `live-steps` checkpoint: G's pitch logits are the old
    cells' log-odds and the rest's logit 0, so each step commits to the pitch the old model held
    strongest there and sounds with chance S / (1 + S), S the odds of its cells added up."""
    c = corpus()
    run_training(c, small(seed=3, config="live-steps"), tmp_path / "cells", steps=2, progress=False)
    _, ckpt = load_checkpoint(tmp_path / "cells" / "last.pt")
    held = run_training(c, small(seed=3, config="live-step-pitch", val_every=2), tmp_path / "held", steps=2,
                        progress=False, init_from=tmp_path / "cells" / "last.pt")
    assert (tmp_path / "held" / "last.pt").exists()  # no step taken, on a validation step: its start written
    cells_model = VAEGAN(get_config("live-steps"))
    cells_model.load_state_dict(ckpt["model"])
    z = torch.randn(6, 128, generator=torch.Generator().manual_seed(0)) * 3
    with torch.no_grad():
        cells = cells_model.generator(z).double()
        step = held.model.eval().generator(z).double()
    odds = (cells / (1 - cells)).sum(2)
    torch.testing.assert_close(step.amax(2), odds / (1 + odds), rtol=1e-4, atol=1e-5)
    assert torch.equal(step.argmax(2), cells.argmax(2))
    assert int((step > 0).sum(2).max()) == 1
    tuned = run_training(c, small(seed=3, config="live-step-pitch"), tmp_path / "tuned", steps=4,
                         progress=False, init_from=tmp_path / "cells" / "last.pt")
    assert tuned.step == 4 and tuned.model.config.gen_output == "step"
    assert load_checkpoint(tmp_path / "tuned" / "last.pt")[1]["optimizers"]["opt_eg"]["state"]


