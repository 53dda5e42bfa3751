"""Training settings: TrainConfig (every knob of a training run), the presets `srlive-train --preset`
starts from, and the checks on `--set KEY=VALUE` overrides.

`TRAIN_PRESETS["paper"]` is the paper's method exactly (Akbari & Liang 2018, eqs. 5-10 and its
optimiser settings); every other setting is a deviation from it, named by `TrainConfig.deviations()`
and saved in every checkpoint. Why each deviation exists is said at its field; what each did in
training runs is in training/results/EXPERIMENTS.md.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from srlive.contract import CONTEXTS, MEMORY_KINDS, MEMORY_MAX
from srlive.errors import UserError
from srlive_training import losses


@dataclass
class TrainConfig:
    config: str = "paper"  # model config name (training/config.py)
    # bars the encoder hears (ModelConfig.context): 1, the bar heard (the paper); 2, the bar before it
    # too. A tune keeps its pace over a phrase (a bar's note count correlates 0.8 with the bar four
    # before), which a chain of one-bar steps cannot pass on (training/results/EXPERIMENTS.md). A run
    # --init-from a one-bar checkpoint starts with E deaf to the second bar (its weights zero).
    context: int = 1
    # with context 2: the second bar is the mean of the performer's last `memory` bars instead of the
    # bar before (ModelConfig.memory): it stays theirs while the model answers its own bars, which
    # is what a chain of its own answers forgets (the pace of a phrase). 0: the bar before.
    memory: int = 0
    # what the memory keeps (ModelConfig.memory_kind): "bars", their mean; "rhythm", where their
    # notes start (their pace, none of their pitches)
    memory_kind: str = "bars"
    # the share of rows whose memory is silence (srlive answering before the performer has played)
    memory_silent_share: float = 0.1
    batch_size: int = 64
    lr_e: float = 5e-4
    lr_g: float = 5e-4
    lr_d: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.999
    eg_updates_per_d: int = 2
    # --- loss weights and deviations (paper: prior "paper", weights 1, the rest off)
    prior: str = "paper"
    kl_weight: float = 1.0
    # the prior's weight ramps from 0 to kl_weight over kl_warmup_steps, and each latent dimension
    # keeps free_bits nats for free (losses.prior_loss), so E does not give up the input early
    kl_warmup_steps: int = 0
    free_bits: float = 0.0
    feature_weight: float = 1.0
    feature_matching: str = "pairs"  # L_l per pair (the paper) or "batch": on the batch's mean features
    adv_weight: float = 1.0
    recon_weight: float = 0.0
    recon_pos_weight: float = 1.0  # weight of the sounding cells in the reconstruction BCE
    # + w * cross-entropy between the pitch-class profile of the real bars and the answer's
    # (losses.pitch_class_loss): what makes E carry the key of what it heard into z and G answer in
    # it; D's strided-convolution features see pitch only coarsely, so L_l hardly asks for it
    pitch_class_weight: float = 0.0
    pitch_class_prev_share: float = 0.0  # share of x^{t-1}'s profile in the pitch-class target
    density_weight: float = 0.0  # + w * squared log-ratio of sounding mass (losses.density_loss)
    density_sharpness: float = 0.0  # > 0: compare soft counts of cells over 0.5 instead of mass
    # + w * the shape of the bar (losses.structure_loss): soft counts of sounding cells, notes and
    # distinct pitches, and the pitch spread, against the real x^t's; without it the answers are
    # one-step notes scattered over many pitches, and it holds the note count away from the empty
    # bar the GAN tends to collapse to
    structure_weight: float = 0.0
    structure_power: float = 4.0  # soft-count power under the threshold (losses.soft_count)
    # share of each batch whose x^{t-1} is the model's own answer (as heard) to the real bar before,
    # and whose x^t is the real bar after that (scheduled sampling, Trainer.own_prev): a long solo
    # goes on from the model's own bars, which no real pair shows it. 0: every pair is real (the paper).
    own_prev_share: float = 0.0
    # the longest chain of its own answers such a row hears: each row's chain is 1 to own_prev_steps
    # answers long (drawn per row; shorter where the tune ends), each answering the one before from
    # the real bar heard, and its x^t is the real bar that many bars after the next. A solo goes on
    # for many bars; with 1 (one answer) a chain's drift from the tune's pace is never seen.
    own_prev_steps: int = 1
    # + w * the three terms of losses.motion_terms: melodic intervals, cells and pitches kept
    interval_weight: float = 0.0
    kept_cells_weight: float = 0.0
    kept_pitches_weight: float = 0.0
    # + w * the adversarial term of a pair critic P that tells real (x^{t-1}, x^t) pairs from
    # (x^{t-1}, x~^t): D judges bars one at a time, so a copy of the bar heard looks real to it
    pair_weight: float = 0.0
    pair_lr: float | None = None  # P's Adam learning rate (None: D's, lr_d)
    # + w * -log of how much G's answers to the same bars differ under two noises (mode seeking;
    # losses.mode_seeking_loss); E's mu and log_scale are held (detached) for it, so only G answers
    mode_seeking_weight: float = 0.0
    # + w * (share of steps at which the answer sounds - the real next bar's)^2 (losses.coverage_loss)
    coverage_weight: float = 0.0
    coverage_power: float = 8.0  # soft-count power under the threshold for it
    # + w * (log(1 + notes stacked over one at a step) - the real next bar's)^2
    # (losses.polyphony_loss): a step's sound is one pitch, not several hesitant ones
    polyphony_weight: float = 0.0
    polyphony_power: float = 4.0  # soft-count power under the threshold for it
    # + w * (log(1 + distinct pitches of the answer) - the real next bar's)^2 (losses.pitches_loss;
    # the structure term's pitch count on its own weight)
    pitches_weight: float = 0.0
    # + w * (log(1 + notes of the answer) - the real next bar's)^2 (losses.notes_loss; the
    # structure term's note count on its own weight)
    notes_weight: float = 0.0
    notes_read: bool = False  # count the answer's notes as the threshold reads them (losses.read_notes)
    # answers to the model's own bars (own_prev_share) are asked for the notes of the bar they answer,
    # not those of the real bar two on (losses.notes_targets; tried once, it did not help)
    notes_follow: bool = False
    # + w * (log(1 + the answers' two-note figures repeated at another place) - the real next bars')^2
    # (losses.figures_loss; batch means, each bar against the bar it follows)
    figures_weight: float = 0.0
    # + w * (mean pitch of the answer - the real next bar's)^2 in octaves (losses.register_loss)
    register_weight: float = 0.0
    # + w * the total variation distance between the batch's onsets per step of the bar and the
    # real next bars' (losses.onset_profile_loss): where in the bar notes start
    onset_profile_weight: float = 0.0
    # from this step on E is held (its outputs detached, so it gets no gradient and Adam leaves it
    # as it is) and only G and D learn; 0: E learns throughout, as in the paper. E learns to carry
    # the bar heard early; later in training it learns to carry so much of it that G copies it.
    encoder_freeze_step: int = 0
    # std of Gaussian noise added to every bar D sees, real and generated (instance noise): real
    # bars hold exactly 0 and 90/127, which no tanh output can match, so without it D wins by the
    # cell values alone and G learns to show it as few cells as it can
    instance_noise: float = 0.0
    # True: the adversarial term's gradient also reaches E through z (cheaper: G runs on 2 batches,
    # D on 3, not 3 and 4); False: E's gradient is exactly that of L_E (eq. 8)
    encoder_adv_grad: bool = False
    # Initialisation (fresh runs only): start G's output at this density (the final layer's bias
    # set so every cell reads p0), instead of tanh(0) = 0.5 everywhere. Real bars are ~1% sounding
    # cells; from 0.5, Adam at lr 5e-4 needs thousands of steps just to reach silence. None: off.
    init_output_density: float | None = None
    # ... and start E's log_scale output at this value (the bias of its log_scale half), so that
    # early on z = mu + z_p * exp(log_scale) is not all noise and G can see what E heard. None: off.
    init_log_scale: float | None = None
    # --init-from only: D starts afresh (seeded by seed) instead of from the checkpoint's. The
    # shipped checkpoints' D is their critic (srlive-train-critic), trained on note cells without
    # instance noise: as a GAN's D it starts so sure that the feature-matching term is ~1,000 times
    # its usual size
    fresh_discriminator: bool = False
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
NOT_DEVIATIONS = frozenset({"config", "beta2", "augment", "seed", "fresh_discriminator", "log_every", "val_every",
                            "val_batches", "val_answers"})


#: The training settings each `--preset` starts from (CLI flags override batch size and seed).
TRAIN_PRESETS: dict[str, TrainConfig] = {
    "paper": TrainConfig(config="paper"),
    # The recipe every shipped model starts from: the paper's losses plus the pitch-class and
    # structure terms, instance noise, free bits with a KL warm-up, and G's output started near
    # silence (why each: the TrainConfig comments above; how they were chosen:
    # training/results/EXPERIMENTS.md). The default model is `live-steps` with coverage_weight=100,
    # then fine-tuned with onset_profile_weight=100 as well, then with own_prev_share=0.5,
    # kept_pitches_weight=100 and kept_cells_weight=10 too (README, "Train, export, evaluate"). The
    # triple model is `live-triple`, then fine-tuned with all of those at once and pitch_class_weight=100.
    "live": TrainConfig(config="live", pitch_class_weight=50.0, pitch_class_prev_share=0.5,
                        structure_weight=30.0, structure_power=12.0, instance_noise=0.2,
                        free_bits=0.1, kl_warmup_steps=1000, encoder_adv_grad=True, init_output_density=0.02,
                        val_every=250),
}
# the same settings for the generator that draws beyond the bar's edges (training/config.py)
TRAIN_PRESETS["live-steps"] = dataclasses.replace(TRAIN_PRESETS["live"], config="live-steps")
# the same settings for the generator that draws one pitch or a rest a step (training/config.py)
TRAIN_PRESETS["live-step-pitch"] = dataclasses.replace(TRAIN_PRESETS["live"], config="live-step-pitch")
# the same settings for bars of 12 sixteenths (3/4, 6/8: the triple model)
TRAIN_PRESETS["live-triple"] = dataclasses.replace(TRAIN_PRESETS["live"], config="live-triple")


def apply_overrides(tc: TrainConfig, items: list[str]) -> TrainConfig:
    """--set KEY=VALUE on a TrainConfig: the value is parsed as the field's type."""
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
            elif isinstance(current, int):
                value = int(raw)
            elif isinstance(current, float) or current is None:
                value = None if raw.lower() == "none" else float(raw)
            else:
                value = type(current)(raw)
        except ValueError:
            kind = ("number (or none)" if current is None else
                    {bool: "true or false", int: "whole number", float: "number"}.get(type(current), type(current).__name__))
            raise UserError(f"--set {key}={raw}: not a valid {kind}") from None
        problem = setting_problem(key, value)
        if problem:
            raise UserError(f"--set {key}={raw}: {problem}")
        tc = dataclasses.replace(tc, **{key: value})
    if getattr(tc, "memory", 0) and tc.context != 2:
        raise UserError(f"--set memory={tc.memory} is what the second bar heard holds; add --set context=2")
    return tc


