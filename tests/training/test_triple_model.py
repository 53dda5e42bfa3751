"""The triple model end to end on a tiny corpus of 12-step bars: the phrase-triple config's shapes,
one training step through srlive-train, srlive-export with parity and srlive.steps = 12 in every
file, and srlive.model.runtime answering the phrase heard with a [88, 12] bar."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch

from run_helpers import one_thread  # noqa: F401 - an autouse fixture
from tiny_corpus import tiny_corpus
from srlive.errors import ModelError
from srlive_training.config import CONFIGS, ModelConfig, get_config
from srlive_training.phrase_model import PHRASE_CONFIGS, PhraseVAE

TRIPLE = "phrase-triple"


def test_phrase_triple_reads_and_writes_bars_of_twelve_steps():
    cfg = PHRASE_CONFIGS[TRIPLE]
    assert cfg.steps == 12
    model = PhraseVAE(cfg).eval()
    with torch.no_grad():
        out = model.play(torch.rand(5, cfg.context, 88, 12).round(), torch.randn(5, cfg.noise_size), torch.ones(5, 1))
        logit, _ = model.discriminator(out)
    assert out.shape == (5, 1, 88, 12) and float(out.min()) >= 0 and float(out.max()) <= 1
    assert logit.shape == (5, 1)


def test_model_config_refuses_a_bar_width_no_meter_has_and_a_projection_that_misses_it():
    with pytest.raises(ValueError, match="steps"):
        ModelConfig(name="x", steps=14)
    with pytest.raises(ValueError, match="88x12"):
        ModelConfig(name="x", steps=12, gen_proj=(32, 22, 4))
    assert all(c.steps in (12, 16) for c in CONFIGS.values())
    assert ModelConfig.from_dict({k: v for k, v in get_config("live").to_dict().items() if k != "steps"}).steps == 16


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """(training checkpoint, exported folder, corpus path) of one srlive-train step of live-triple."""
    from srlive_export import cli as export_cli
    from srlive_training.train import main as train_main

    root = tmp_path_factory.mktemp("triple")
    corpus = tiny_corpus(n_tunes=12, bars=8, seed=1, steps=12)
    corpus.split[:] = 0
    corpus.split[-3:] = 1
    data = root / "corpus.npz"
    corpus.save(data)
    torch.set_num_threads(1)
    rc = train_main(["--preset", TRIPLE, "--data", str(data), "--out", str(root / "run"), "--steps", "1",
                     "--batch-size", "8", "--val-every", "1", "--threads", "1", "--no-progress"])
    assert rc == 0
    out = root / "model"
    rc = export_cli.main([str(root / "run" / "last.pt"), "--out", str(out), "--data", str(data),
                          "--n-real", "50", "--n-random", "50"])
    assert rc == 0
    return root / "run" / "last.pt", out, data


def test_export_writes_steps_twelve_into_every_file_and_parity_holds(exported):
    _, out, _ = exported
    assert sorted(p.name for p in out.glob("*.onnx")) == ["critic.onnx", "step.onnx"]
    for name in ("step.onnx", "critic.onnx"):
        meta = {p.key: p.value for p in onnx.load(str(out / name)).metadata_props}
        assert meta["srlive.steps"] == "12"
        assert json.loads(meta["srlive.config"])["steps"] == 12
    record = json.loads((out / "export.json").read_text())
    assert record["parity"]["event_flips"] == 0 and record["parity"]["max_abs_diff"] <= 1e-4


def test_runtime_loads_the_triple_model_and_answers_a_twelve_step_bar_as_torch_does(exported):
    from srlive.model.runtime import load_runtime
    from srlive_training.phrase_train import load_phrase_checkpoint

    ckpt, out, _ = exported
    rt = load_runtime(out, device="cpu")
    model, _ = load_phrase_checkpoint(ckpt)
    cfg = model.config
    assert rt.steps == 12 and rt.context == cfg.context and rt.latent == cfg.noise_size
    rng = np.random.default_rng(0)
    heard = (rng.random((6, cfg.context, 88, 12)) < 0.08).astype(np.float32)
    noise = rng.standard_normal((6, cfg.noise_size)).astype(np.float32)
    got = np.stack([rt.step(b, n, 1.0) for b, n in zip(heard, noise)])
    assert got.shape == (6, 88, 12)
    with torch.no_grad():
        ref = model.eval().play(torch.from_numpy(heard), torch.from_numpy(noise), torch.ones(6, 1)).numpy()[:, 0]
    assert np.abs(got - ref).max() <= 1e-4
    assert rt.step_batch(heard, noise, 1.0).shape == (6, 88, 12)
    assert rt.candidates_for(heard[:2], np.repeat(noise[:2], 3, axis=0), 1.0).shape == (6, 88, 12)
    assert rt.critic(heard[:, 0]).shape == (6,)


def test_runtime_refuses_files_of_two_bar_widths(exported, tmp_path):
    import shutil

    from srlive.model.runtime import load_runtime
    from srlive_export import cli as export_cli

    _, out, _ = exported
    four = tmp_path / "four"
    assert export_cli.main(["--untrained", "phrase", "--out", str(four), "--n-real", "20", "--n-random", "20"]) == 0
    mixed = tmp_path / "mixed"
    shutil.copytree(out, mixed)
    critic = onnx.load(str(four / "critic.onnx"))  # a 4/4 critic, its noise size made the triple model's
    for p in critic.metadata_props:
        if p.key == "srlive.latent":
            p.value = str(PHRASE_CONFIGS[TRIPLE].noise_size)
    onnx.save(critic, str(mixed / "critic.onnx"))
    with pytest.raises(ModelError, match="steps"):
        load_runtime(mixed, device="cpu")


def test_training_a_four_four_preset_on_triple_bars_is_one_line(exported, tmp_path, capsys):
    from srlive_training.train import main as train_main

    _, _, data = exported
    rc = train_main(["--preset", "live", "--data", str(data), "--out", str(tmp_path / "r"), "--steps", "1",
                     "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "phrase-triple" in err[0] and "12 steps" in err[0]


def test_export_refuses_a_corpus_of_other_bars_for_parity(exported, tmp_path, capsys):
    from srlive_export import cli as export_cli

    ckpt, _, _ = exported
    four = tmp_path / "four.npz"
    tiny_corpus(n_tunes=4, bars=4).save(four)
    rc = export_cli.main([str(ckpt), "--out", str(tmp_path / "m"), "--data", str(four)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "answers bars of 12 steps, the corpus holds bars of 16 steps" in err[0]


def test_answer_selection_chooses_among_twelve_step_candidates(exported):
    from srlive.model.answer import Answerer
    from srlive.model.runtime import load_runtime

    _, out, _ = exported
    rt = load_runtime(out, device="cpu")
    answerer = Answerer(rt, candidates=4, latent=rt.latent)
    rng = np.random.default_rng(1)
    heard = (rng.random((88, 12)) < 0.05).astype(np.float32)
    answerer.hear(heard=heard)
    answer = answerer.answer(heard, rng, 1.0)
    assert answer.roll.shape == answer.heard.shape == (88, 12)
    assert answer.choice is not None and len(answer.choice.scores) == 4


def test_critic_training_refuses_a_corpus_of_other_bars(exported, tmp_path, capsys):
    from srlive_training.critic import main as critic_main

    ckpt, _, _ = exported
    four = tmp_path / "four.npz"
    tiny_corpus(n_tunes=4, bars=4).save(four)
    rc = critic_main(["--model", str(ckpt), "--data", str(four), "--out", str(tmp_path / "c"), "--steps", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "answers bars of 12 steps, the corpus holds bars of 16 steps" in err[0]


def test_sampling_the_triple_model_writes_bars_of_three_four(exported, tmp_path):
    from srlive.takes import midifile
    from srlive_training.sample import main as sample_main

    _, out, data = exported
    take = tmp_path / "take.mid"
    assert sample_main(["--checkpoint", str(out), "--data", str(data), "--bars", "4", "--with-seed",
                        "--threshold", "0.0", "--out", str(take)]) == 0
    contents = midifile.read(take)
    assert contents.time_signature == (3, 4)
    # five bars of 3 quarters: the seed bar and four answers, every cell sounding at threshold 0
    assert max(n.end for n in contents.notes()) == 5 * 3 * contents.ticks_per_beat


def test_a_corpus_refuses_a_model_of_other_bars_in_one_line():
    from srlive.errors import UserError

    corpus = tiny_corpus(n_tunes=2, bars=3)  # 16-step bars
    corpus.require_width(16, "model m", "give one meter")  # as wide: nothing to say
    with pytest.raises(UserError) as err:
        corpus.require_width(12, "model m", "give one meter", where="--data x.npz")
    assert str(err.value) == ("--data x.npz: model m answers bars of 12 steps, the corpus holds bars of 16 steps; "
                              "give one meter")
