"""What a training run writes besides checkpoints: train_log.csv, the validation line, loss_curves.png."""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

LOG_COLUMNS = ["step", "time", "epoch", "bars_per_sec", "loss_d", "loss_e", "loss_g", "loss_prior", "loss_feat",
               "loss_adv", "d_real", "d_fake", "val_loss_d", "val_loss_adv", "val_loss_feat", "val_loss_prior",
               "val_key_fit", "val_key_fit_other", "val_context", "val_empty", "val_real_empty", "val_density",
               "val_real_density", "val_note_len", "val_real_note_len", "val_pitches", "val_real_pitches", "val_score"]


class CsvLog:
    """train_log.csv: one header, then one row per logged step (None: nothing written). Appending
    to a log keeps its own header's columns, so a run resumed from an older log stays aligned."""

    def __init__(self, path: Path | None, append: bool):
        self.path, self.columns = path, LOG_COLUMNS
        if path is not None and append and path.exists():
            with open(path, newline="") as f:
                self.columns = next(csv.reader(f), None) or LOG_COLUMNS
        elif path is not None:
            with open(path, "w", newline="") as f:
                csv.writer(f).writerow(LOG_COLUMNS)

    def write(self, row: dict) -> None:
        if self.path is None:
            return
        with open(self.path, "a", newline="") as f:
            csv.writer(f).writerow(["" if row.get(c) is None else (f"{row[c]:.6g}" if isinstance(row[c], float) else row[c])
                                    for c in self.columns])


class Window:
    """The training figures since the last logged row: their means and the bars per second."""

    def __init__(self, batch_size: int, world_size: int):
        self.bars_per_step = batch_size * world_size
        self.reset()

    def reset(self) -> None:
        self.n, self.seconds, self.sums = 0, 0.0, {}

    def add(self, figures: dict, seconds: float) -> None:
        self.n += 1
        self.seconds += seconds
        for k, v in figures.items():
            self.sums[k] = self.sums.get(k, 0.0) + v

    def bars_per_sec(self) -> float:
        return self.n * self.bars_per_step / max(self.seconds, 1e-9) if self.n else 0.0

    def means(self) -> dict:
        return {k: v / self.n for k, v in self.sums.items()} if self.n else {}


def val_line(step: int, bps: float, v: dict) -> str:
    """The validation figures in one line (printed at every validation and at the end)."""
    def f(k):
        x = v.get(k)
        return "nan" if x is None or not math.isfinite(x) else f"{x:.3f}"

    return (f"step {step}: {bps:.0f} bars/s | val L_D {f('val_loss_d')} L_l {f('val_loss_feat')} "
            f"prior {f('val_loss_prior')} recon {f('val_loss_recon')} pc {f('val_loss_pc')} | key fit {f('val_key_fit')} "
            f"context {f('val_context')} empty {f('val_empty')} (real {f('val_real_empty')}) "
            f"density {f('val_density')} (real {f('val_real_density')}) note len {f('val_note_len')} "
            f"(real {f('val_real_note_len')}) pitches {f('val_pitches')} (real {f('val_real_pitches')}) "
            f"score {f('val_score')}")


def plot_curves(csv_path: Path, out: Path, name: str, prog: str = "srlive-train") -> None:
    """loss_curves.png from the log; a failure is reported, never raised (a picture must never stop a run)."""
    from srlive_training.plots import loss_curves_png

    try:
        loss_curves_png(csv_path, out / "loss_curves.png", title=f"srlive training ({name})")
    except Exception as e:  # noqa: BLE001
        print(f"{prog}: could not draw the loss curves: {e}", file=sys.stderr)
