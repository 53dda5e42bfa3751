"""Model configurations. A ModelConfig is a plain dataclass saved (as a dict) in every checkpoint
and, as JSON, in every exported ONNX file's `srlive.config` metadata.

- `paper`: Table 1 of Akbari & Liang (ICASSP 2018). E: conv 8-16-32, 5x5, stride 2, ELU, then a
  fully connected layer of 256 = mu || log_scale. G: projection to 88x16x64, 3x3 stride-1 deconvolutions
  32-16-8, a final convolution to 1 channel, tanh. D: 3x3 stride-1 convolutions 8-16-32-64,
  LeakyReLU, sigmoid.
- `live`: the same inputs and outputs, sized to train on two CPU cores and to run far under a
  millisecond per bar: G projects to 22x4x32 and upsamples twice with stride-2 deconvolutions;
  D uses stride-2 convolutions.
- `live-triple`: `live` for bars of 12 sixteenths (3/4, 6/8; the triple model): E and D read
  88x12, G draws 16 steps (the same 22x4x32 projection) and keeps the middle 12, so every step of
  the bar is an inner column of its transposed convolutions (see gen_time_margin).
- `live-step-pitch`: `live-steps` drawing one pitch or a rest at each step (gen_output "step",
  training/model.py one_pitch_per_step) instead of every cell on its own.

`steps` is the bar's width (16: a 4/4 bar, 12: a triple bar); a checkpoint without it is 16.
`context` is how many bars E hears: 1, the bar heard (the paper); 2, the bar heard and the one before
it, stacked as channels (docs/design.md, "The model and its ONNX contract"). A checkpoint without it is 1.
`memory` (with context 2) makes the second bar the performer's memory instead: the mean of the last
`memory` bars the performer played (srlive.roll.memory_of, `memory_kind` "bars"), or at each step
the share of them with a note starting there ("rhythm"); 0, and a checkpoint without it, hear the
bar before.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from srlive.contract import CONTEXTS, MEMORY_KINDS, MEMORY_MAX, METERS, N_PITCHES, STEPS  # noqa: F401  (re-exported: the 4/4 bar roll is [N_PITCHES, STEPS])


#: what G draws (ModelConfig.gen_output)
GEN_OUTPUTS = ("cells", "step")


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
class ModelConfig(PlainConfig):
    name: str = "live"
    steps: int = STEPS  # the bar's width in sixteenths: 16 (4/4) or 12 (3/4, 6/8)
    latent: int = 128
    # bars E hears, stacked as channels: 1 (the bar heard) or 2 (and the bar before it)
    context: int = 1
    # with context 2, what the second bar is: 0, the bar before the bar heard; M > 0, the mean of
    # the performer's last M bars (the bar heard among them when it is theirs), which stays the
    # performer's while srlive answers its own bars: their pace and pitches over a phrase
    memory: int = 0
    # what the memory keeps of those bars (srlive.roll.memory_of): "bars" or "rhythm"
    memory_kind: str = "bars"
    # encoder
    enc_channels: tuple[int, ...] = (8, 16, 32)
    enc_kernel: int = 5
    enc_stride: int = 2
    # generator: projection of z to (C, H, W), then deconvolutions; with gen_stride 2 each one
    # doubles H and W, so H * 2**len(gen_channels) must be 88 and W * 2**len(...) must be
    # steps + 2 * gen_time_margin. The margin: G draws gen_time_margin steps more on each side of the
    # bar and they are cut off. A stride-2 transposed convolution gives its first and last output
    # columns one kernel tap where the others get two (and the last convolution pads them with
    # zeros), which left the downbeat and the bar's last steps weak; with a margin every step of
    # the bar is an inner column.
    gen_proj: tuple[int, int, int] = (32, 22, 4)
    gen_channels: tuple[int, ...] = (16, 8)
    gen_kernel: int = 4
    gen_stride: int = 2
    gen_time_margin: int = 0
    # what G draws (training/model.py): "cells", each cell's chance of a note on its own (the
    # paper's); "step", at each step one pitch or a rest, the likeliest pitch kept
    gen_output: str = "cells"
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
        c, h, w = self.gen_proj
        k = self.gen_stride ** len(self.gen_channels)
        if h * k != N_PITCHES or w * k != self.steps + 2 * self.gen_time_margin:
            raise ValueError(
                f"gen_proj {self.gen_proj} with {len(self.gen_channels)} deconvolutions of stride "
                f"{self.gen_stride} does not give {N_PITCHES}x{self.steps} (+ {self.gen_time_margin} steps each side)"
            )
        if self.gen_stride == 2 and self.gen_kernel % 2:
            raise ValueError("stride-2 deconvolutions need an even kernel (4 is usual)")
        if self.gen_time_margin < 0:
            raise ValueError("gen_time_margin must be 0 or more")
        if self.gen_output not in GEN_OUTPUTS:
            raise ValueError(f"gen_output must be one of {list(GEN_OUTPUTS)}, not {self.gen_output!r}")
        if self.context not in CONTEXTS:
            raise ValueError(f"context must be one of {list(CONTEXTS)} bars heard, not {self.context}")
        if not 0 <= self.memory <= MEMORY_MAX or (self.memory and self.context != 2):
            raise ValueError(f"memory must be 0, or 1 to {MEMORY_MAX} bars with context 2, not {self.memory}")
        if self.memory_kind not in MEMORY_KINDS:
            raise ValueError(f"memory_kind must be one of {list(MEMORY_KINDS)}, not {self.memory_kind!r}")


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
# `live` drawing two steps more on each side of the bar, cut off (see gen_time_margin)
LIVE_STEPS = ModelConfig(name="live-steps", gen_proj=(32, 22, 5), gen_time_margin=2)
# `live-steps` with one pitch or a rest at each step (gen_output "step")
LIVE_STEP_PITCH = ModelConfig(name="live-step-pitch", gen_proj=(32, 22, 5), gen_time_margin=2, gen_output="step")
# `live` for triple bars: 12 steps, drawn 16 wide and cut 2 on each side
LIVE_TRIPLE = ModelConfig(name="live-triple", steps=METERS["3/4"].steps, gen_proj=(32, 22, 4), gen_time_margin=2)

CONFIGS = {"paper": PAPER, "live": LIVE, "live-steps": LIVE_STEPS, "live-triple": LIVE_TRIPLE,
           "live-step-pitch": LIVE_STEP_PITCH}


def get_config(name: str) -> ModelConfig:
    try:
        return CONFIGS[name]
    except KeyError:
        raise ValueError(f"unknown model config {name!r}; choose one of {sorted(CONFIGS)}") from None
