"""The checkpoints shipped in training/checkpoints/ are the shipped models' own: the ONNX files in
srlive/models/ answer and judge as the checkpoint's torch model does, and anyone can fine-tune
from them (they keep no optimiser state)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from srlive.model.runtime import load_runtime
from srlive_training.phrase_model import PlayModule
from srlive_training.phrase_train import PhraseTraining, load_phrase_checkpoint, run_phrase_training
from tiny_corpus import tiny_corpus

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = [("default", 16), ("triple", 12)]


def _phrases(n: int, context: int, steps: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((n, context, 88, steps)) < 0.04).astype(np.float32)


@pytest.mark.parametrize("name, steps", SHIPPED)
def test_the_shipped_checkpoint_holds_the_shipped_models_weights_and_its_critic(name, steps):
    ckpt_path = ROOT / "training" / "checkpoints" / f"{name}.pt"
    assert ckpt_path.stat().st_size <= 20 * 1024 * 1024
    model, ckpt = load_phrase_checkpoint(ckpt_path)  # plain data: read with weights_only=True
    assert {"encoder", "posterior", "generator", "discriminator"} <= {k.split(".")[0] for k in ckpt["model"]}
    assert model.config.steps == steps
    rt = load_runtime(ROOT / "srlive" / "models" / name, device="cpu")
    assert rt.has_critic and rt.steps == steps and rt.history == tuple(model.config.history)
    assert rt.metadata["srlive.trained_steps"] == str(ckpt["step"])
    model.eval()
    bars = _phrases(12, rt.context, steps)
    noise = np.random.default_rng(1).standard_normal((12, rt.latent)).astype(np.float32)
    temp = np.full((12, 1), rt.temperature, np.float32)
    with torch.no_grad():
        want = PlayModule(model)(torch.from_numpy(bars), torch.from_numpy(noise), torch.from_numpy(temp))[:, 0].numpy()
        heard = (bars[:, 0] >= 0.5).astype(np.float32)
        logits = model.discriminator(torch.from_numpy(heard[:, None]))[0][:, 0].numpy()
    got = rt.step_batch(bars, noise, rt.temperature)
    assert np.abs(got - want).max() < 1e-4 and np.array_equal(got > 0, want > 0)
    assert np.abs(rt.critic(heard) - logits).max() < 1e-4


def test_the_shipped_checkpoint_fine_tunes_though_it_keeps_no_optimiser_state(tmp_path):
    """--init-from training/checkpoints/default.pt starts from its weights and step, Adam afresh."""
    shipped = ROOT / "training" / "checkpoints" / "default.pt"
    model, ckpt = load_phrase_checkpoint(shipped)
    assert "optimizer" not in ckpt
    tc = PhraseTraining(batch_size=8, val_every=1000, val_bars=16)
    run_phrase_training(tiny_corpus(n_tunes=16, bars=10), model.config, tmp_path, tc, minutes=None,
                        steps=ckpt["step"] + 2, init_from=str(shipped), progress=False)
    tuned, after = load_phrase_checkpoint(tmp_path / "last.pt")
    assert after["step"] == ckpt["step"] + 2 and "optimizer" in after
    moved = [k for k, v in after["model"].items() if not torch.equal(v, ckpt["model"][k])]
    assert moved and all(not k.startswith("discriminator.") for k in moved)  # training leaves the critic as it is
