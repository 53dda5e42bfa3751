"""Model runners: one batched interface over a torch checkpoint or an exported ONNX model, used by
sampling and evaluation, answering through srlive's own answer path (srlive.model.answer), so what is
measured is what srlive plays.

    runner = load_runner("runs/live/last.pt")          # or an export directory with step.onnx
    nxt = runner.answer(prev_bars, rng, temperature)   # [S, 88, 16] -> [S, 88, 16] in [0, 1]
    first = runner.from_noise(n, rng, temperature)     # G(temperature * z_p), z_p ~ N(0, I)

Each bar, every sample draws `candidates` answers in one batched model call and srlive.model.selection
chooses one (`runner.candidates` and `runner.selection`: an exported model's own, srlive.candidates
and srlive.selection; 1 and the built-in weights for a checkpoint; both can be set). With one
candidate a bar is the model's own answer to its noise.

All randomness comes from the numpy Generator passed in, so a seed fixes the result whatever the
backend; the noise is drawn as the live engine draws it (srlive.model.answer.draw_noise), so one sample
with the engine's seed gets the engine's answers. `generate` runs the paper's two test frameworks
(Akbari & Liang 2018, section 4), named by where a chain of bars starts (START): "heard" starts
from real bars, as the live tool answers what it heard, and each next bar answers the last;
"noise" starts from G(z_p), then goes on as "heard" does. A generated bar is fed back as it
sounds (srlive.roll.as_heard), as the live engine does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from srlive.contract import DEFAULT_TEMPERATURE, LATENT
from srlive.errors import ModelError, UserError
from srlive.model.answer import Answerer, draw_noise
from srlive.roll import DEFAULT_THRESHOLD, N_PITCHES, STEPS, as_heard  # noqa: F401  (as_heard: callers import it here too)
from srlive.model.selection import Weights
from srlive_training.metrics import as_bars

BATCH = 512  # model rows per call


class _Selecting:
    """What both runners share: selection settings and the answer through srlive.model.answer."""

    candidates: int = 1
    selection: Weights = Weights()
    latent: int = LATENT  # the size of the model's noise input (srlive.latent)

    def answerers(self, n: int, threshold: float = DEFAULT_THRESHOLD) -> list[Answerer]:
        """One answerer (with its own memory of the bars heard and played) per sample."""
        return [Answerer(self, self.candidates, self.selection, threshold) for _ in range(n)]

    def answer(self, prev: np.ndarray, rng: np.random.Generator, temperature: float = 1.0,
               answerers: list[Answerer] | None = None, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
        """The answer to each bar of `prev` [S, 88, W]: [S, 88, W], raw model output (W: the bar's
        width, 16 or 12). The `answerers` (one per sample) remember what each sample heard and
        played; without them each bar is answered with nothing remembered."""
        prev = as_bars(np.asarray(prev, dtype=np.float32))
        s, w = len(prev), prev.shape[-1]
        answerers = answerers or self.answerers(s, threshold)
        n = self.candidates
        noise = draw_noise(rng, s * n, self.latent)
        out = np.empty((s, N_PITCHES, w), np.float32)
        per_call = max(1, self.batch // n)
        for a in range(0, s, per_call):
            b = min(s, a + per_call)
            heard = np.stack([answerers[k].model_input(prev[k]) for k in range(a, b)])  # [S, context, 88, W]
            cands = np.asarray(self.candidates_for(heard, noise[a * n : b * n], float(temperature)), np.float32)
            cands = cands.reshape(b - a, n, N_PITCHES, w)
            for k in range(b - a):
                out[a + k] = answerers[a + k].choose(prev[a + k], cands[k], threshold=threshold).roll
        return out


class TorchRunner(_Selecting):
    """A VAEGAN from a training checkpoint, run in batches without gradients."""

    has_critic = True

    def __init__(self, model, name: str = "model", device: str = "cpu", batch: int = BATCH):
        import torch

        self.torch = torch
        self.model = model.to(device).eval()
        self.name = name
        self.temperature = DEFAULT_TEMPERATURE  # a checkpoint carries none; srlive-export --temperature sets it
        self.device = device
        self.batch = batch
        self.config = model.config
        self.steps = model.config.steps  # the bar's width

    def candidates_for(self, bars: np.ndarray, noise: np.ndarray, temperature: float) -> np.ndarray:
        """N answers to each of S bars (srlive.model.runtime.Runtime.candidates_for's contract)."""
        from srlive_training.model import sample_z

        torch = self.torch
        bars = np.asarray(bars, np.float32).reshape(-1, 1, N_PITCHES, self.steps)
        n = len(noise) // len(bars)
        with torch.no_grad():
            mu, log_scale = self.model.encoder(torch.from_numpy(bars).to(self.device))
            z = sample_z(mu.repeat_interleave(n, 0), log_scale.repeat_interleave(n, 0),
                         torch.from_numpy(np.asarray(noise, np.float32)).to(self.device), float(temperature))
            return self.model.generator(z)[:, 0].cpu().numpy()

    def critic(self, bars: np.ndarray) -> np.ndarray:
        torch = self.torch
        with torch.no_grad():
            x = torch.from_numpy(np.asarray(bars, np.float32).reshape(-1, 1, N_PITCHES, self.steps)).to(self.device)
            return self.model.discriminator(x)[0].reshape(-1).double().cpu().numpy()

    def from_noise(self, n: int, rng: np.random.Generator, temperature: float = 1.0) -> np.ndarray:
        noise = draw_noise(rng, n) * np.float32(temperature)
        out = np.empty((n, N_PITCHES, self.steps), dtype=np.float32)
        torch = self.torch
        with torch.no_grad():
            for a in range(0, n, self.batch):
                z = torch.from_numpy(noise[a : a + self.batch]).to(self.device)
                out[a : a + self.batch] = self.model.generator(z)[:, 0].cpu().numpy()
        return out


class OnnxRunner(_Selecting):
    """An exported model directory through srlive.model.runtime, as the live tool runs it."""

    def __init__(self, rt, path: Path, name: str = "model", batch: int = BATCH):
        self.rt = rt
        self.temperature = rt.temperature  # the exported model's own (srlive.temperature)
        self.candidates = getattr(rt, "candidates", 1)  # and its own selection (srlive.candidates, .selection)
        self.selection = getattr(rt, "selection", Weights())
        self.path = Path(path)
        self.name = name
        self.batch = batch
        self.steps = getattr(rt, "steps", STEPS)  # the bar's width (srlive.steps)
        self.context = getattr(rt, "context", 1)  # bars the encoder hears (srlive.context)
        self.memory = getattr(rt, "memory", 0)  # and what the second holds (srlive.memory)
        self.memory_kind = getattr(rt, "memory_kind", "bars")
        self.history = getattr(rt, "history", None)  # which bars back it hears (srlive.history)
        self.latent = int(getattr(rt, "latent", LATENT))
        self._generator = None

    @property
    def has_critic(self) -> bool:
        return bool(getattr(self.rt, "has_critic", False))

    def candidates_for(self, bars: np.ndarray, noise: np.ndarray, temperature: float) -> np.ndarray:
        if hasattr(self.rt, "candidates_for"):
            return self.rt.candidates_for(bars, noise, temperature)
        from srlive.model.answer import candidates_for

        return candidates_for(self.rt, bars, noise, temperature)

    def critic(self, bars: np.ndarray) -> np.ndarray:
        return self.rt.critic(bars)

    def from_noise(self, n: int, rng: np.random.Generator, temperature: float = 1.0) -> np.ndarray:
        """G(temperature * z_p); a model without generator.onnx that hears a phrase (the step
        decoder) answers silence instead, as srlive's solo begins."""
        gen = self.path / "generator.onnx"
        if not gen.is_file() and self.history and len(self.history) > 2:
            return self.answer(np.zeros((n, N_PITCHES, self.steps), np.float32), rng, temperature)
        if not gen.is_file():
            raise ModelError(f"{self.path} has no generator.onnx, which starting from noise needs; use --start heard")
        if self._generator is None:
            import onnxruntime as ort

            self._generator = ort.InferenceSession(str(gen), providers=["CPUExecutionProvider"])
        z = draw_noise(rng, n) * np.float32(temperature)
        return self._generator.run(None, {"z": z})[0].reshape(n, N_PITCHES, self.steps).astype(np.float32)


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
            from srlive.model.runtime import load_runtime
        except ImportError:
            raise ModelError("this build has no ONNX runtime (srlive.model.runtime); evaluate the torch checkpoint instead") from None
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


def continue_bars(runner, first: np.ndarray, n_bars: int, rng: np.random.Generator, temperature: float = 1.0,
                  threshold: float = DEFAULT_THRESHOLD, on_bar=None, before: np.ndarray | None = None) -> np.ndarray:
    """From bars `first` [N, 88, W], generate n_bars next bars each from the one before:
    returns [N, n_bars, 88, W] (the first bars themselves not included). `before` [N, B, 88, W],
    when given, are bars heard before `first`, oldest first (a phrase the chain goes on from).
    `on_bar()` is called after each bar (progress)."""
    prev = as_bars(np.asarray(first, dtype=np.float32))
    out = np.empty((len(prev), n_bars, N_PITCHES, prev.shape[-1]), dtype=np.float32)
    # one memory of the bars heard and played per sample (a runner without selection has none)
    answerers = runner.answerers(len(prev), threshold) if hasattr(runner, "answerers") else []
    for k, (answerer, bar) in enumerate(zip(answerers, prev)):
        for earlier in (() if before is None else before[k]):
            answerer.hear(heard=earlier)
        answerer.hear(heard=bar)  # the bar the chain starts from, as the engine hears a performer's bar
    for t in range(n_bars):
        if answerers:
            out[:, t] = runner.answer(prev, rng, temperature, answerers, threshold)
        else:
            out[:, t] = runner.answer(prev, rng, temperature)
        prev = as_heard(out[:, t], threshold)
        for answerer, bar in zip(answerers, prev):
            answerer.hear(played=bar)
        if on_bar is not None:
            on_bar()
    return out


#: Where a chain of generated bars starts, and what that is.
START = {"heard": "from a real bar", "noise": "from noise"}


def generate(runner, start: str, n_bars: int, rng: np.random.Generator, seeds: np.ndarray | None = None,
             n: int | None = None, temperature: float = 1.0, threshold: float = DEFAULT_THRESHOLD,
             on_bar=None) -> np.ndarray:
    """The paper's test frameworks, batched: [N, n_bars, 88, W] (W: the runner's bar width).

    start "heard": from real bars `seeds` [N, 88, 16], every bar answers the previous one.
    start "noise": the first bar is G(z_p) (N = n), then every bar answers the previous one."""
    if start not in START:
        raise ValueError(f"start must be one of {', '.join(START)}, got {start!r}")
    if n_bars < 1:
        return np.zeros((len(seeds) if seeds is not None else int(n or 0), 0, N_PITCHES, getattr(runner, "steps", STEPS)),
                        dtype=np.float32)
    if start == "heard":
        if seeds is None:
            raise ValueError("starting from a heard bar needs seed bars")
        return continue_bars(runner, seeds, n_bars, rng, temperature, threshold, on_bar)
    first = runner.from_noise(int(n if n is not None else len(seeds)), rng, temperature)
    if on_bar is not None:
        on_bar()
    rest = continue_bars(runner, as_heard(first, threshold), n_bars - 1, rng, temperature, threshold, on_bar)
    return np.concatenate([first[:, None], rest], axis=1)
