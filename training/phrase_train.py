"""Training the step decoder (srlive_training.phrase_model): `srlive-train --preset phrase`.

One step = one Adam update of E, Q and G on one batch of bars with their phrase heard: the events'
cross-entropy under teacher forcing plus the KL divergence of Q from E (in nats, no less than
`free_bits`, weighted from 0 up to 1 over `kl_warmup` steps, so the decoder learns to use z before
the prior is pulled to it). D is not trained here: srlive-train-critic trains it against the
exported model, as the critic selection uses.

Every `val_every` steps: the validation cross-entropy and KL on fixed validation bars, the share of
events the decoder predicts, a row of train_log.csv and loss_curves.png, last.pt, best.pt (the
lowest validation cross-entropy + KL) and, with keep_every, step-NNNNNN.pt. `--resume` continues
from last.pt exactly (weights, Adam's moments, the batch stream's place).
"""

from __future__ import annotations

import csv
import math
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from srlive.errors import UserError
from srlive_training.checkpoint import CheckpointError, read_checkpoint
from srlive_training.corpus import BarCorpus
from srlive_training.phrase_batches import PhraseBatch, PhraseStream, fixed_batches
from srlive_training.phrase_model import PhraseConfig, PhraseVAE

COLUMNS = ["step", "time", "epoch", "bars_per_sec", "ce", "kl", "kl_weight", "val_ce", "val_kl", "val_accuracy",
           "val_onset_accuracy"]


@dataclass(frozen=True)
class PhraseTraining:
    batch_size: int = 128
    lr: float = 1e-3
    free_bits: float = 4.0
    kl_warmup: int = 3000
    grad_clip: float = 1.0
    val_every: int = 500
    val_bars: int = 4096
    seed: int = 0


def tensors(b: PhraseBatch, device) -> tuple[torch.Tensor, ...]:
    return (torch.from_numpy(b.history).to(device), torch.from_numpy(b.target).to(device),
            torch.from_numpy(b.events).to(device), torch.from_numpy(b.last_pitch).to(device))


@torch.no_grad()
def validate(model: PhraseVAE, batches: list[PhraseBatch], tc: PhraseTraining, device) -> dict:
    model.eval()
    ce = kl = right = onsets_right = n = n_onsets = 0.0
    gen = torch.random.fork_rng(devices=[])
    with gen:
        torch.manual_seed(tc.seed)
        for b in batches:
            out = model.losses(*tensors(b, device), free_bits=0.0)
            k = len(b.events)
            ce += float(out["ce"]) * k
            kl += float(out["kl"]) * k
            guess = out["logits"].argmax(-1).numpy()
            right += float((guess == b.events).mean()) * k
            new = b.events < 88
            onsets_right += float((guess[new] == b.events[new]).sum())
            n_onsets += float(new.sum())
            n += k
    model.train()
    return {"val_ce": ce / n, "val_kl": kl / n, "val_accuracy": right / n,
            "val_onset_accuracy": onsets_right / max(n_onsets, 1.0)}


def _save(path: Path, model: PhraseVAE, opt, step: int, stream: PhraseStream, tc: PhraseTraining, best: float,
          data: dict) -> None:
    state = {"config": model.config.to_dict(), "model": model.state_dict(), "step": step, "optimizer": opt.state_dict(),
             "stream": stream.position, "train": asdict(tc), "best": best, "data": data}
    tmp = f"{path}.tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_phrase_checkpoint(path) -> tuple[PhraseVAE, dict]:
    """(model, checkpoint) of a step decoder's checkpoint; CheckpointError (one line) otherwise."""
    ckpt = read_checkpoint(path)
    if not isinstance(ckpt, dict) or not {"config", "model"} <= ckpt.keys() or ckpt["config"].get("kind") != "phrase":
        raise CheckpointError(f"{path}: not a step decoder's checkpoint (srlive-train --preset phrase writes one)")
    model = PhraseVAE(PhraseConfig.from_dict(ckpt["config"]))
    model.load_state_dict(ckpt["model"])
    return model, ckpt


def _log_row(path: Path, row: dict, new: bool) -> None:
    with open(path, "w" if new else "a", newline="") as f:
        w = csv.writer(f)
        if new:
            w.writerow(COLUMNS)
        w.writerow(["" if row.get(c) is None else (f"{row[c]:.6g}" if isinstance(row[c], float) else row[c])
                    for c in COLUMNS])


