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


def _bars(rolls) -> np.ndarray:
    """Bars [T, 88, 16] (from [T, 88, 16], [T, 1, 88, 16] or one [88, 16]) as float32."""
    r = np.asarray(rolls, dtype=np.float32)
    return r.reshape(-1, r.shape[-2], r.shape[-1])


def _pitch_window(*rolls) -> tuple[int, int]:
    """Rows [lo, hi) of the pitches used in any of the rolls, with a margin (all rows if none)."""
    bars = np.concatenate([_bars(r) for r in rolls])
    P = bars.shape[1]
    used = np.nonzero(bars.max(axis=(0, 2)) > 0)[0] if len(bars) else np.zeros(0, np.int64)
    return (max(0, used.min() - 4), min(P, used.max() + 5)) if used.size else (0, P)


def _draw_roll(ax, rolls, lowest_pitch: int, window: tuple[int, int]) -> None:
    """Bars side by side on `ax`: time left to right, pitch upwards over the rows `window`, cell
    value (velocity/127) as darkness, bar lines dashed."""
    r = _bars(rolls)
    T, P, S = r.shape
    img = np.concatenate(list(r), axis=1) if T else np.zeros((P, S), np.float32)
    lo, hi = window
    ax.imshow(img[lo:hi], origin="lower", aspect="auto", cmap="Greys", vmin=0, vmax=1,
              extent=(0, max(T, 1) * S, lowest_pitch + lo - 0.5, lowest_pitch + hi - 0.5), interpolation="nearest")
    for b in range(1, T):
        ax.axvline(b * S, color="tab:red", lw=0.8, ls="--")


def _save(fig, path, dpi: int = 90) -> Path:
    plt = _mpl()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def piano_roll_png(rolls, path, title: str = "", lowest_pitch: int = 21) -> Path:
    """Bars [T, 88, 16] (or [T, 1, 88, 16], or one [88, 16]) side by side as a piano roll: time
    left to right, pitch upwards, cell value (velocity/127) as darkness, bar lines dashed; cropped
    to the pitches used."""
    plt = _mpl()
    r = _bars(rolls)
    fig, ax = plt.subplots(figsize=(max(4, 1.6 * len(r)), 4))
    _draw_roll(ax, r, lowest_pitch, _pitch_window(r))
    ax.set_xlabel("sixteenth step")
    ax.set_ylabel("MIDI pitch")
    ax.set_title(title)
    fig.tight_layout()
    return _save(fig, path)


def piano_roll_rows_png(groups, path, title: str = "", lowest_pitch: int = 21, first_bar: int = 1) -> Path:
    """Groups of piano rolls stacked on one time axis: `groups` is a list of (heading, rows), each
    row (label, bars [T, 88, 16]) with the same T; the rows of a group share its pitch range, so a
    bar of one row sits over the same bar of the next. Beats are dotted; bars are numbered from
    `first_bar`."""
    plt = _mpl()
    n_rows = sum(len(rows) for _, rows in groups)
    fig = plt.figure(figsize=(8, 1.15 * n_rows + 0.5 * len(groups) + 0.4), layout="constrained")
    if title:
        fig.suptitle(title, fontsize=10)
    for sub, (heading, rows) in zip(np.atleast_1d(fig.subfigures(len(groups), 1, height_ratios=[len(r) for _, r in groups])), groups):
        sub.suptitle(heading, fontsize=9, fontweight="bold", x=0.02, ha="left")
        window = _pitch_window(*[bars for _, bars in rows])
        axes = sub.subplots(len(rows), 1, sharex=True, squeeze=False)[:, 0]
        for ax, (label, bars) in zip(axes, rows):
            bars = _bars(bars)
            S = bars.shape[-1]
            _draw_roll(ax, bars, lowest_pitch, window)
            for beat in (s for s in range(S // 4, len(bars) * S, S // 4) if s % S):
                ax.axvline(beat, color="0.6", lw=0.5, ls=":")
            ax.set_title(label, fontsize=8, loc="left", pad=2)
            ax.tick_params(labelsize=7)
        S = _bars(rows[-1][1]).shape[-1]
        axes[-1].set_xticks([(b + 0.5) * S for b in range(len(_bars(rows[-1][1])))])
        axes[-1].set_xticklabels([f"bar {first_bar + b}" for b in range(len(_bars(rows[-1][1])))])
    return _save(fig, path)
