"""The training run (training/loop.py) on a tiny synthetic corpus, CPU only: learning, seeds,
resuming, fine-tuning, the log and its pictures."""

import csv

import numpy as np
import pytest
import torch

from run_helpers import corpus, one_thread, params, small  # noqa: F401 - one_thread is an autouse fixture
from srlive.errors import UserError
from srlive_training.checkpoint import load_checkpoint
from srlive_training.config import get_config
from srlive_training.loop import run_training
from srlive_training.model import VAEGAN, Discriminator
from srlive_training.run_log import LOG_COLUMNS


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


def test_init_from_fine_tunes_with_new_settings_from_the_checkpoints_weights_moments_and_step(tmp_path):
    c = corpus()
    first = run_training(c, small(seed=3), tmp_path / "first", steps=4, progress=False)
    start = params(first.model)
    # zero further steps: the fine-tuning run starts exactly where the checkpoint is
    held = run_training(c, small(seed=9, lr_g=1e-3), tmp_path / "held", steps=4, progress=False,
                          init_from=tmp_path / "first" / "last.pt")
    assert held.step == 4 and all(torch.equal(start[k], params(held.model)[k]) for k in start)
    tc = small(seed=9, lr_g=1e-3, adv_weight=2.0)
    tuned = run_training(c, tc, tmp_path / "tuned", steps=6, progress=False,
                           init_from=tmp_path / "first" / "last.pt")
    assert tuned.step == 6  # 2 more steps: the step count goes on from the checkpoint's
    moved = params(tuned.model)
    assert any(not torch.equal(start[k], moved[k]) for k in start)
    _, ckpt = load_checkpoint(tmp_path / "tuned" / "last.pt")
    assert ckpt["train_config"]["adv_weight"] == 2.0 and "adv_weight=2.0 (paper: 1.0)" in ckpt["deviations"]
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


def test_a_run_of_retired_settings_or_model_configs_is_refused_in_one_line(tmp_path):
    """A checkpoint written while the retired switches existed: resuming it would go on with another
    method, and a model of a retired configuration cannot be built; both say so."""
    c = corpus()
    run_training(c, small(seed=3), tmp_path / "old", steps=2, progress=False)
    ckpt = torch.load(tmp_path / "old" / "last.pt", weights_only=True)
    torch.save({**ckpt, "deviations": ["structure_weight=30.0 (paper: 0.0)"]}, tmp_path / "old" / "last.pt")
    with pytest.raises(UserError, match="no longer has .structure_weight"):
        run_training(c, small(seed=3), tmp_path / "old", steps=4, progress=False, resume=True)
    torch.save({**ckpt, "config": {**ckpt["config"], "context": 2}}, tmp_path / "two.pt")
    with pytest.raises(UserError, match=r"--init-from .*retired configuration \(context=2\)"):
        run_training(c, small(seed=3), tmp_path / "tuned", steps=4, progress=False, init_from=tmp_path / "two.pt")
    # written with the switches at the values of this model, it loads, resumes and fine-tunes
    old = {**ckpt["config"], "context": 1, "memory": 0, "memory_kind": "bars", "gen_time_margin": 0,
           "gen_output": "cells"}
    torch.save({**ckpt, "config": old}, tmp_path / "one.pt")
    assert load_checkpoint(tmp_path / "one.pt")[0].config == get_config("live")
    tuned = run_training(c, small(seed=3), tmp_path / "tuned", steps=3, progress=False, init_from=tmp_path / "one.pt")
    assert tuned.step == 3


def test_a_run_resumed_from_an_older_log_keeps_its_columns(tmp_path):
    c = corpus()
    run_training(c, small(seed=5), tmp_path / "run", steps=2, progress=False)
    log = tmp_path / "run" / "train_log.csv"
    rows = list(csv.reader(open(log)))
    older = [rows[0][:4] + ["loss_struct"] + rows[0][4:]] + [r[:4] + ["0.5"] + r[4:] for r in rows[1:]]
    with open(log, "w", newline="") as f:
        csv.writer(f).writerows(older)
    run_training(c, small(seed=5), tmp_path / "run", steps=4, progress=False, resume=True)
    got = list(csv.DictReader(open(log)))
    new = [r for r in got if int(r["step"]) > 2]
    assert new and all(r["loss_struct"] == "" for r in new) and float(new[0]["loss_d"]) > 0


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
