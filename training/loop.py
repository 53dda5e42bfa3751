"""The training run: steps until a step count or a time limit, logging, validating and checkpointing.

    result = run_training(corpus, TRAIN_PRESETS["live"], "runs/live", minutes=55)

Every `log_every` steps a row of train_log.csv; every `val_every` steps (rank 0) the validation
losses on fixed validation batches and the listening check (srlive_training.listening), then
last.pt, best.pt (the best listening score so far) and, with keep_every, step-NNNNNN.pt; at the
end the same once more unless the last step just did it. One CheckpointWriter writes them all.

Several processes (torchrun): WORLD_SIZE/RANK/LOCAL_RANK come from the environment (Dist); each rank
trains on its own shard of every epoch; rank 0's clock decides when all stop; only rank 0 writes
the log, the PNG and checkpoints.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from srlive.errors import UserError
from srlive_training.batches import BatchStream, fixed_val_batches
from srlive_training.checkpoint import CheckpointError, read_checkpoint, save_checkpoint
from srlive_training.config import ModelConfig, get_config
from srlive_training.corpus import BarCorpus
from srlive_training.listening import listening_check, listening_score
from srlive_training.model import VAEGAN
from srlive_training.run_log import CsvLog, Window, plot_curves, val_line
from srlive_training.settings import TrainConfig
from srlive_training.trainer import Trainer, to_tensor


@dataclass
class Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def dist_from_env() -> Dist:
    ws = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    return Dist(rank, ws, int(os.environ.get("LOCAL_RANK", str(rank))))


@dataclass
class RunResult:
    model: VAEGAN
    step: int
    seconds: float
    bars_per_sec: float
    last: dict
    val: dict
    out_dir: Path | None


def load_start(path: str | os.PathLike, cfg: ModelConfig) -> dict:
    """The checkpoint a fine-tuning run starts from; a UserError when it is missing, unreadable,
    not a training checkpoint (an exported model has no D) or of another model config."""
    try:
        start = read_checkpoint(path)
    except CheckpointError as e:
        raise UserError(f"--init-from {e}") from None
    if not isinstance(start, dict) or not {"model", "step", "config"} <= start.keys() \
            or not any(k.startswith("discriminator.") for k in start["model"]):
        raise UserError(f"--init-from {path}: not a training checkpoint (it needs E, G and D's weights); "
                        "give last.pt, best.pt, a step-NNNNNN.pt or a shipped training/checkpoints/*.pt")
    try:
        their = ModelConfig.from_dict(start["config"])
    except ValueError as e:
        raise UserError(f"--init-from {path}: {e}") from None
    if their != cfg:
        raise UserError(f"--init-from {path}: its model config is {start['config'].get('name')!r}, not "
                        f"{cfg.name!r}; use --preset {start['config'].get('name')}")
    return start


def load_resume(out: Path | None) -> dict:
    """OUT/last.pt, to go on from exactly where it stopped: not a run of settings or a model
    config retired since (its deviations name them), which this code would go on differently."""
    if out is None or not (out / "last.pt").exists():
        raise UserError(f"nothing to resume: {out}/last.pt does not exist; drop --resume to start afresh")
    ckpt = read_checkpoint(out / "last.pt")
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    retired = [d.partition("=")[0] for d in ckpt.get("deviations", []) if d.partition("=")[0] not in names]
    try:
        ModelConfig.from_dict(ckpt["config"])
    except ValueError as e:
        retired.append(str(e))
    if retired:
        raise UserError(f"--resume {out}: it was trained with what this code no longer has ({'; '.join(retired)}); "
                        "start afresh in another --out")
    return ckpt


def new_model(cfg: ModelConfig, tc: TrainConfig, weights: dict | None) -> VAEGAN:
    """The model a run starts from: a checkpoint's weights, or a fresh one seeded by tc.seed (the
    same on every rank)."""
    torch.manual_seed(tc.seed)
    model = VAEGAN(cfg)
    if weights is not None:
        model.load_state_dict(weights["model"])
    return model


class CheckpointWriter:
    """last.pt always, best.pt when the listening score is the best so far (or there is none yet),
    step-NNNNNN.pt at validations whose step is a multiple of keep_every; then loss_curves.png."""

    def __init__(self, out: Path, model: VAEGAN, keep_every: int, best: float, name: str):
        self.out, self.model, self.keep_every, self.best, self.name = out, model, keep_every, best, name

    def write(self, extra: dict, val: dict, step: int, snapshot: bool) -> None:
        score = val.get("val_score", -math.inf)
        extra["best_score"] = max(self.best, score)
        save_checkpoint(self.out / "last.pt", self.model, **extra)
        if score > self.best or not (self.out / "best.pt").exists():
            self.best = max(self.best, score)
            save_checkpoint(self.out / "best.pt", self.model, **extra)
        if snapshot and self.keep_every > 0 and step % self.keep_every == 0:
            save_checkpoint(self.out / f"step-{step:06d}.pt", self.model, **extra)
        plot_curves(self.out / "train_log.csv", self.out, self.name)


class Run:
    """One run's state and what it does between steps: validate, log a row, checkpoint."""

    def __init__(self, corpus: BarCorpus, tc: TrainConfig, model: VAEGAN, trainer: Trainer, stream: BatchStream,
                 dist: Dist, device: torch.device, out: Path | None, writer: CheckpointWriter | None,
                 elapsed_before: float, origin: dict | None):
        self.corpus, self.tc, self.model, self.trainer, self.stream = corpus, tc, model, trainer, stream
        self.dist, self.device, self.out, self.writer, self.origin = dist, device, out, writer, origin
        self.elapsed_before, self.train_seconds = elapsed_before, 0.0
        self.val_batches = fixed_val_batches(corpus, tc.batch_size, tc.val_batches) if dist.main else []
        self.data_summary = dict(corpus.summary or {})
        self.data_summary.setdefault("bars", int(len(corpus.bars)))
        self.data_summary.setdefault("tunes", int(corpus.n_tunes))
        self.data_summary["train_pairs"] = int(len(corpus.pairs("train")))
        self.window = Window(tc.batch_size, dist.world_size)

    @property
    def seconds(self) -> float:
        return self.elapsed_before + self.train_seconds

    def step(self) -> dict:
        prev, nxt = self.stream.next()
        return self.trainer.train_step(to_tensor(prev, self.device), to_tensor(nxt, self.device))

    def is_val_step(self) -> bool:
        return self.tc.val_every > 0 and self.trainer.step % self.tc.val_every == 0

    def validate(self) -> dict:
        """Validation losses and the listening check (rank 0; the other ranks get {})."""
        if not self.dist.main:
            return {}
        self.model.eval()
        v = self.trainer.validation_losses(self.val_batches) if self.val_batches else {}
        lc = listening_check(self.model, self.corpus, n=self.tc.val_answers, seed=self.tc.seed, device=self.device)
        v.update({f"val_{k}": x for k, x in lc.items()})
        v["val_score"] = listening_score(lc)
        self.model.train()
        return v

    def log_row(self, log: CsvLog, val: dict) -> float:
        """One row of train_log.csv: the window's means (and val); returns the window's bars/s."""
        bps = self.window.bars_per_sec()
        row = self.window.means()
        row.update(step=self.trainer.step, time=round(self.seconds, 2), epoch=self.stream.epoch, bars_per_sec=bps, **val)
        log.write(row)
        self.window.reset()
        return bps

    def checkpoint_extra(self, val: dict) -> dict:
        """Everything but the weights that resuming needs, and what the run was. Collective under DDP
        (every rank's noise state is gathered): every rank must call it."""
        noise_states = [self.trainer.noise.get_state()]
        if self.dist.enabled:
            import torch.distributed as tdist

            noise_states = [None] * self.dist.world_size
            tdist.all_gather_object(noise_states, self.trainer.noise.get_state())
        tc = self.tc
        return {
            "step": self.trainer.step,
            "epoch": self.stream.epoch,
            "optimizers": self.trainer.state_dict(),
            "rng": {"data": self.stream.state(), "noise": noise_states},
            "train_config": tc.to_dict(),
            "deviations": tc.deviations(),
            "data_summary": self.data_summary,
            "train_seconds": self.seconds,
            "world_size": self.dist.world_size,
            "val": val,
            **({"init_from": self.origin} if self.origin else {}),
        }

    def checkpoint(self, val: dict, snapshot: bool) -> None:
        """Gather the checkpoint (every rank) and write it (rank 0), when the run has an output folder."""
        if self.out is None:
            return
        extra = self.checkpoint_extra(val)
        if self.writer is not None:
            self.writer.write(extra, val, self.trainer.step, snapshot)

    def should_stop(self, steps: int | None, minutes: float | None, elapsed: Callable[[], float]) -> bool:
        stop = (steps is not None and self.trainer.step >= steps) or (minutes is not None and elapsed() >= minutes * 60.0)
        if self.dist.enabled:  # every rank stops at the same step: rank 0's clock decides
            import torch.distributed as tdist

            flag = torch.tensor([1.0 if stop else 0.0])
            tdist.broadcast(flag, 0)
            stop = bool(flag.item())
        return stop