#: The TrainConfig settings that name one of a few ways (losses.prior_loss, losses.feature_matching_loss).
SETTING_CHOICES = {"prior": losses.PRIOR_KINDS, "feature_matching": losses.FEATURE_MATCHING_KINDS,
                   "memory_kind": MEMORY_KINDS}


def setting_problem(key: str, value) -> str | None:
    """Why a training setting's value makes no sense (None if it does): weights and noise are
    >= 0, shares lie in [0, 1], learning rates and powers are > 0, Adam's betas lie in [0, 1),
    and a named choice is one of SETTING_CHOICES."""
    if key in SETTING_CHOICES and value not in SETTING_CHOICES[key]:
        return "use " + " or ".join(SETTING_CHOICES[key])
    if key == "context" and value not in CONTEXTS:
        return "bars heard: " + " or ".join(map(str, CONTEXTS))
    if key == "memory" and (isinstance(value, (bool, float, str)) or not 0 <= value <= MEMORY_MAX):
        return f"the performer's last 1 to {MEMORY_MAX} bars (with --set context=2), or 0"
    if value is None or isinstance(value, (bool, str)):
        return None
    if not math.isfinite(value):
        return "must be a finite number"
    if key.endswith("_share") and not 0 <= value <= 1:
        return "a share must lie between 0 and 1"
    if key == "own_prev_steps" and not 1 <= value <= 8:
        return "a chain of 1 to 8 of the model's own answers"
    if (key.startswith("lr_") or key in ("pair_lr", "structure_power", "coverage_power", "polyphony_power", "eg_updates_per_d", "batch_size")) and value <= 0:
        return "must be greater than 0"
    if key == "init_output_density" and not 0 < value < 1:
        return "a density lies strictly between 0 and 1"
    if key.startswith("beta") and not 0 <= value < 1:
        return "Adam's betas lie in [0, 1)"
    if value < 0 and key not in ("init_log_scale",):
        return "must not be negative"
    return None
