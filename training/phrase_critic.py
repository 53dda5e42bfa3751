"""The step decoder's critic: D learns to tell the corpus's real next bars from the decoder's
answers to the phrases before them (both as note cells, what a listener hears), the decoder staying
as it is; the checkpoint it writes is the decoder's with D trained, so srlive-export writes
critic.onnx beside step.onnx and selection can rank the decoder's candidates.

    srlive-train-critic --model runs/phrase/best.pt --data CACHE.npz --out runs/phrase-critic --minutes 10
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from srlive_training.corpus import BarCorpus
from srlive_training.critic import notes_of
from srlive_training.phrase_batches import PhraseStream, fixed_batches
from srlive_training.phrase_model import PhraseVAE


@torch.no_grad()
def _answers(model: PhraseVAE, history: torch.Tensor, temperature: float, g: torch.Generator) -> torch.Tensor:
    n = history.shape[0]
    noise = torch.randn(n, model.config.noise_size, generator=g)
    return notes_of(model.play(history, noise, torch.full((n, 1), float(temperature))))


@torch.no_grad()
def held_out_accuracy(model: PhraseVAE, corpus: BarCorpus, temperature: float, n: int = 1024, seed: int = 0) -> float:
    """Share of validation bars told right (real next bar against the decoder's answer)."""
    g = torch.Generator().manual_seed(seed)
    right = seen = 0.0
    for b in fixed_batches(corpus, "val", model.config.history, n, seed):
        hist = torch.from_numpy(b.history)
        real = notes_of(torch.from_numpy(corpus_bars_of(b)))
        fake = _answers(model, hist, temperature, g)
        right += float((model.discriminator(real)[0] > 0).sum() + (model.discriminator(fake)[0] < 0).sum())
        seen += 2 * len(hist)
    return right / max(seen, 1.0)


def corpus_bars_of(batch) -> np.ndarray:
    """The real next bars of a batch as the critic sees them: the melody the decoder learns to write."""
    return batch.target[:, None]


def train_phrase_critic(model: PhraseVAE, corpus: BarCorpus, minutes: float | None, steps: int | None,
                        temperature: float, batch_size: int = 64, lr: float = 2e-4, seed: int = 0, log=print) -> dict:
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model.eval()
    d = model.discriminator.train()
    opt = torch.optim.Adam(d.parameters(), lr=lr, betas=(0.5, 0.999))
    stream = PhraseStream(corpus, "train", model.config.history, batch_size, seed)
    bce = nn.functional.binary_cross_entropy_with_logits
    t0, step, recent = time.monotonic(), 0, []
    while not ((steps is not None and step >= steps) or (minutes is not None and time.monotonic() - t0 >= minutes * 60)):
        b = stream.next()
        real = notes_of(torch.from_numpy(corpus_bars_of(b)))
        fake = _answers(model, torch.from_numpy(b.history), temperature, g)
        lr_, lf = d(real)[0], d(fake)[0]
        loss = bce(lr_, torch.full_like(lr_, 0.9)) + bce(lf, torch.zeros_like(lf))
        opt.zero_grad()
        loss.backward()
        opt.step()
        recent = (recent + [float(((lr_ > 0).float().mean() + (lf < 0).float().mean()) / 2)])[-200:]
        step += 1
        if step % 200 == 0:
            log(f"step {step}: loss {float(loss):.3f}, train accuracy {np.mean(recent):.3f} ({time.monotonic() - t0:.0f} s)")
    d.eval()
    return {"steps": step, "seconds": round(time.monotonic() - t0, 1), "train_accuracy": float(np.mean(recent or [0])),
            "val_accuracy": held_out_accuracy(model, corpus, temperature)}


def save_with_critic(path: Path, model: PhraseVAE, ckpt: dict, report: dict) -> None:
    state = {**{k: v for k, v in ckpt.items() if k != "optimizer"}, "model": model.state_dict(), "critic": report}
    tmp = f"{path}.tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)
