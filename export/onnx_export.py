"""torch modules → ONNX ModelProtos (in memory; the CLI checks and writes them).

Exporter: torch.onnx.export with dynamo=True (torch.export + onnxscript, the default since torch
2.9), a dynamic batch dimension "N" given as dynamic_shapes, and its graph optimiser on. It gives a
clean graph (Conv/Elu/Gemm/ConvTranspose/Tanh, no shape-computation clutter) whose initializers
keep the torch parameter names ("encoder.fc.weight", ...), which srlive.model.bench uses to rebuild the
torch model from the very same weights. The legacy TorchScript exporter (dynamo=False) is
deprecated and not used.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings

import onnx
import torch
from torch import nn

from srlive.contract import ONNX_FILES, STEPS
from srlive_export.optimize import rewrite_elu
from srlive_training.model import VAEGAN, StepModule

OPSET = 18  # >= 17 as docs/design.md asks; the dynamo exporter's own baseline
# IR version 9 (ONNX 1.15) is what onnxruntime 1.17, the oldest pyproject allows, reads; the graphs
# use nothing newer (no 4-bit types, no function overloads), and onnx.checker confirms it.
IR_VERSION = 9
EXAMPLE_BATCH = 3  # not 0 or 1, so torch.export cannot specialise the batch dimension


def _example_inputs(names: list[str], latent: int, steps: int = STEPS) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    shapes = {"bar": (1, 88, steps), "z": (latent,), "noise": (latent,), "temperature": (1,)}
    return tuple(torch.rand(EXAMPLE_BATCH, *shapes[n], generator=g) for n in names)


@contextlib.contextmanager
def _quiet():
    """The exporter logs about torchvision ops and prints progress; keep the CLI's output ours."""
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "torch._dynamo", "onnxscript")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def to_onnx(module: nn.Module, inputs: list[str], outputs: list[str], latent: int,
            steps: int = STEPS) -> onnx.ModelProto:
    """Export one module with the given input/output names and a dynamic batch dimension; bars
    are [N, 1, 88, steps]."""
    module = module.eval()
    batch = torch.export.Dim("N", min=1, max=1 << 16)
    with _quiet(), torch.no_grad():
        program = torch.onnx.export(
            module,
            _example_inputs(inputs, latent, steps),
            None,
            input_names=inputs,
            output_names=outputs,
            dynamic_shapes={name: {0: batch} for name in inputs},
            opset_version=OPSET,
            dynamo=True,
            external_data=False,
            optimize=True,
            verbose=False,
        )
    proto = program.model_proto
    proto.ir_version = min(proto.ir_version, IR_VERSION)
    got_in = [i.name for i in proto.graph.input]
    got_out = [o.name for o in proto.graph.output]
    if got_in != inputs or got_out != outputs:
        raise RuntimeError(f"exporter named the graph's inputs {got_in} and outputs {got_out}, expected {inputs} → {outputs}")
    return proto


class CriticModule(nn.Module):
    """The discriminator's realism logit alone (its features are training's business); exported as
    critic.onnx. Input: bar [N,1,88,S]. Output: logit [N,1], higher = more like real music."""

    def __init__(self, discriminator: nn.Module):
        super().__init__()
        self.discriminator = discriminator

    def forward(self, bar: torch.Tensor) -> torch.Tensor:
        return self.discriminator(bar)[0]


def export_protos(model: VAEGAN, rewrite: bool = True, progress=None) -> dict[str, onnx.ModelProto]:
    """{"encoder.onnx": ..., "generator.onnx": ..., "step.onnx": ..., "critic.onnx": ...}, without
    metadata yet.

    With `rewrite`, the exact speed rewrites of srlive_export.optimize are applied; `progress(filename)`,
    if given, is called as each file is done."""
    latent = model.config.latent
    modules = {
        "encoder.onnx": model.encoder,
        "generator.onnx": model.generator,
        "step.onnx": StepModule(model.encoder, model.generator),
        "critic.onnx": CriticModule(model.discriminator),
    }
    protos = {}
    for filename, module in modules.items():
        inputs, outputs = ONNX_FILES[filename]
        protos[filename] = to_onnx(module, list(inputs), list(outputs), latent, model.config.steps)
        if rewrite:
            rewrite_elu(protos[filename])
        if progress is not None:
            progress(filename)
    return protos
