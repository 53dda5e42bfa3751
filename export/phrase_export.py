"""The step decoder's ONNX files (srlive_training.phrase_model): step.onnx and critic.onnx.

step.onnx keeps the contract every srlive model has (docs/design.md): the bars heard
[N, C, 88, S] (C = len(srlive.history): the bars 1, 2, 4 and 8 back), noise [N, L] and the
temperature [N, 1] in, the answer [N, 1, 88, S] out. Its noise is z's (the first `latent` values)
followed by one value a step for the event draws, so `srlive.latent` is L = latent + S and the
runtime draws it as it draws any model's noise. The step loop is unrolled in the graph: one call a
bar, N candidates in one batch. There is no encoder.onnx + generator.onnx pair: the decoder reads
the bars heard at every step, not z alone.

step.onnx is traced with torch's TorchScript exporter: torch.export (the dynamo exporter the other
files use) takes many minutes over the unrolled loop, the tracer seconds, and the graph is the same
arithmetic (parity below holds it to torch).

Parity: the same inputs give the same answer in torch and ONNX, the same events (no cell sounding in
one and silent in the other) and values within the tolerance.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import onnx
import onnxruntime as ort
import torch

from srlive_export.onnx_export import IR_VERSION, OPSET, CriticModule, _quiet, to_onnx
from srlive_export.optimize import rewrite_elu
from srlive.contract import META, ONNX_FILES
from srlive_training.phrase_model import PhraseVAE, PlayModule

FILES = ("step.onnx", "critic.onnx")


def traced_step(model: PhraseVAE) -> onnx.ModelProto:
    """step.onnx of the step decoder, traced (dynamic batch N)."""
    cfg = model.config
    g = torch.Generator().manual_seed(0)
    example = ((torch.rand(3, cfg.context, 88, cfg.steps, generator=g) > 0.95).float(),
               torch.randn(3, cfg.noise_size, generator=g), torch.ones(3, 1))
    inputs, outputs = ONNX_FILES["step.onnx"]
    buf = io.BytesIO()
    with _quiet(), torch.no_grad():
        torch.onnx.export(PlayModule(model.eval()), example, buf, input_names=list(inputs), output_names=list(outputs),
                          dynamic_axes={name: {0: "N"} for name in (*inputs, *outputs)}, opset_version=OPSET,
                          dynamo=False)
    proto = onnx.load_from_string(buf.getvalue())
    proto.ir_version = min(proto.ir_version, IR_VERSION)
    return proto


def export_phrase_protos(model: PhraseVAE, rewrite: bool = True, progress=None) -> dict[str, onnx.ModelProto]:
    """{"step.onnx": ..., "critic.onnx": ...} without metadata."""
    cfg = model.config
    protos = {"step.onnx": traced_step(model)}
    if progress is not None:
        progress("step.onnx")
    inputs, outputs = ONNX_FILES["critic.onnx"]
    protos["critic.onnx"] = to_onnx(CriticModule(model.discriminator), list(inputs), list(outputs), cfg.latent, cfg.steps)
    if rewrite:
        rewrite_elu(protos["critic.onnx"])
    if progress is not None:
        progress("critic.onnx")
    return protos


def phrase_metadata(props: dict[str, str], model: PhraseVAE) -> dict[str, str]:
    """The metadata of every srlive model, with the step decoder's noise size and the bars it hears."""
    cfg = model.config
    return {**props, META["latent"]: str(cfg.noise_size), META["context"]: str(cfg.context),
            META["history"]: "[" + ", ".join(map(str, cfg.history)) + "]"}


@dataclass
class PhraseParity:
    bars: int
    max_abs_diff: float
    event_flips: int  # cells sounding in one and silent in the other
    tolerance: float

    @property
    def ok(self) -> bool:
        return self.event_flips == 0 and self.max_abs_diff <= self.tolerance

    def summary(self) -> str:
        return (f"step.onnx on {self.bars} phrases: max|Δ| {self.max_abs_diff:.2e}, "
                f"cells sounding in one and not the other: {self.event_flips}")


def parity_histories(real: np.ndarray, n_random: int, context: int, seed: int = 0) -> np.ndarray:
    """[M, C, 88, S] phrases heard: consecutive real bars (each channel a bar further back), and
    random sparse bars."""
    rng = np.random.default_rng(seed)
    real = np.asarray(real, np.float32)
    steps = real.shape[-1]
    hist_real = np.stack([np.roll(real, k, axis=0) for k in range(context)], axis=1)
    density = rng.uniform(0.005, 0.1, size=(n_random, 1, 1, 1))
    rand = (rng.random((n_random, context, 88, steps)) < density).astype(np.float32)
    return np.concatenate([hist_real, rand])


def check_phrase_parity(model: PhraseVAE, proto: onnx.ModelProto, histories: np.ndarray, seed: int = 0,
                        tolerance: float = 1e-4) -> PhraseParity:
    rng = np.random.default_rng(seed + 1)
    m = len(histories)
    noise = rng.standard_normal((m, model.config.noise_size)).astype(np.float32)
    temperature = rng.choice(np.array([0.5, 1.0, 1.5], np.float32), size=(m, 1))
    so = ort.SessionOptions()
    so.log_severity_level = 3
    session = ort.InferenceSession(proto.SerializeToString(), so, providers=["CPUExecutionProvider"])
    got = session.run(None, {"bar": histories, "noise": noise, "temperature": temperature})[0]
    with torch.no_grad():
        want = model.eval().play(torch.from_numpy(histories), torch.from_numpy(noise),
                                 torch.from_numpy(temperature)).numpy()
    return PhraseParity(bars=m, max_abs_diff=float(np.abs(got - want).max()),
                        event_flips=int(((got > 0) != (want > 0)).sum()), tolerance=tolerance)
