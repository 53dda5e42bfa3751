"""The training loop and CLI (training/train.py) on a tiny synthetic corpus, CPU only."""

import csv
import dataclasses
import math
import re

import numpy as np
import pytest
import torch

from tiny_corpus import tiny_corpus
from srlive_training import train as T
from srlive_training.model import VAEGAN, load_checkpoint, sample_z

from srlive.errors import UserError


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run fastest (and steadiest on a shared machine) on one thread."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def corpus():
    c = tiny_corpus(n_tunes=12, bars=8, seed=1)
    c.split[:] = 0
    c.split[-3:] = 1  # three validation tunes: the listening check can swap contexts
    return c


def small(**kw) -> T.TrainConfig:
    base = dict(config="live", batch_size=8, val_every=0, log_every=2, val_batches=1, val_answers=12)
    base.update(kw)
    return dataclasses.replace(T.TRAIN_PRESETS["live"], **base)


def params(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_every_network_learns_and_the_encoder_is_in_the_optimiser():
    torch.manual_seed(0)
    init = params(VAEGAN(T.TRAIN_PRESETS["live"] and __import__("srlive_training.config").config.get_config("live")))
    res = T.run_training(corpus(), small(seed=0), None, steps=3, progress=False)
    after = params(res.model)
    for net in ("encoder", "generator", "discriminator"):
        keys = [k for k in after if k.startswith(net + ".")]
        assert keys
        # every weight tensor of every network moved (the authors' E never did)
        assert all(not torch.equal(init[k], after[k]) for k in keys), net


def test_encoder_learns_with_the_exact_paper_losses_too():
    tc = small(config="paper", prior="paper", recon_weight=0.0, kl_warmup_steps=0, free_bits=0.0)
    trainer = T.Trainer(VAEGAN(__import__("srlive_training.config").config.get_config("live")), tc, torch.device("cpu"))
    e_params = {id(p) for p in trainer.model.encoder.parameters()}
    in_opt = {id(p) for g in trainer.opt_eg.param_groups for p in g["params"]}
    assert e_params <= in_opt
    before = params(trainer.model.encoder)
    prev, nxt = (torch.as_tensor(a) for a in next(iter_batches(corpus(), 8)))
    trainer.train_step(prev, nxt)
    after = params(trainer.model.encoder)
    assert all(not torch.equal(before[k], after[k]) for k in before)


def iter_batches(c, bs):
    from srlive_training.batches import iterate_batches

    return iterate_batches(c, "train", bs, np.random.default_rng(0), augment=False)


@pytest.mark.parametrize("key, over, steps", [
    ("loss_recon", dict(recon_weight=1.0, recon_pos_weight=4.0), 20),
    ("loss_density", dict(density_weight=10.0, structure_weight=0.0, instance_noise=0.0), 20),
    # from silence (G starts every cell at 0.02) the soft counts need a few more steps to move
    ("loss_struct", {}, 50),  # terms of the live preset
    ("loss_motion", dict(interval_weight=20.0, kept_cells_weight=20.0, kept_pitches_weight=20.0), 50),
])
def test_a_few_steps_on_a_fixed_batch_reduce_the_loss(key, over, steps):
    torch.manual_seed(0)
    trainer = T.Trainer(VAEGAN(__import__("srlive_training.config").config.get_config("live")), small(**over),
                        torch.device("cpu"))
    prev, nxt = (torch.as_tensor(a) for a in next(iter_batches(corpus(), 8)))
    hist = [trainer.train_step(prev, nxt) for _ in range(steps)]
    early = np.mean([h[key] for h in hist[:5]])
    late = np.mean([h[key] for h in hist[-5:]])
    assert late < 0.8 * early, (early, late)
    assert all(np.isfinite(list(h.values())).all() for h in hist)


def test_instance_noise_reaches_what_d_sees_and_only_when_asked():
    model = VAEGAN(__import__("srlive_training.config").config.get_config("live"))
    x = torch.zeros(64, 1, 88, 16)
    plain = T.Trainer(model, small(instance_noise=0.0), torch.device("cpu"))
    assert torch.equal(plain._noisy(x), x)
    noisy = T.Trainer(model, small(instance_noise=0.1), torch.device("cpu"))
    seen = noisy._noisy(x)
    assert float(seen.std()) == pytest.approx(0.1, rel=0.05)
    assert not torch.equal(noisy._noisy(x), seen)  # fresh noise each time


def test_the_paper_losses_alone_reduce_feature_matching():
    torch.manual_seed(0)
    tc = small(config="paper", recon_weight=0.0, kl_warmup_steps=0, pitch_class_weight=0.0, density_weight=0.0,
               structure_weight=0.0, instance_noise=0.0)
    trainer = T.Trainer(VAEGAN(__import__("srlive_training.config").config.get_config("live")), tc, torch.device("cpu"))
    prev, nxt = (torch.as_tensor(a) for a in next(iter_batches(corpus(), 8)))
    hist = [trainer.train_step(prev, nxt)["loss_feat"] for _ in range(20)]
    assert np.mean(hist[-5:]) < 0.8 * np.mean(hist[:5]), hist


def test_same_seed_same_result_other_seed_other_result():
    c = corpus()
    a = params(T.run_training(c, small(seed=3), None, steps=4, progress=False).model)
    b = params(T.run_training(c, small(seed=3), None, steps=4, progress=False).model)
    d = params(T.run_training(c, small(seed=4), None, steps=4, progress=False).model)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], d[k]) for k in a)


