"""Model configurations. A ModelConfig is a plain dataclass saved (as a dict) in every checkpoint
and, as JSON, in every exported ONNX file's `srlive.config` metadata.

- `paper`: Table 1 of Akbari & Liang (ICASSP 2018). E: conv 8-16-32, 5x5, stride 2, ELU, then a
  fully connected layer of 256 = mu || log_scale. G: projection to 88x16x64, 3x3 stride-1 deconvolutions
  32-16-8, a final convolution to 1 channel, tanh. D: 3x3 stride-1 convolutions 8-16-32-64,
  LeakyReLU, sigmoid.
- `live`: the same inputs and outputs, sized to train on two CPU cores and to run far under a
  millisecond per bar: G projects to 22x4x32 and upsamples twice with stride-2 deconvolutions;
  D uses stride-2 convolutions.

E hears one bar, the bar heard (the paper's x^{t-1}); G draws each cell of the next bar on its own.
`steps` is the bar's width (16: a 4/4 bar, 12: a triple bar); a checkpoint without it is 16.
The shipped models are the step decoder (srlive_training.phrase_model, its own PhraseConfig).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from srlive.contract import METERS, N_PITCHES, STEPS  # noqa: F401  (re-exported: the 4/4 bar roll is [N_PITCHES, STEPS])


class PlainConfig:
    """A frozen dataclass config as plain data: what checkpoints and `srlive.config` hold."""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict):
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown {cls.__name__} keys: {sorted(unknown)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


@dataclass(frozen=True)
class BarModelConfig(PlainConfig):
    """What every model's config names: the bar's width, the latent size and D (the critic, the
    paper's discriminator of srlive_training.model, which both kinds of model keep)."""

    name: str = "live"
    steps: int = STEPS  # the bar's width in sixteenths: 16 (4/4) or 12 (3/4, 6/8)
    latent: int = 128
    # discriminator
    disc_channels: tuple[int, ...] = (16, 32, 64)
    disc_kernel: int = 3
    disc_stride: int = 2
    # index into disc_channels of the block whose output feeds the feature-matching loss L_l
    feature_layer: int = -1

    def __post_init__(self):
        widths = sorted({m.steps for m in METERS.values()})
        if self.steps not in widths:
            raise ValueError(f"steps must be one of {widths} (a bar of a meter srlive plays), not {self.steps}")


@dataclass(frozen=True)
class ModelConfig(BarModelConfig):
    """The VAE-GAN: E's and G's layers besides the bar, the latent and D."""

    # encoder
    enc_channels: tuple[int, ...] = (8, 16, 32)
    enc_kernel: int = 5
    enc_stride: int = 2
    # generator: projection of z to (C, H, W), then deconvolutions; with gen_stride 2 each one
    # doubles H and W, so H * 2**len(gen_channels) must be 88 and W * 2**len(...) must be steps
    gen_proj: tuple[int, int, int] = (32, 22, 4)
    gen_channels: tuple[int, ...] = (16, 8)
    gen_kernel: int = 4
    gen_stride: int = 2

    def __post_init__(self):
        super().__post_init__()
        c, h, w = self.gen_proj
        k = self.gen_stride ** len(self.gen_channels)
        if h * k != N_PITCHES or w * k != self.steps:
            raise ValueError(
                f"gen_proj {self.gen_proj} with {len(self.gen_channels)} deconvolutions of stride "
                f"{self.gen_stride} does not give {N_PITCHES}x{self.steps}"
            )
        if self.gen_stride == 2 and self.gen_kernel % 2:
            raise ValueError("stride-2 deconvolutions need an even kernel (4 is usual)")

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        """A config from a checkpoint's dict. Checkpoints written while the retired switches
        (RETIRED) existed hold them; at the value that is this model they are dropped, any other
        value is a model this code no longer builds (training/results/EXPERIMENTS.md tells of it)."""
        gone = {k: v for k, v in d.items() if k in RETIRED and v != RETIRED[k]}
        if gone:
            raise ValueError(f"a model of a retired configuration ({', '.join(f'{k}={v}' for k, v in gone.items())}); "
                             "only the paper's and live configurations load")
        return super().from_dict({k: v for k, v in d.items() if k not in RETIRED})


#: ModelConfig fields of experiments that did not become a shipped model, at the value that
#: leaves the model as it is now: E hears one bar, G draws every cell of the bar and no more.
RETIRED = {"context": 1, "memory": 0, "memory_kind": "bars", "gen_time_margin": 0, "gen_output": "cells"}


PAPER = ModelConfig(
    name="paper",
    enc_channels=(8, 16, 32),
    enc_kernel=5,
    enc_stride=2,
    gen_proj=(64, 88, 16),
    gen_channels=(32, 16, 8),
    gen_kernel=3,
    gen_stride=1,
    disc_channels=(8, 16, 32, 64),
    disc_kernel=3,
    disc_stride=1,
    feature_layer=-2,
)

LIVE = ModelConfig(name="live")

CONFIGS = {"paper": PAPER, "live": LIVE}


def get_config(name: str) -> ModelConfig:
    try:
        return CONFIGS[name]
    except KeyError:
        raise ValueError(f"unknown model config {name!r}; choose one of {sorted(CONFIGS)}") from None
