"""srlive-train: train the step decoder or the paper's semi-recurrent CNN VAE-GAN (the command line;
the parts are below).

    srlive-train --preset phrase --data CACHE.npz --out runs/phrase --minutes 80
    srlive-train --preset live --data CACHE.npz --out runs/live --minutes 55
    srlive-train --preset live --data CACHE.npz --out runs/live --steps 20000 --resume
    srlive-train --preset live --data CACHE.npz --out runs/tuned --minutes 30 \
        --init-from runs/live/step-007000.pt --set lr_g=2e-4   # fine-tune, new settings
    torchrun --nproc-per-node 2 -m srlive_training.train --preset paper --data CACHE.npz --out runs/p --steps 1000

A preset is either the step decoder's (srlive_training.phrase_model.PHRASE_CONFIGS: `phrase`,
`phrase-triple`; the shipped models; its run is srlive_training.phrase_train) or the VAE-GAN's
(srlive_training.settings.TRAIN_PRESETS: `paper`, `live`; a model config of srlive_training.config
with the paper's training settings; its run is srlive_training.loop, one step
srlive_training.trainer). `--set KEY=VALUE` changes one setting.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import torch

from srlive.errors import UserError
from srlive_training.corpus import BarCorpus
from srlive_training.loop import dist_from_env, run_training
from srlive_training.phrase_model import PHRASE_CONFIGS
from srlive_training.run_log import val_line
from srlive_training.settings import TRAIN_PRESETS, apply_overrides
from srlive_training.tool import run_tool

PROG = "srlive-train"


def _load_data(path: str | None) -> BarCorpus:
    if path is None:
        from srlive_training.prepare import load_corpus

        return load_corpus()
    p = Path(path)
    if p.is_file():
        try:
            return BarCorpus.load(p)
        except Exception as e:
            raise UserError(f"cannot read the corpus {p}: {type(e).__name__}: {e}; prepare it with srlive-prepare") from None
    if p.is_dir():
        npz = sorted(p.glob("*.npz"))
        if len(npz) == 1:
            return _load_data(str(npz[0]))
        from srlive_training.prepare import load_corpus

        return load_corpus(cache_dir=p)
    raise UserError(f"no corpus at {p}: give a prepared .npz or a cache folder (srlive-prepare makes one)")


def check_bar_width(corpus: BarCorpus, config_name: str) -> None:
    """The corpus's bars must be as wide as the model's (16 steps: 4/4, 12: triple)."""
    from srlive_training.config import CONFIGS, get_config

    fits = [n for n, c in {**CONFIGS, **PHRASE_CONFIGS}.items() if c.steps == corpus.steps]
    cfg = PHRASE_CONFIGS[config_name] if config_name in PHRASE_CONFIGS else get_config(config_name)
    corpus.require_width(cfg.steps, f"model config {config_name}",
                         f"use a preset of {corpus.steps}-step bars ({', '.join(fits) or 'none'}) or another --data")


def _check_out_dir(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write_test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise UserError(f"cannot write to the output folder {out}: {e.strerror or e}; choose another --out") from None


def _with_options(tc, args):
    """Training settings with the command line's --batch-size, --val-every and --set laid over."""
    if args.batch_size is not None:
        tc = dataclasses.replace(tc, batch_size=args.batch_size)
    if args.val_every is not None:
        tc = dataclasses.replace(tc, val_every=args.val_every)
    return apply_overrides(tc, args.set)


