"""Training settings: TrainConfig (every knob of a training run), the presets `srlive-train --preset`
starts from, and the checks on `--set KEY=VALUE` overrides.

TrainConfig is the paper's method (Akbari & Liang 2018, eqs. 5-10 and its optimiser settings): its
defaults are the paper's, and `TrainConfig.deviations()` names any setting a run changes (saved in
every checkpoint). The switches and loss terms of experiments that did not become a shipped model
are gone; training/results/EXPERIMENTS.md tells what each did. Checkpoints that hold them still
load: `from_dict` reads the fields that are here and passes the rest over.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from srlive.errors import UserError


@dataclass
class TrainConfig:
    config: str = "paper"  # model config name (training/config.py)
    batch_size: int = 64
    lr_e: float = 5e-4
    lr_g: float = 5e-4
    lr_d: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.999
    eg_updates_per_d: int = 2
    # --- loss weights (srlive_training.losses; 1 in the paper)
    kl_weight: float = 1.0  # L_prior
    feature_weight: float = 1.0  # L_l
    adv_weight: float = 1.0  # G's adversarial term
    # --- data
    augment: bool = True
    seed: int = 0
    # --- bookkeeping
    log_every: int = 50
    val_every: int = 500
    val_batches: int = 8
    val_answers: int = 200

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def deviations(self) -> list[str]:
        """Plain words for every setting that differs from the paper's eqs. 5-10 / section 4
        (every field but NOT_DEVIATIONS, in field order)."""
        ref = TrainConfig()
        return [f"{f.name}={getattr(self, f.name)} (paper: {getattr(ref, f.name)})"
                for f in dataclasses.fields(self)
                if f.name not in NOT_DEVIATIONS and getattr(self, f.name) != getattr(ref, f.name)]


#: TrainConfig fields that are not a departure from the paper's method: which model config, the
#: data order, bookkeeping, and beta2 (the paper names only beta1).
NOT_DEVIATIONS = frozenset({"config", "beta2", "augment", "seed", "log_every", "val_every", "val_batches",
                            "val_answers"})


#: The training settings each `--preset` of the VAE-GAN starts from (CLI flags override batch size
#: and seed): the paper's method on the paper's model, and on the `live` model (the paper's sized
#: for two CPU cores, what tests and quick runs train). The step decoder's presets are
#: srlive_training.phrase_model.PHRASE_CONFIGS.
TRAIN_PRESETS: dict[str, TrainConfig] = {
    "paper": TrainConfig(config="paper"),
    "live": TrainConfig(config="live"),
}


def apply_overrides(tc, items: list[str]):
    """--set KEY=VALUE on a settings dataclass (TrainConfig, or the step decoder's PhraseTraining):
    the value is parsed as the field's type."""
    names = {f.name for f in dataclasses.fields(type(tc))} - {"config"}  # config: use --preset
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in names:
            raise UserError(f"--set {item!r}: give KEY=VALUE with KEY one of {', '.join(sorted(names))}")
        current = getattr(tc, key)
        try:
            if isinstance(current, bool):
                if raw.lower() not in ("true", "false", "1", "0"):
                    raise ValueError(raw)
                value = raw.lower() in ("true", "1")
            else:
                value = type(current)(raw)
        except ValueError:
            kind = {bool: "true or false", int: "whole number", float: "number"}.get(type(current), type(current).__name__)
            raise UserError(f"--set {key}={raw}: not a valid {kind}") from None
        problem = setting_problem(key, value)
        if problem:
            raise UserError(f"--set {key}={raw}: {problem}")
        tc = dataclasses.replace(tc, **{key: value})
    return tc


def setting_problem(key: str, value) -> str | None:
    """Why a training setting's value makes no sense (None if it does): weights are >= 0, learning
    rates, the batch size and the updates per D update are > 0, Adam's betas lie in [0, 1)."""
    if isinstance(value, (bool, str)):
        return None
    if not math.isfinite(value):
        return "must be a finite number"
    if (key.startswith("lr") or key in ("eg_updates_per_d", "batch_size")) and value <= 0:
        return "must be greater than 0"
    if key.startswith("beta") and not 0 <= value < 1:
        return "Adam's betas lie in [0, 1)"
    if value < 0:
        return "must not be negative"
    return None