def test_resume_continues_exactly(tmp_path):
    c = corpus()
    tc = small(seed=5)
    whole = T.run_training(c, tc, tmp_path / "whole", steps=8, progress=False)
    T.run_training(c, tc, tmp_path / "split", steps=4, progress=False)
    resumed = T.run_training(c, tc, tmp_path / "split", steps=8, resume=True, progress=False)
    assert resumed.step == whole.step == 8
    a, b = params(whole.model), params(resumed.model)
    assert all(torch.equal(a[k], b[k]) for k in a)
    # the log continues: one header, steps in order
    with open(tmp_path / "split" / "train_log.csv") as f:
        steps = [int(r["step"]) for r in csv.DictReader(f)]
    assert steps == sorted(steps) and steps[-1] == 8


def _train_cli(tmp_path, steps: int, *extra: str):
    """srlive-train on the tiny corpus, validating every 2 steps: (exit code, output folder)."""
    data = tmp_path / "corpus.npz"
    corpus().save(data)
    out = tmp_path / "run"
    rc = T.main(["--config", "live", "--data", str(data), "--out", str(out), "--steps", str(steps), "--batch-size", "8",
                 "--val-every", "2", "--threads", "1", "--no-progress", *extra])
    return rc, out


def test_cli_trains_and_writes_log_png_and_checkpoints(tmp_path, capsys):
    rc, out = _train_cli(tmp_path, 4, "--seed", "1")
    assert rc == 0
    for name in ("last.pt", "best.pt", "train_log.csv", "loss_curves.png"):
        assert (out / name).stat().st_size > 0, name
    model, ckpt = load_checkpoint(out / "last.pt")
    assert ckpt["step"] == 4 and ckpt["config"]["name"] == "live"
    assert ckpt["train_config"]["recon_weight"] == T.TRAIN_PRESETS["live"].recon_weight
    assert ckpt["data_summary"]["train_pairs"] > 0 and "deviations" in ckpt
    with open(out / "train_log.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["step"] for r in rows if r["val_key_fit"]] == ["2", "4"]
    assert all(float(r["bars_per_sec"]) > 0 for r in rows)
    assert "bars/s" in capsys.readouterr().err
    assert not list(out.glob("step-*.pt"))  # snapshots only when asked


def test_keep_every_keeps_snapshots_at_those_validations(tmp_path):
    rc, out = _train_cli(tmp_path, 6, "--keep-every", "4")
    assert rc == 0
    assert sorted(p.name for p in out.glob("step-*.pt")) == ["step-000004.pt"]
    model, ckpt = load_checkpoint(out / "step-000004.pt")
    assert ckpt["step"] == 4 and "val_score" in ckpt["val"]


@pytest.mark.parametrize("args, words", [
    (["--config", "nope"], "unknown config"),
    (["--data", "{tmp}/missing.npz"], "no corpus"),
    (["--out", "{tmp}/afile/sub"], "cannot write"),
    (["--steps", None], "how long"),
    (["--keep-every", "-1"], "--keep-every"),
])
def test_cli_user_mistakes_are_one_line_and_exit_2(tmp_path, capsys, args, words):
    data = tmp_path / "corpus.npz"
    corpus().save(data)
    (tmp_path / "afile").write_text("not a folder")
    argv = {"--config": "live", "--data": str(data), "--out": str(tmp_path / "o"), "--steps": "1"}
    for k, v in zip(args[::2], args[1::2]):
        argv[k] = v.format(tmp=tmp_path) if v is not None else None
    flat = [x for k, v in argv.items() if v is not None for x in (k, v)]
    assert T.main(flat + ["--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err and err.startswith("srlive-train:")


def test_resume_without_a_checkpoint_is_a_user_error(tmp_path, capsys):
    data = tmp_path / "corpus.npz"
    corpus().save(data)
    rc = T.main(["--data", str(data), "--out", str(tmp_path / "o"), "--steps", "1", "--resume", "--batch-size", "8",
                 "--no-progress"])
    assert rc == 2 and "nothing to resume" in capsys.readouterr().err


def test_listening_check_scores_a_copying_model_and_a_deaf_one():
    """Known answers: a 'model' that copies its input bar plays the context's key (key fit 1 on
    this one-scale-per-tune corpus) and so answers another tune out of key."""
    c = corpus()

    class Copy(torch.nn.Module):
        config = __import__("srlive_training.config").config.get_config("live")

        def step(self, bar, noise, temperature):
            return bar

        def eval(self):
            return self

    v = T.listening_check(Copy(), c, n=30, seed=0)
    assert v["key_fit"] == pytest.approx(1.0)
    assert v["context"] > 0.2
    assert v["empty"] == v["real_empty"] == 0.0
    assert v["density"] == pytest.approx(v["real_density"], rel=0.3)
    assert T.listening_score(v) > T.listening_score({**v, "context": 0.0})
    # a copy has the music's note lengths and pitches; scattered one-step notes score lower
    assert v["note_len"] == pytest.approx(v["real_note_len"], rel=0.3)
    assert v["pitches"] == pytest.approx(v["real_pitches"], rel=0.3)
    assert T.listening_score(v) > T.listening_score({**v, "note_len": 1.0, "pitches": 3 * v["real_pitches"]})


def test_mean_note_length_counts_runs_per_row():
    bars = np.zeros((2, 88, 16), np.float32)
    bars[0, 40, 0:4] = 0.7  # one note of 4
    bars[0, 40, 8:10] = 0.7  # one of 2
    bars[1, 50, 15] = 0.7  # one of 1
    bars[1, 51, 3:6] = 0.2  # under the threshold: not a note
    assert T._mean_note_length(bars, 0.5) == pytest.approx(7 / 3)
    assert math.isnan(T._mean_note_length(np.zeros((1, 88, 16)), 0.5))


def test_set_overrides_one_training_setting_with_its_type():
    tc = T.apply_overrides(T.TRAIN_PRESETS["live"], ["structure_weight=20", "kl_warmup_steps=5", "augment=false"])
    assert tc.structure_weight == 20.0 and tc.kl_warmup_steps == 5 and tc.augment is False
    assert tc.pitch_class_weight == T.TRAIN_PRESETS["live"].pitch_class_weight
    for bad in ("nonsense=1", "structure_weight", "kl_warmup_steps=x"):
        with pytest.raises(UserError):
            T.apply_overrides(tc, [bad])
    assert T.apply_overrides(tc, ["pair_lr=2e-4"]).pair_lr == 2e-4
    assert T.apply_overrides(tc, ["pair_lr=none"]).pair_lr is None
    assert T.apply_overrides(tc, ["init_log_scale=-2"]).init_log_scale == -2.0


@pytest.mark.parametrize("bad, words", [
    ("own_prev_share=3", "between 0 and 1"),
    ("pair_weight=-1", "not be negative"),
    ("instance_noise=-0.1", "not be negative"),
    ("pair_lr=0", "greater than 0"),
    ("lr_d=-1e-4", "greater than 0"),
    ("beta1=1", "betas"),
    ("structure_weight=nan", "finite"),
    ("pair_lr=abc", "number (or none)"),
    ("coverage_weight=abc", "not a valid number"),
    ("kl_warmup_steps=1.5", "not a valid whole number"),
    ("augment=maybe", "not a valid true or false"),
    ("coverage_power=0", "greater than 0"),
    ("mode_seeking_weight=-1", "not be negative"),
    ("init_output_density=0", "strictly between 0 and 1"),
    ("prior=gaussian", "use paper or exact"),
    ("feature_matching=mean", "use pairs or batch"),
    ("encoder_freeze_step=-5", "not be negative"),
])
def test_set_refuses_values_that_make_no_sense(bad, words):
    with pytest.raises(UserError, match=re.escape(words)):
        T.apply_overrides(T.TRAIN_PRESETS["live"], [bad])


def test_pictures_are_written(tmp_path):
    from srlive_training.plots import loss_curves_png, piano_roll_png, read_log

    log = tmp_path / "log.csv"
    with open(log, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(T.LOG_COLUMNS)
        for step in (1, 2, 3):
            row = {"step": step, "loss_d": 1.0 / step, "loss_feat": 2.0, "val_key_fit": 0.9 if step == 3 else None}
            w.writerow(["" if row.get(c) is None else row[c] for c in T.LOG_COLUMNS])
    cols = read_log(log)
    assert list(cols["step"]) == [1, 2, 3] and np.isnan(cols["val_key_fit"][0])
    png = loss_curves_png(log, tmp_path / "curves.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
    rolls = corpus().rolls(np.arange(4))
    out = piano_roll_png(rolls, tmp_path / "sub" / "roll.png", title="four bars")
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_own_prev_swaps_in_the_models_own_answers_as_heard_and_the_bar_after():
    torch.manual_seed(0)
    trainer = T.Trainer(VAEGAN(__import__("srlive_training.config").config.get_config("live")), small(own_prev_share=0.5),
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


def test_training_on_own_answers_runs_and_is_off_in_the_paper_config():
    assert T.TRAIN_PRESETS["paper"].own_prev_share == 0.0
    res = T.run_training(corpus(), small(own_prev_share=0.5, seed=2), None, steps=3, progress=False)
    assert res.step == 3 and all(np.isfinite(list(res.last.values())))


def _live_trainer(**kw) -> T.Trainer:
    torch.manual_seed(0)
    return T.Trainer(VAEGAN(__import__("srlive_training.config").config.get_config("live")), small(**kw), torch.device("cpu"))


def test_pair_critic_is_off_by_default_and_in_the_paper_config():
    assert T.TRAIN_PRESETS["paper"].pair_weight == 0.0 and T.TrainConfig().pair_weight == 0.0
    assert _live_trainer().pair_critic is None
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
    trainer = _live_trainer(pair_weight=1.0, seed=1, pair_lr=2e-3)  # a faster critic than training's, for a short test
    for _ in range(70):
        trainer._pair_update(prev[train], nxt[train], prev[train], prev[train])
    with torch.no_grad():
        real = torch.sigmoid(trainer.pair_critic(torch.cat([prev[held], nxt[held]], 1))[0]).mean()
        copy = torch.sigmoid(trainer.pair_critic(torch.cat([prev[held], prev[held]], 1))[0]).mean()
    assert float(real) - float(copy) > 0.3 and float(copy) < 0.4, (float(real), float(copy))


def test_pair_critic_trains_on_real_pairs_and_its_term_reaches_the_generator():
    trainer = _live_trainer(pair_weight=1.0, own_prev_share=0.5, seed=2)
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
    plain = _live_trainer(pair_weight=0.0, own_prev_share=0.5, seed=2)
    plain.train_step(prev, nxt, after, has)
    g_without = params(plain.model.generator)
    assert not all(torch.equal(g_with[k], g_without[k]) for k in g_with)


def test_resume_with_the_pair_critic_continues_exactly(tmp_path):
    c = corpus()
    tc = small(seed=6, pair_weight=1.0)
    whole = T.run_training(c, tc, tmp_path / "whole", steps=6, progress=False)
    T.run_training(c, tc, tmp_path / "split", steps=3, progress=False)
    resumed = T.run_training(c, tc, tmp_path / "split", steps=6, resume=True, progress=False)
    a, b = params(whole.model), params(resumed.model)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert all(math.isfinite(v) for v in resumed.last.values())


def test_mode_seeking_is_off_by_default_and_in_the_paper_config():
    assert T.TRAIN_PRESETS["paper"].mode_seeking_weight == 0.0 and T.TrainConfig().mode_seeking_weight == 0.0
    assert "mode_seeking_weight=2.0 (paper: 0.0)" in small(mode_seeking_weight=2.0).deviations()


def test_mode_seeking_term_reaches_the_generator_and_not_the_encoder():
    trainer = _live_trainer(mode_seeking_weight=1.0, seed=3)
    E, G = trainer.model.encoder, trainer.model.generator
    mu, eps = E(torch.rand(8, 1, 88, 16))
    z = sample_z(mu, eps, trainer.randn(8), 1.0)
    loss = trainer._mode_seeking(mu, eps, z)
    loss.backward()
    assert math.isfinite(float(loss))
    assert all(p.grad is None for p in E.parameters())  # E cannot buy spread by listening less
    assert any(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in G.parameters())
    out = trainer.train_step(torch.rand(8, 1, 88, 16), torch.rand(8, 1, 88, 16))
    assert math.isfinite(out["loss_spread"]) and out["loss_spread"] > 0


def test_coverage_term_is_off_by_default_and_logged_when_on():
    assert T.TRAIN_PRESETS["paper"].coverage_weight == 0.0 and T.TRAIN_PRESETS["live"].coverage_weight == 0.0
    trainer = _live_trainer(coverage_weight=10.0, seed=4)
    nxt = torch.zeros(8, 1, 88, 16)
    nxt[:, 0, 40, :4] = 90 / 127  # the real next bars sound at a quarter of their steps
    out = trainer.train_step(torch.rand(8, 1, 88, 16), nxt)
    assert math.isfinite(out["loss_coverage"]) and out["loss_coverage"] > 0
    assert "loss_coverage" in T.LOG_COLUMNS
    assert "coverage_weight=10.0 (paper: 0.0)" in small(coverage_weight=10.0).deviations()


def test_register_term_is_off_by_default_and_logged_when_on():
    assert T.TRAIN_PRESETS["paper"].register_weight == 0.0 and T.TRAIN_PRESETS["live"].register_weight == 0.0
    trainer = _live_trainer(register_weight=10.0, init_output_density=0.6, seed=5)
    nxt = torch.zeros(8, 1, 88, 16)
    nxt[:, 0, 70, :8] = 90 / 127  # real next bars high up; the fresh G sounds everywhere
    out = trainer.train_step(torch.rand(8, 1, 88, 16), nxt)
    assert math.isfinite(out["loss_register"]) and out["loss_register"] > 0.1
    assert {"loss_register", "val_loss_register"} <= set(T.LOG_COLUMNS)
    assert "register_weight=10.0 (paper: 0.0)" in small(register_weight=10.0).deviations()


def test_encoder_learns_until_its_freeze_step_and_is_held_after_it_while_the_generator_learns():
    assert T.TrainConfig().encoder_freeze_step == 0 and T.TRAIN_PRESETS["live"].encoder_freeze_step == 0
    assert "encoder_freeze_step=2 (paper: 0)" in small(encoder_freeze_step=2).deviations()
    trainer = _live_trainer(encoder_freeze_step=2, seed=6)
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


def test_init_from_fine_tunes_with_new_settings_from_the_checkpoints_weights_moments_and_step(tmp_path):
    c = corpus()
    first = T.run_training(c, small(seed=3), tmp_path / "first", steps=4, progress=False)
    start = params(first.model)
    # zero further steps: the fine-tuning run starts exactly where the checkpoint is
    held = T.run_training(c, small(seed=9, lr_g=1e-3), tmp_path / "held", steps=4, progress=False,
                          init_from=tmp_path / "first" / "last.pt")
    assert held.step == 4 and all(torch.equal(start[k], params(held.model)[k]) for k in start)
    tc = small(seed=9, lr_g=1e-3, encoder_adv_grad=False, register_weight=2.0)
    tuned = T.run_training(c, tc, tmp_path / "tuned", steps=6, progress=False,
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
    T.run_training(c, tc, tmp_path / "tuned", steps=8, progress=False, resume=True)
    assert load_checkpoint(tmp_path / "tuned" / "last.pt")[1]["init_from"]["step"] == 4


@pytest.mark.parametrize("make, words", [
    (lambda p: p / "nope.pt", "no such checkpoint"),
    (lambda p: (p / "junk.pt").write_bytes(b"not a checkpoint") and p / "junk.pt", "not a readable checkpoint"),
    (lambda p: torch.save({"model": {}}, p / "bare.pt") or p / "bare.pt", "not a training checkpoint"),
])
def test_init_from_a_bad_checkpoint_is_one_line_and_exit_2(tmp_path, capsys, make, words):
    rc, _ = _train_cli(tmp_path, 2, "--init-from", str(make(tmp_path)))
    err = capsys.readouterr().err
    assert rc == 2 and words in err and "Traceback" not in err


def test_init_from_a_checkpoint_of_another_model_config_names_the_config_to_use(tmp_path, capsys):
    paper = T.run_training(corpus(), small(config="paper", batch_size=4), tmp_path / "paper", steps=1, progress=False)
    assert paper.step == 1
    rc, _ = _train_cli(tmp_path, 2, "--init-from", str(tmp_path / "paper" / "last.pt"))
    err = capsys.readouterr().err
    assert rc == 2 and "use --config paper" in err
