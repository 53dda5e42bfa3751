"""Does the exported ONNX compute what torch computes? Checked before anything is written.

Inputs: real bars (a BarCorpus's test bars, or music-like synthetic bars when no corpus is given)
and random bars (half uniform in [0, 1], half random binary), with fixed noise and temperatures.
Every output of every file is compared with torch on the same inputs (the generator is fed torch's
own z): the largest absolute difference must be ≤ the tolerance (1e-4), and the notes after
thresholding the bars at 0.5 must be identical — no cell may flip. Values within 1e-6 of the
threshold are counted and reported (they are where a flip would come from), not failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from srlive import roll
from srlive.model.synthetic_bars import music_like_bars
from srlive_training.model import VAEGAN, sample_z

TOLERANCE = 1e-4
NEAR = 1e-6


@dataclass
class FileParity:
    max_abs_diff: float = 0.0
    flips: int = 0  # bar cells on one side of the threshold in torch, the other in ONNX
    near_threshold: int = 0  # torch values within NEAR of the threshold
    cells: int = 0


@dataclass
class ParityReport:
    files: dict[str, FileParity] = field(default_factory=dict)
    n_real: int = 0
    n_random: int = 0
    real_source: str = ""
    tolerance: float = TOLERANCE

    @property
    def max_abs_diff(self) -> float:
        return max((f.max_abs_diff for f in self.files.values()), default=0.0)

    @property
    def flips(self) -> int:
        return sum(f.flips for f in self.files.values())

    @property
    def ok(self) -> bool:
        return self.max_abs_diff <= self.tolerance and self.flips == 0 and np.isfinite(self.max_abs_diff)

    def summary(self) -> str:
        parts = [f"{name} max|Δ| {f.max_abs_diff:.2e}, flips {f.flips}, near-threshold {f.near_threshold}"
                 for name, f in self.files.items()]
        return (f"parity on {self.n_real} real ({self.real_source}) + {self.n_random} random bars: "
                + "; ".join(parts))

    def failure(self) -> str:
        """One line saying by how much it failed."""
        bad = [f"{name} differs from torch by up to {f.max_abs_diff:.2e} (tolerance {self.tolerance:.0e}), "
               f"{f.flips} note cell(s) flip at {roll.DEFAULT_THRESHOLD}"
               for name, f in self.files.items() if f.max_abs_diff > self.tolerance or f.flips or not np.isfinite(f.max_abs_diff)]
        return "parity check failed: " + "; ".join(bad) + "; nothing written"


def real_bars_from_corpus(path: str | Path, n: int, rng: np.random.Generator, steps: int = roll.STEPS) -> np.ndarray:
    """Up to n bars, test split first (then validation, then train if the test split is small).
    The corpus's bars must be `steps` wide (the model's): else a UserError says so in one line."""
    from srlive_training.corpus import BarCorpus

    corpus = BarCorpus.load(path)
    corpus.require_width(steps, "the model", "give the corpus the model was trained on", where=f"--data {path}")
    if n <= 0:
        return np.zeros((0, roll.N_PITCHES, steps), np.float32)
    chosen: list[np.ndarray] = []
    have = 0
    for split in ("test", "val", "train"):
        tunes = corpus.tunes(split)
        if not tunes or have >= n:
            continue
        idx = np.concatenate(tunes)
        take = rng.permutation(idx)[: n - have]
        chosen.append(take)
        have += len(take)
    if not have:
        raise ValueError(f"{path}: the corpus holds no bars")
    return corpus.rolls(np.sort(np.concatenate(chosen)))


def random_bars(n: int, rng: np.random.Generator, steps: int = roll.STEPS) -> np.ndarray:
    """[n, 88, steps]: half uniform in [0, 1], half random binary with densities from 1% to 50%."""
    half = n // 2
    uniform = rng.random((half, roll.N_PITCHES, steps), dtype=np.float32)
    density = rng.uniform(0.01, 0.5, size=(n - half, 1, 1))
    binary = (rng.random((n - half, roll.N_PITCHES, steps)) < density).astype(np.float32)
    return np.concatenate([uniform, binary])


def parity_inputs(real: np.ndarray, n_random: int, latent: int, seed: int = 0, steps: int = roll.STEPS):
    """(bars [M,1,88,steps], noise [M,latent], temperature [M,1]) with fixed noise and temperatures."""
    rng = np.random.default_rng(seed)
    bars = np.concatenate([np.asarray(real, np.float32).reshape(-1, roll.N_PITCHES, steps),
                           random_bars(n_random, rng, steps)])
    m = len(bars)
    noise = rng.standard_normal((m, latent)).astype(np.float32)
    temperature = rng.choice(np.array([0.0, 0.5, 1.0, 1.5], np.float32), size=(m, 1))
    return bars[:, None], noise, temperature


def _session(proto: onnx.ModelProto) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.intra_op_num_threads = 1
    return ort.InferenceSession(proto.SerializeToString(), so, providers=["CPUExecutionProvider"])


def _compare(acc: FileParity, ref: np.ndarray, got: np.ndarray, is_bar: bool) -> None:
    diff = np.abs(ref.astype(np.float64) - got.astype(np.float64))
    acc.max_abs_diff = max(acc.max_abs_diff, float(diff.max()) if np.isfinite(diff).all() else float("inf"))
    if is_bar:
        t = roll.DEFAULT_THRESHOLD
        acc.flips += int(np.count_nonzero((ref >= t) != (got >= t)))
        acc.near_threshold += int(np.count_nonzero(np.abs(ref - t) < NEAR))
        acc.cells += ref.size


def check_parity(model: VAEGAN, protos: dict[str, onnx.ModelProto], bars: np.ndarray, noise: np.ndarray,
                 temperature: np.ndarray, n_real: int, real_source: str, batch: int = 250,
                 tolerance: float = TOLERANCE) -> ParityReport:
    model = model.eval()
    sessions = {name: _session(p) for name, p in protos.items()}
    report = ParityReport(files={name: FileParity() for name in protos}, n_real=n_real,
                          n_random=len(bars) - n_real, real_source=real_source, tolerance=tolerance)
    with torch.no_grad():
        for s in range(0, len(bars), batch):
            b, n, t = bars[s:s + batch], noise[s:s + batch], temperature[s:s + batch]
            mu, log_scale = model.encoder(torch.from_numpy(b))
            z = sample_z(mu, log_scale, torch.from_numpy(n), torch.from_numpy(t))
            out = model.generator(z)
            if "encoder.onnx" in sessions:
                o_mu, o_ls = sessions["encoder.onnx"].run(None, {"bar": b})
                _compare(report.files["encoder.onnx"], mu.numpy(), o_mu, False)
                _compare(report.files["encoder.onnx"], log_scale.numpy(), o_ls, False)
            if "generator.onnx" in sessions:
                (o_bar,) = sessions["generator.onnx"].run(None, {"z": z.numpy()})
                _compare(report.files["generator.onnx"], out.numpy(), o_bar, True)
            if "step.onnx" in sessions:
                (o_next,) = sessions["step.onnx"].run(None, {"bar": b, "noise": n, "temperature": t})
                _compare(report.files["step.onnx"], out.numpy(), o_next, True)
            if "critic.onnx" in sessions:  # on the bars heard and on the answers, as it ranks them
                for judged in (np.ascontiguousarray(b[:, :1]), out.numpy()):
                    (o_logit,) = sessions["critic.onnx"].run(None, {"bar": judged})
                    ref = model.discriminator(torch.from_numpy(judged))[0].numpy()
                    _compare(report.files["critic.onnx"], ref, o_logit, False)
    return report


def default_real_bars(data: str | Path | None, n: int, seed: int = 0, steps: int = roll.STEPS) -> tuple[np.ndarray, str]:
    """(real bars [n, 88, steps], where they came from): the corpus's test bars with --data, else
    music-like ones."""
    rng = np.random.default_rng(seed + 1)
    if data is not None:
        return real_bars_from_corpus(data, n, rng, steps), f"corpus {Path(data).name}"
    return music_like_bars(n, rng, steps), "synthetic music-like"