def _progress_bar(trainer: Trainer, steps: int | None):
    from tqdm import tqdm

    return tqdm(total=steps, initial=min(trainer.step, steps or trainer.step), desc="train", unit="step",
                mininterval=2.0, dynamic_ncols=True, file=sys.stderr)


def _show(bar, last: dict) -> None:
    bar.set_postfix(dict(D=f"{last['loss_d']:.3f}", adv=f"{last['loss_adv']:.3f}", Ll=f"{last['loss_feat']:.3g}",
                         prior=f"{last['loss_prior']:.3g}"), refresh=False)


def run_training(
    corpus: BarCorpus,
    tc: TrainConfig,
    out_dir: str | os.PathLike | None = None,
    *,
    steps: int | None = None,
    minutes: float | None = None,
    device: str | torch.device = "cpu",
    resume: bool = False,
    dist: Dist | None = None,
    progress: bool = True,
    now: Callable[[], float] = time.monotonic,
    model_config: ModelConfig | None = None,
    keep_every: int = 0,
    init_from: str | os.PathLike | None = None,
) -> RunResult:
    """Train until `steps` total steps (counting resumed ones) or `minutes` of this call, whichever
    comes first. Writes (rank 0, when out_dir is given) train_log.csv, loss_curves.png, last.pt,
    best.pt, and with keep_every = N > 0 also step-NNNNNN.pt at every validation whose step is a
    multiple of N (snapshots to choose from with `srlive-eval --split val`). Returns the trained
    model and the last figures.

    `init_from` (a fresh run only) fine-tunes: E, G and D's weights, Adam's moments and the step
    count come from that checkpoint, every setting from `tc` (learning rates included); the data
    order and noise start afresh from `tc.seed`, the log and the best score too. Training seconds
    go on from the checkpoint's, so steps and bars per second count both runs."""
    dist = dist or Dist()
    device = torch.device(device)
    out = Path(out_dir) if out_dir is not None else None
    cfg = model_config or get_config(tc.config)
    ckpt = load_resume(out) if resume else None
    if ckpt is not None:
        tc, cfg = TrainConfig.from_dict(ckpt["train_config"]), ModelConfig.from_dict(ckpt["config"])
    start = load_start(init_from, cfg) if init_from is not None and ckpt is None else None
    model = new_model(cfg, tc, ckpt or start)
    trainer = Trainer(model, tc, device, dist.rank, dist.enabled)
    stream = BatchStream(corpus, tc.batch_size, tc.seed, tc.augment, dist.rank, dist.world_size)
    best, elapsed_before = -math.inf, 0.0
    if ckpt is not None:
        trainer.load_state_dict(ckpt["optimizers"])
        trainer.step = int(ckpt["step"])
        trainer.noise.set_state(ckpt["rng"]["noise"][dist.rank])
        stream.restore(ckpt["rng"]["data"])
        best = float(ckpt.get("best_score", -math.inf))
        elapsed_before = float(ckpt.get("train_seconds", 0.0))
    if start is not None:
        moments = start.get("optimizers", {})  # none in a shipped checkpoint: Adam starts afresh
        trainer.load_moments(moments)
        trainer.step = int(start["step"])
        elapsed_before = float(start.get("train_seconds", 0.0))  # the model's training time, both runs
    origin = (ckpt or {}).get("init_from") or (start and {
        "path": str(init_from), "step": int(start["step"]), "deviations": start.get("deviations", [])})

    writes = out is not None and dist.main
    if writes:
        out.mkdir(parents=True, exist_ok=True)
    log = CsvLog(out / "train_log.csv" if writes else None, append=resume)
    writer = CheckpointWriter(out, model, keep_every, best, cfg.name) if writes else None
    run = Run(corpus, tc, model, trainer, stream, dist, device, out, writer, elapsed_before, origin)
    last: dict[str, float] = {}
    val: dict[str, float] = {}
    t_start = now()
    first_step = trainer.step
    bar = _progress_bar(trainer, steps) if progress and dist.main else None
    while not run.should_stop(steps, minutes, lambda: now() - t_start):
        t0 = now()
        last = run.step()
        dt = now() - t0
        run.train_seconds += dt
        run.window.add(last, dt)
        if bar is not None:
            bar.update(1)
            if trainer.step % 10 == 0:
                _show(bar, last)
        is_val = run.is_val_step()
        if trainer.step % tc.log_every == 0 or is_val:
            val = run.validate() if is_val else val
            bps = run.log_row(log, val if is_val else {})
            if is_val:
                if bar is not None:
                    bar.write(val_line(trainer.step, bps, val))
                elif dist.main:
                    print(val_line(trainer.step, bps, val), file=sys.stderr, flush=True)
                run.checkpoint(val, snapshot=True)
    if bar is not None:
        bar.close()
    # the final validation and checkpoint, unless the last step just wrote them (a run that took no
    # step, such as a fine-tune asked to stop where its checkpoint is, writes its start)
    if trainer.step > 0 and (trainer.step == first_step or not run.is_val_step()):
        val = run.validate()
        run.log_row(log, val)
        run.checkpoint(val, snapshot=False)
    bars_per_sec = trainer.step * tc.batch_size * dist.world_size / max(run.seconds, 1e-9)
    return RunResult(model, trainer.step, run.seconds, bars_per_sec, last, val, out)
