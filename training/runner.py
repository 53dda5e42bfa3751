"""Model runners: one batched interface over a torch checkpoint or an exported ONNX model, used by
sampling and evaluation.

    runner = load_runner("runs/live/last.pt")          # or an export directory with step.onnx
    nxt = runner.answer(prev_bars, rng, temperature)   # [N, 88, 16] -> [N, 88, 16] in [0, 1]
    first = runner.from_noise(n, rng, temperature)     # G(temperature * z_p), z_p ~ N(0, I)

All randomness comes from the numpy Generator passed in, so a seed fixes the result whatever the
backend. `generate` runs the paper's two test frameworks (Akbari & Liang 2018, section 4), named by
where a chain of bars starts (START): "heard" starts from real bars, as the live tool answers what
it heard, and each next bar comes from the encoding of the last; "noise" starts from G(z_p), then
goes on as "heard" does.
A generated bar is fed back as it sounds: cells under the threshold are silenced first (what the
live engine hears when it continues from its own last bar).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from srlive.errors import ModelError, UserError
from srlive.contract import DEFAULT_TEMPERATURE
from srlive.roll import DEFAULT_THRESHOLD, LATENT, N_PITCHES, STEPS

BATCH = 512


def _noise(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.standard_normal((n, LATENT), dtype=np.float32)


class TorchRunner:
    """A VAEGAN from a training checkpoint, run in batches without gradients."""

    def __init__(self, model, name: str = "model", device: str = "cpu", batch: int = BATCH):
        import torch

        self.torch = torch
        self.model = model.to(device).eval()
        self.name = name
        self.temperature = DEFAULT_TEMPERATURE  # a checkpoint carries none; srlive-export --temperature sets it
        self.device = device
        self.batch = batch
        self.config = model.config

    def answer(self, prev: np.ndarray, rng: np.random.Generator, temperature: float = 1.0) -> np.ndarray:
        prev = np.asarray(prev, dtype=np.float32).reshape(-1, N_PITCHES, STEPS)
        noise = _noise(rng, len(prev))
        out = np.empty_like(prev)
        torch = self.torch
        with torch.no_grad():
            for a in range(0, len(prev), self.batch):
                bar = torch.from_numpy(prev[a : a + self.batch, None]).to(self.device)
                z = torch.from_numpy(noise[a : a + self.batch]).to(self.device)
                out[a : a + self.batch] = self.model.step(bar, z, float(temperature))[:, 0].cpu().numpy()
        return out

    def from_noise(self, n: int, rng: np.random.Generator, temperature: float = 1.0) -> np.ndarray:
        noise = _noise(rng, n) * np.float32(temperature)
        out = np.empty((n, N_PITCHES, STEPS), dtype=np.float32)
        torch = self.torch
        with torch.no_grad():
            for a in range(0, n, self.batch):
                z = torch.from_numpy(noise[a : a + self.batch]).to(self.device)
                out[a : a + self.batch] = self.model.generator(z)[:, 0].cpu().numpy()
        return out


class OnnxRunner:
    """An exported model directory through srlive.runtime: batched with `rt.step_batch` when the
    runtime has it, else one bar per `rt.step` call (as live)."""

    def __init__(self, rt, path: Path, name: str = "model", batch: int = BATCH):
        self.rt = rt
        self.temperature = rt.temperature  # the exported model's own (srlive.temperature)
        self.path = Path(path)
        self.name = name
        self.batch = batch
        self._generator = None

    def answer(self, prev: np.ndarray, rng: np.random.Generator, temperature: float = 1.0) -> np.ndarray:
        prev = np.asarray(prev, dtype=np.float32).reshape(-1, N_PITCHES, STEPS)
        noise = _noise(rng, len(prev))
        if hasattr(self.rt, "step_batch"):
            out = np.empty_like(prev)
            for a in range(0, len(prev), self.batch):
                out[a : a + self.batch] = np.asarray(
                    self.rt.step_batch(prev[a : a + self.batch], noise[a : a + self.batch], float(temperature))
                ).reshape(-1, N_PITCHES, STEPS)
            return out
        return np.stack([np.asarray(self.rt.step(b, z, float(temperature)), dtype=np.float32).reshape(N_PITCHES, STEPS)
                         for b, z in zip(prev, noise)]) if len(prev) else prev.copy()

    def from_noise(self, n: int, rng: np.random.Generator, temperature: float = 1.0) -> np.ndarray:
        gen = self.path / "generator.onnx"
        if not gen.is_file():
            raise ModelError(f"{self.path} has no generator.onnx, which starting from noise needs; use --start heard")
        if self._generator is None:
            import onnxruntime as ort

            self._generator = ort.InferenceSession(str(gen), providers=["CPUExecutionProvider"])
        z = _noise(rng, n) * np.float32(temperature)
        return self._generator.run(None, {"z": z})[0].reshape(n, N_PITCHES, STEPS).astype(np.float32)


def load_runner(path, device: str = "cpu", name: str | None = None):
    """A runner for a torch checkpoint (.pt) or an exported ONNX directory (or its step.onnx).
    Raises ModelError (one line) when the file is missing or not a srlive model."""
    p = Path(path)
    name = name or (p.parent.name if p.name == "step.onnx" else p.stem if p.is_file() else p.name)
    if not p.exists():
        raise ModelError(f"model not found: {p}; pass a training checkpoint (.pt) or an exported model directory")
    onnx_dir = p.parent if p.suffix == ".onnx" else p if p.is_dir() else None
    if onnx_dir is not None:
        if not any((onnx_dir / f).is_file() for f in ("step.onnx", "encoder.onnx")):
            raise ModelError(f"{onnx_dir} has no step.onnx; pass a training checkpoint (.pt) or an exported model directory")
        try:
            from srlive.runtime import load_runtime
        except ImportError:
            raise ModelError("this build has no ONNX runtime (srlive.runtime); evaluate the torch checkpoint instead") from None
        try:
            return OnnxRunner(load_runtime(onnx_dir, device), onnx_dir, name)
        except UserError:
            raise
        except Exception as err:  # noqa: BLE001 - any failure to load is the user's file
            raise ModelError(f"cannot load the ONNX model in {onnx_dir}: {type(err).__name__}: {err}") from None
    from srlive_training.checkpoint import load_checkpoint

    try:
        model, _ = load_checkpoint(p, map_location=device)
    except ModelError:
        raise
    except Exception as err:  # noqa: BLE001 - truncated, foreign or mismatched files
        msg = str(err).splitlines()[0].split(". ")[0][:120] if str(err).strip() else type(err).__name__
        raise ModelError(f"cannot read checkpoint {p}: not a srlive training checkpoint or damaged ({msg})") from None
    return TorchRunner(model, name=name, device=device)


def as_heard(bars: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """The bar as it sounds: cells under the threshold silenced."""
    bars = np.asarray(bars, dtype=np.float32)
    return np.where(bars >= threshold, bars, np.float32(0))


def continue_bars(runner, first: np.ndarray, n_bars: int, rng: np.random.Generator, temperature: float = 1.0,
                  threshold: float = DEFAULT_THRESHOLD, on_bar=None) -> np.ndarray:
    """From bars `first` [N, 88, 16], generate n_bars next bars each from the one before:
    returns [N, n_bars, 88, 16] (the first bars themselves not included). `on_bar()` is called
    after each bar (progress)."""
    prev = np.asarray(first, dtype=np.float32).reshape(-1, N_PITCHES, STEPS)
    out = np.empty((len(prev), n_bars, N_PITCHES, STEPS), dtype=np.float32)
    for t in range(n_bars):
        out[:, t] = runner.answer(prev, rng, temperature)
        prev = as_heard(out[:, t], threshold)
        if on_bar is not None:
            on_bar()
    return out


#: Where a chain of generated bars starts, and what that is.
START = {"heard": "from a real bar", "noise": "from noise"}


def generate(runner, start: str, n_bars: int, rng: np.random.Generator, seeds: np.ndarray | None = None,
             n: int | None = None, temperature: float = 1.0, threshold: float = DEFAULT_THRESHOLD,
             on_bar=None) -> np.ndarray:
    """The paper's test frameworks, batched: [N, n_bars, 88, 16].

    start "heard": from real bars `seeds` [N, 88, 16], every bar answers the previous one.
    start "noise": the first bar is G(z_p) (N = n), then every bar answers the previous one."""
    if start not in START:
        raise ValueError(f"start must be one of {', '.join(START)}, got {start!r}")
    if n_bars < 1:
        return np.zeros((len(seeds) if seeds is not None else int(n or 0), 0, N_PITCHES, STEPS), dtype=np.float32)
    if start == "heard":
        if seeds is None:
            raise ValueError("starting from a heard bar needs seed bars")
        return continue_bars(runner, seeds, n_bars, rng, temperature, threshold, on_bar)
    first = runner.from_noise(int(n if n is not None else len(seeds)), rng, temperature)
    if on_bar is not None:
        on_bar()
    rest = continue_bars(runner, as_heard(first, threshold), n_bars - 1, rng, temperature, threshold, on_bar)
    return np.concatenate([first[:, None], rest], axis=1)