def _train_step_decoder(args, out: Path, device) -> int:
    """The step decoder's run (srlive_training.phrase_train): one process, --set names its settings."""
    from srlive_training.phrase_train import PhraseTraining, run_phrase_training

    tc = _with_options(PhraseTraining(seed=args.seed), args)
    corpus = _load_data(args.data)
    check_bar_width(corpus, args.preset)
    cfg = PHRASE_CONFIGS[args.preset]
    print(f"{PROG}: preset {args.preset} (step decoder), {corpus.n_tunes} tunes, device {device}", file=sys.stderr)
    v = run_phrase_training(corpus, cfg, out, tc, minutes=args.minutes, steps=args.steps, resume=args.resume,
                            init_from=args.init_from, keep_every=args.keep_every, progress=not args.no_progress,
                            device=device)
    print(f"{PROG}: validation cross-entropy {v['val_ce']:.3f}, KL {v['val_kl']:.2f}, events right "
          f"{v['val_accuracy']:.3f}; wrote {out / 'last.pt'}, {out / 'best.pt'}, {out / 'train_log.csv'}, "
          f"{out / 'loss_curves.png'}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Train srlive's step decoder, or the paper's semi-recurrent "
                                                       "CNN VAE-GAN.")
    p.add_argument("--preset", "--config", dest="preset", default="live",
                   help=f"training preset: the step decoder's ({', '.join(PHRASE_CONFIGS)}: the shipped models) or "
                        f"the paper's VAE-GAN's ({', '.join(TRAIN_PRESETS)}) (default live; --config is the older "
                        "name of this option)")
    p.add_argument("--data", help="prepared corpus: a BarCorpus .npz or a cache folder (default: prepare/load the default cache)")
    p.add_argument("--out", required=True, help="output folder: train_log.csv, loss_curves.png, last.pt, best.pt")
    p.add_argument("--steps", type=int, help="train until this many steps in total (one D + two E/G updates each)")
    p.add_argument("--minutes", type=float, help="stop after this many minutes of this run")
    p.add_argument("--batch-size", type=int, help="pairs per batch and rank (default: the preset's, 64)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--resume", action="store_true", help="continue exactly from OUT/last.pt")
    p.add_argument("--init-from", metavar="CKPT",
                   help="fine-tune: start from this checkpoint's weights, optimiser moments and step, "
                        "with this run's settings (--preset, --set)")
    p.add_argument("--val-every", type=int, help="validate (and checkpoint) every N steps (default 500)")
    p.add_argument("--keep-every", type=int, default=0, metavar="N",
                   help="also keep a snapshot OUT/step-NNNNNN.pt at each validation every N steps (0: only last.pt, best.pt)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override one training setting of the preset, e.g. --set lr_g=2e-4 (repeatable)")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return run_tool(PROG, lambda: _train_main(args))


def _train_main(args) -> int:
    dist = dist_from_env()
    if args.preset not in TRAIN_PRESETS and args.preset not in PHRASE_CONFIGS:
        names = sorted([*TRAIN_PRESETS, *PHRASE_CONFIGS])
        raise UserError(f"unknown preset {args.preset!r}; choose one of {', '.join(names)}")
    if args.steps is None and args.minutes is None:
        raise UserError("say how long to train: --steps N and/or --minutes M")
    if (args.steps is not None and args.steps < 0) or (args.minutes is not None and args.minutes <= 0):
        raise UserError("--steps must be >= 0 and --minutes > 0")
    if args.batch_size is not None and args.batch_size < 1:
        raise UserError("--batch-size must be at least 1")
    if args.keep_every < 0:
        raise UserError("--keep-every must be >= 0 (0 keeps only last.pt and best.pt)")
    if args.device == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda asked for, but torch sees no CUDA device; use --device cpu")
    use_cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    device = torch.device(f"cuda:{dist.local_rank}" if use_cuda else "cpu")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    if dist.main:
        _check_out_dir(out)
    if args.preset in PHRASE_CONFIGS:
        return _train_step_decoder(args, out, device)
    tc = _with_options(dataclasses.replace(TRAIN_PRESETS[args.preset], seed=args.seed), args)
    corpus = _load_data(args.data)
    check_bar_width(corpus, tc.config)
    if len(corpus.pairs("train")) < tc.batch_size * dist.world_size:
        raise UserError(f"the corpus has {len(corpus.pairs('train'))} training pairs, fewer than one batch of "
                        f"{tc.batch_size} per rank; use a smaller --batch-size or more data")
    if dist.enabled:
        import torch.distributed as tdist

        if use_cuda:
            torch.cuda.set_device(dist.local_rank)
        tdist.init_process_group("nccl" if use_cuda else "gloo")
    if dist.main:
        if args.init_from and not args.resume:
            print(f"{PROG}: fine-tuning from {args.init_from}", file=sys.stderr)
        print(f"{PROG}: preset {args.preset}, {len(corpus.pairs('train'))} training pairs, device {device}, "
              f"world size {dist.world_size}, deviations: {'; '.join(tc.deviations()) or 'none'}", file=sys.stderr)
    try:
        res = run_training(corpus, tc, out, steps=args.steps, minutes=args.minutes, device=device,
                           resume=args.resume, dist=dist, progress=not args.no_progress,
                           keep_every=args.keep_every, init_from=args.init_from)
    finally:
        if dist.enabled:
            import torch.distributed as tdist

            tdist.destroy_process_group()
    if dist.main:
        last = " ".join(f"{k} {v:.4g}" for k, v in res.last.items())
        print(f"{PROG}: {res.step} steps in {res.seconds:.0f} s of training, {res.bars_per_sec:.0f} bars/s; "
              f"last losses: {last}", file=sys.stderr)
        if res.val:
            print(f"{PROG}: " + val_line(res.step, res.bars_per_sec, res.val), file=sys.stderr)
        print(f"{PROG}: wrote {out / 'last.pt'}, {out / 'best.pt'}, {out / 'train_log.csv'}, "
              f"{out / 'loss_curves.png'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