def plot_log(csv_path: Path, out: Path, name: str) -> None:
    """loss_curves.png: training and validation cross-entropy and KL against steps."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        rows = list(csv.DictReader(open(csv_path)))
        steps = [int(r["step"]) for r in rows]

        def col(k):
            return [float(r[k]) if r.get(k) else math.nan for r in rows]

        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
        axes[0].plot(steps, col("ce"), label="train")
        axes[0].plot(steps, col("val_ce"), "o-", label="validation")
        axes[0].set_title("events' cross-entropy (nats a step)")
        axes[1].plot(steps, col("kl"), label="train")
        axes[1].plot(steps, col("val_kl"), "o-", label="validation")
        axes[1].set_title("KL(Q || E) (nats a bar)")
        for ax in axes:
            ax.set_xlabel("step")
            ax.legend()
            ax.grid(alpha=0.3)
        fig.suptitle(f"srlive step decoder ({name})")
        fig.tight_layout()
        fig.savefig(out / "loss_curves.png", dpi=90)
        plt.close(fig)
    except Exception as e:  # noqa: BLE001 - a picture must never stop a run
        print(f"srlive-train: could not draw the loss curves: {e}", file=sys.stderr)


def run_phrase_training(corpus: BarCorpus, cfg: PhraseConfig, out: Path, tc: PhraseTraining, minutes: float | None,
                        steps: int | None, resume: bool = False, init_from: str | None = None, keep_every: int = 0,
                        progress: bool = True, device=torch.device("cpu")) -> dict:
    """Train until `steps` in total or `minutes` of this run; returns the last validation figures."""
    if corpus.steps != cfg.steps:
        raise UserError(f"the model {cfg.name} answers bars of {cfg.steps} steps, the corpus holds bars of "
                        f"{corpus.steps}; give --data of {cfg.steps}-step bars or another --preset")
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(tc.seed)
    model = PhraseVAE(cfg).to(device)
    params = [p for n, p in model.named_parameters() if not n.startswith("discriminator.")]
    opt = torch.optim.Adam(params, lr=tc.lr)
    stream = PhraseStream(corpus, "train", cfg.history, tc.batch_size, tc.seed)
    step, best = 0, math.inf
    start_from = out / "last.pt" if resume else (Path(init_from) if init_from else None)
    if start_from is not None:
        try:
            loaded, ckpt = load_phrase_checkpoint(start_from)
        except CheckpointError as e:
            raise UserError(f"{'--resume' if resume else '--init-from'}: {e}") from None
        if loaded.config != cfg:
            raise UserError(f"{start_from}: a checkpoint of config {loaded.config.name}, not {cfg.name}; "
                            "give the preset it was trained with")
        model.load_state_dict(ckpt["model"])
        if "optimizer" in ckpt:
            opt.load_state_dict(ckpt["optimizer"])
        step = int(ckpt.get("step", 0))
        if resume:
            stream.restore(ckpt.get("stream", {}))
            best = float(ckpt.get("best", math.inf))
    val = fixed_batches(corpus, "val", cfg.history, tc.val_bars, seed=tc.seed)
    data = {"tunes": int(corpus.n_tunes), "bars": int(len(corpus.bars)), "key": corpus.summary.get("key")}
    log = out / "train_log.csv"
    new_log = not (resume and log.exists())
    t0 = time.monotonic()
    last_val: dict = {}
    window = {"ce": 0.0, "kl": 0.0, "n": 0, "t": 0.0}
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=steps - step if steps else None, desc="training", unit="step", dynamic_ncols=True)
    model.train()
    while True:
        if steps is not None and step >= steps:
            break
        if minutes is not None and time.monotonic() - t0 >= minutes * 60:
            break
        t = time.monotonic()
        b = stream.next()
        outs = model.losses(*tensors(b, device), free_bits=tc.free_bits)
        weight = min(1.0, step / tc.kl_warmup) if tc.kl_warmup else 1.0
        loss = outs["ce"] + weight * outs["kl_loss"] / cfg.steps
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, tc.grad_clip)
        opt.step()
        step += 1
        window["ce"] += float(outs["ce"].detach())
        window["kl"] += float(outs["kl"].detach())
        window["n"] += 1
        window["t"] += time.monotonic() - t
        if bar is not None:
            bar.update(1)
            bar.set_postfix(ce=f"{window['ce'] / window['n']:.3f}", kl=f"{window['kl'] / window['n']:.2f}")
        if step % tc.val_every == 0:
            last_val = _checkpoint(model, opt, step, stream, tc, val, window, weight, out, log, new_log, keep_every,
                                   best, data, device, t0)
            new_log = False
            best = min(best, last_val["score"])
    if bar is not None:
        bar.close()
    if window["n"] or not last_val:
        last_val = _checkpoint(model, opt, step, stream, tc, val, window, weight if step else 0.0, out, log, new_log,
                               keep_every, best, data, device, t0)
    plot_log(log, out, cfg.name)
    return last_val


def _checkpoint(model, opt, step, stream, tc, val, window, weight, out, log, new_log, keep_every, best, data, device, t0):
    v = validate(model, val, tc, device)
    n = max(window["n"], 1)
    row = {"step": step, "time": round(time.monotonic() - t0, 1), "epoch": stream.epoch,
           "bars_per_sec": window["n"] * tc.batch_size / max(window["t"], 1e-9), "ce": window["ce"] / n,
           "kl": window["kl"] / n, "kl_weight": weight, **v}
    _log_row(log, row, new_log)
    score = v["val_ce"] + v["val_kl"] / model.config.steps
    _save(out / "last.pt", model, opt, step, stream, tc, min(best, score), data)
    if score < best:
        _save(out / "best.pt", model, opt, step, stream, tc, score, data)
    if keep_every and step % keep_every == 0:
        _save(out / f"step-{step:06d}.pt", model, opt, step, stream, tc, min(best, score), data)
    window.update(ce=0.0, kl=0.0, n=0, t=0.0)
    print(f"step {step}: {row['bars_per_sec']:.0f} bars/s | val ce {v['val_ce']:.3f} kl {v['val_kl']:.2f} "
          f"accuracy {v['val_accuracy']:.3f} onsets {v['val_onset_accuracy']:.3f}", file=sys.stderr, flush=True)
    if step % (tc.val_every * 4) == 0:
        plot_log(log, out, model.config.name)
    return {**v, "score": score}
