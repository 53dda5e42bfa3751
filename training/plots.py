"""Pictures people look at: the training loss curves and piano rolls (PNG, matplotlib Agg)."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import numpy as np

# (column, label) per panel; a panel is drawn when any of its columns has values
LOSS_PANELS = (
    ("discriminator", (("loss_d", "train L_D"), ("val_loss_d", "val L_D"))),
    ("generator (adversarial)", (("loss_adv", "train adv"), ("val_loss_adv", "val adv"))),
    ("feature matching L_l", (("loss_feat", "train L_l"), ("val_loss_feat", "val L_l"))),
    ("prior L_prior", (("loss_prior", "train L_prior"), ("val_loss_prior", "val L_prior"))),
    ("reconstruction (BCE)", (("loss_recon", "train recon"), ("val_loss_recon", "val recon"))),
    ("pitch-class profile", (("loss_pc", "train"), ("val_loss_pc", "val"))),
    ("density (log mass ratio squared)", (("loss_density", "train"), ("val_loss_density", "val"))),
    ("bar shape (structure term)", (("loss_struct", "train"), ("val_loss_struct", "val"))),
    ("motion (intervals, cells kept)", (("loss_motion", "train"), ("val_loss_motion", "val"))),
    ("pair critic (copying seen)", (("loss_pair", "G's pair adv"), ("loss_pair_d", "P's loss"))),
    ("mode seeking (-log answer spread)", (("loss_spread", "train"),)),
    ("coverage (steps sounding)", (("loss_coverage", "train"),)),
    ("register (mean pitch, octaves squared)", (("loss_register", "train"), ("val_loss_register", "val"))),
    ("note shape (validation answers)", (("val_note_len", "steps per note"), ("val_real_note_len", "steps per note, real"),
                                         ("val_pitches", "pitches per bar"), ("val_real_pitches", "pitches per bar, real"))),
    ("listening (validation)", (("val_key_fit", "key fit"), ("val_context", "context sensitivity"),
                                ("val_empty", "empty bars"), ("val_real_empty", "empty bars, real"))),
)


def _mpl():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def read_log(csv_path) -> dict[str, np.ndarray]:
    """Columns of the training CSV as float arrays (empty cells -> NaN)."""
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    cols: dict[str, np.ndarray] = {}
    if not rows:
        return cols
    for key in rows[0]:
        if key is None:  # values past the header's columns (a log resumed by a newer version)
            continue
        vals = []
        for r in rows:
            try:
                vals.append(float(r[key]) if r[key] not in ("", None) else math.nan)
            except ValueError:
                vals.append(math.nan)
        cols[key] = np.asarray(vals, dtype=np.float64)
    return cols


def loss_curves_png(csv_path, png_path, title: str = "training") -> Path:
    """Draw every loss / validation column of the training CSV against the step; written
    atomically so a viewer never sees half a file."""
    plt = _mpl()
    cols = read_log(csv_path)
    step = cols.get("step", np.zeros(0))
    def drawn(c):  # a column with values, not all zero (a switched-off loss term)
        y = cols.get(c)
        if y is None or not np.isfinite(y).any():
            return False
        return not c.startswith(("loss_", "val_loss_")) or np.nanmax(np.abs(y)) > 0

    panels = [(name, [(c, lab) for c, lab in series if drawn(c)]) for name, series in LOSS_PANELS]
    panels = [p for p in panels if p[1]]
    n = max(1, len(panels))
    ncol = 2 if n > 1 else 1
    nrow = math.ceil(n / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(6 * ncol, 2.8 * nrow), squeeze=False)
    for ax, (name, series) in zip(axes.ravel(), panels):
        for col, label in series:
            y = cols[col]
            ok = np.isfinite(y)
            ax.plot(step[ok], y[ok], label=label, marker="o" if col.startswith("val_") else None, ms=3)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax in axes.ravel()[len(panels):]:
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    png_path = Path(png_path)
    tmp = png_path.with_name(png_path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    os.replace(tmp, png_path)
    return png_path


def piano_roll_png(rolls, path, title: str = "", lowest_pitch: int = 21) -> Path:
    """Bars [T, 88, 16] (or [T, 1, 88, 16], or one [88, 16]) side by side as a piano roll: time
    left to right, pitch upwards, cell value (velocity/127) as darkness, bar lines dashed."""
    plt = _mpl()
    r = np.asarray(rolls, dtype=np.float32)
    r = r.reshape(-1, r.shape[-2], r.shape[-1])
    T, P, S = r.shape
    img = np.concatenate(list(r), axis=1) if T else np.zeros((P, S), np.float32)
    # crop to the used pitch range (with a margin) so the notes are visible
    used = np.nonzero(img.max(1) > 0)[0]
    lo, hi = (max(0, used.min() - 4), min(P, used.max() + 5)) if used.size else (0, P)
    fig, ax = plt.subplots(figsize=(max(4, 1.6 * T), 4))
    ax.imshow(img[lo:hi], origin="lower", aspect="auto", cmap="Greys", vmin=0, vmax=1,
              extent=(0, T * S, lowest_pitch + lo - 0.5, lowest_pitch + hi - 0.5), interpolation="nearest")
    for b in range(1, T):
        ax.axvline(b * S, color="tab:red", lw=0.8, ls="--")
    ax.set_xlabel("sixteenth step")
    ax.set_ylabel("MIDI pitch")
    ax.set_title(title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
