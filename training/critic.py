"""Train the critic of an exported model: the discriminator that ranks candidate answers at play
time (critic.onnx), trained against the model's own generator, which stays as it is.

    srlive-train-critic --model srlive/models/default --data CACHE.npz --out runs/critic --minutes 20
    srlive-export runs/critic/critic.pt --temperature 1.35 --out srlive/models/default

The encoder and generator are read back from the exported step.onnx (its initializers keep the
torch parameter names), so the answers srlive plays stay exactly the ones it played; only D learns.
D sees what a listener hears: a bar's note cells (1 where a note sounds, 0 elsewhere), real next
bars of the corpus against the generator's answers to the real bars before them, drawn at the
temperature the model plays at. Values, velocities and cells just under the threshold tell it
nothing, so it judges where notes fall and which pitches they take. The checkpoint it writes is a
full training checkpoint (E, G and D, plain data), so srlive-export writes the four files from it
and a later `srlive-train --init-from` can fine-tune all three.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from srlive.contract import DEFAULT_TEMPERATURE, DEFAULT_THRESHOLD, META
from srlive.errors import UserError
from srlive_training.batches import iterate_batches
from srlive_training.checkpoint import save_checkpoint
from srlive_training.config import ModelConfig
from srlive_training.corpus import BarCorpus
from srlive_training.model import VAEGAN, sample_z
from srlive_training.tool import run_tool

PROG = "srlive-train-critic"


def notes_of(bars: torch.Tensor, threshold: float = DEFAULT_THRESHOLD) -> torch.Tensor:
    """What the critic judges: 1 where a note sounds, 0 elsewhere (same shape)."""
    return (bars >= threshold).to(torch.float32)


def model_from_onnx(folder: str | Path) -> tuple[VAEGAN, dict[str, str]]:
    """(a VAEGAN whose E and G are the exported model's, D freshly made; the model's metadata)."""
    import onnx
    from onnx import numpy_helper

    step = Path(folder) / "step.onnx" if Path(folder).is_dir() else Path(folder)
    if not step.is_file():
        raise UserError(f"--model {folder}: no step.onnx there; give an exported model folder")
    try:
        proto = onnx.load(str(step))
    except Exception as e:  # noqa: BLE001 - a file that is no ONNX model: one line, not a traceback
        raise UserError(f"--model {folder}: {step.name} is not a readable ONNX model ({type(e).__name__}); "
                        "give an exported model folder or a step decoder's checkpoint (.pt)") from None
    meta = {p.key: p.value for p in proto.metadata_props}
    if META["config"] not in meta:
        raise UserError(f"--model {folder}: {step.name} has no srlive metadata; give a model made by srlive-export")
    model = VAEGAN(ModelConfig.from_dict(json.loads(meta[META["config"]])))
    weights = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in proto.graph.initializer}
    wanted = {k: v for k, v in model.state_dict().items() if not k.startswith("discriminator.")}
    missing = [k for k in wanted if k not in weights]
    if missing:
        raise UserError(f"--model {folder}: {step.name} lacks the weights {missing[:3]}; export it again with srlive-export")
    model.load_state_dict({k: weights[k] for k in wanted}, strict=False)
    return model, meta


def critic_step(model: VAEGAN, opt: torch.optim.Optimizer, prev: torch.Tensor, nxt: torch.Tensor,
                temperature: float, generator: torch.Generator, real_label: float = 0.9) -> dict:
    """One update of D on a batch of (bar heard, real next bar) pairs; E and G only answer."""
    with torch.no_grad():
        mu, log_scale = model.encoder(prev)
        noise = torch.randn(mu.shape, generator=generator)
        fake = notes_of(model.generator(sample_z(mu, log_scale, noise, temperature)))
    real = notes_of(nxt, 0.5 / 127)  # a corpus bar's cells hold its velocity: every one > 0 is a note
    d = model.discriminator
    logit_real, _ = d(real)
    logit_fake, _ = d(fake)
    bce = nn.functional.binary_cross_entropy_with_logits
    loss = bce(logit_real, torch.full_like(logit_real, real_label)) + bce(logit_fake, torch.zeros_like(logit_fake))
    opt.zero_grad()
    loss.backward()
    opt.step()
    with torch.no_grad():
        right = ((logit_real > 0).float().mean() + (logit_fake < 0).float().mean()) / 2
    return {"loss": loss.item(), "accuracy": float(right)}


@torch.no_grad()
def held_out_accuracy(model: VAEGAN, corpus: BarCorpus, temperature: float, batches: int = 8, seed: int = 0) -> float:
    """Share of validation pairs told right (real next bar vs the generator's answer)."""
    g = torch.Generator().manual_seed(seed)
    right, seen = 0.0, 0
    for k, (prev, nxt) in enumerate(iterate_batches(corpus, "val", 128, seed, augment=False)):
        if k >= batches:
            break
        prev, nxt = torch.from_numpy(prev), torch.from_numpy(nxt)
        mu, log_scale = model.encoder(prev)
        fake = notes_of(model.generator(sample_z(mu, log_scale, torch.randn(mu.shape, generator=g), temperature)))
        right += float((model.discriminator(notes_of(nxt, 0.5 / 127))[0] > 0).sum() + (model.discriminator(fake)[0] < 0).sum())
        seen += 2 * len(prev)
    return right / max(seen, 1)


def train_critic(model: VAEGAN, corpus: BarCorpus, minutes: float | None, steps: int | None, temperature: float,
                 batch_size: int = 64, lr: float = 2e-4, seed: int = 0, log=print) -> dict:
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model.encoder.requires_grad_(False)
    model.generator.requires_grad_(False)
    model.eval()
    model.discriminator.train()
    opt = torch.optim.Adam(model.discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
    t0, step, epoch = time.monotonic(), 0, 0
    recent: list[float] = []
    while True:
        for prev, nxt in iterate_batches(corpus, "train", batch_size, seed + epoch, augment=True):
            out = critic_step(model, opt, torch.from_numpy(prev), torch.from_numpy(nxt), temperature, generator)
            recent = (recent + [out["accuracy"]])[-200:]
            step += 1
            elapsed = time.monotonic() - t0
            if step % 200 == 0:
                log(f"step {step}: loss {out['loss']:.3f}, train accuracy {np.mean(recent):.3f} ({elapsed:.0f} s)")
            if (steps is not None and step >= steps) or (minutes is not None and elapsed >= minutes * 60):
                model.discriminator.eval()
                return {"steps": step, "seconds": round(elapsed, 1), "train_accuracy": float(np.mean(recent)),
                        "val_accuracy": held_out_accuracy(model, corpus, temperature)}
        epoch += 1


def _step_decoder_critic(args) -> int:
    """D of a step decoder's checkpoint against its own answers (srlive_training.phrase_critic)."""
    from srlive_training.checkpoint import CheckpointError
    from srlive_training.phrase_critic import save_with_critic, train_phrase_critic
    from srlive_training.phrase_train import load_phrase_checkpoint

    try:
        model, ckpt = load_phrase_checkpoint(args.model)
    except CheckpointError as e:
        raise UserError(f"--model {e}") from None
    temperature = args.temperature if args.temperature is not None else DEFAULT_TEMPERATURE
    corpus, out = _corpus_and_out(args, model.config.steps)
    print(f"{PROG}: D of {args.model} against its answers at temperature {temperature:g}", file=sys.stderr)
    report = train_phrase_critic(model, corpus, args.minutes, args.steps, temperature, args.batch_size, seed=args.seed,
                                 log=lambda line: print(line, file=sys.stderr))
    save_with_critic(out / "critic.pt", model, ckpt, report | {"temperature": temperature})
    return _said(report, out)


def _corpus_and_out(args, steps: int) -> tuple[BarCorpus, Path]:
    """--data read and checked against the model's bar length, and --out made."""
    try:
        corpus = BarCorpus.load(args.data)
    except (OSError, ValueError, KeyError) as e:
        raise UserError(f"--data {args.data}: can't read the corpus ({' '.join(str(e).split())[:120]})") from None
    corpus.require_width(steps, f"model {args.model}", "give the corpus the model was trained on",
                         where=f"--data {args.data}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    return corpus, out


def _said(report: dict, out: Path) -> int:
    """The run's last line: its updates, time and held-out accuracy, and where D went."""
    print(f"{PROG}: {report['steps']} steps in {report['seconds']:.0f} s; held-out accuracy "
          f"{report['val_accuracy']:.3f} → {out / 'critic.pt'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description="Train the critic (D) of an exported srlive model against "
                                "its own generator, which stays as it is; writes a full checkpoint for srlive-export.")
    p.add_argument("--model", required=True, help="exported model folder (with step.onnx), e.g. srlive/models/default, "
                   "or a step decoder's training checkpoint (.pt, srlive-train --preset phrase)")
    p.add_argument("--data", required=True, help="prepared corpus (.npz) from srlive-prepare")
    p.add_argument("--out", required=True, help="folder for critic.pt")
    p.add_argument("--minutes", type=float, default=None, help="stop after this many minutes")
    p.add_argument("--steps", type=int, default=None, help="stop after this many updates")
    p.add_argument("--temperature", type=float, default=None,
                   help="temperature of the answers D learns to tell (default: the model's own)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)
    return run_tool(PROG, lambda: _critic_main(args))


def _critic_main(args) -> int:
    if args.minutes is None and args.steps is None:
        raise UserError("give --minutes or --steps")
    if args.threads:
        torch.set_num_threads(args.threads)
    if Path(args.model).suffix == ".pt":
        return _step_decoder_critic(args)
    model, meta = model_from_onnx(args.model)
    temperature = args.temperature if args.temperature is not None else float(meta.get(META["temperature"], DEFAULT_TEMPERATURE))
    corpus, out = _corpus_and_out(args, model.config.steps)
    print(f"{PROG}: D of {args.model} against its generator at temperature {temperature:g}", file=sys.stderr)
    report = train_critic(model, corpus, args.minutes, args.steps, temperature, args.batch_size, seed=args.seed,
                          log=lambda line: print(line, file=sys.stderr))
    summary = json.loads(meta.get(META["data"], "null") or "null")
    save_checkpoint(out / "critic.pt", model, step=int(meta.get(META["trained_steps"], 0) or 0),
                    data_summary=summary, critic=report | {"temperature": temperature, "from": Path(args.model).name})
    return _said(report, out)


if __name__ == "__main__":
    sys.exit(main())
