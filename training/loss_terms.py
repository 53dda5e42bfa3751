"""The E/G loss as one table: every term, its weight, its loss function and the inputs it reads.

The training step (Trainer.train_step) and the validation losses (Trainer.validation_losses)
both walk TERMS: training adds `weight * train(...)` for each term that is on (always, or when its
weight is > 0; a term that is off is logged as 0); validation logs `val(...)` of every term that
has one, whatever its weight, on fixed batches, so runs with other weights compare.
Terms that draw noise from the trainer's generator (pair: instance noise; spread: a second
z_p) draw it in table order.

The losses themselves are srlive_training.losses (the paper's eqs. 5-10 and the deviations);
why each deviation exists is said at its TrainConfig field (srlive_training.settings).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import torch
import torch.nn.functional as F

from srlive_training import losses

if TYPE_CHECKING:
    from srlive_training.trainer import Trainer


@dataclass
class Pass:
    """One forward pass of E, G and D on a batch: what the loss terms read.

    prev, nxt: x^{t-1}, x^t; mu, log_scale: E(prev); z: the sampled latent; x_rec = G(z) (the answer),
    x_p = G(z_p); f_*: D's features of nxt, x_rec, x_p; l_rec, l_p: D's logits of the answer
    (in training: of G(z.detach()) unless encoder_adv_grad) and of x_p; heard_real: rows whose
    x^{t-1} is a real bar (the pair critic's fake pairs come only from these)."""

    prev: torch.Tensor
    nxt: torch.Tensor
    mu: torch.Tensor
    log_scale: torch.Tensor
    z: torch.Tensor | None
    x_rec: torch.Tensor
    x_p: torch.Tensor
    f_real: torch.Tensor
    f_rec: torch.Tensor
    f_p: torch.Tensor
    l_rec: torch.Tensor
    l_p: torch.Tensor
    heard_real: torch.Tensor | None = None

    def both(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(x_rec and x_p stacked, x^t twice): the terms that judge both answers against x^t."""
        return torch.cat([self.x_rec, self.x_p]), torch.cat([self.nxt, self.nxt])


Term = Callable[["Trainer", Pass], torch.Tensor]


@dataclass(frozen=True)
class LossTerm:
    name: str  # logged as loss_<name> (training) and val_loss_<name> (validation)
    weight: Callable[["Trainer"], float]  # the term's weight now (TrainConfig field, or the KL schedule)
    train: Term
    val: Term | None = None  # the validation figure (None: not validated)
    always: bool = False  # computed and logged even at weight 0 (the paper's own terms)


def field(name: str) -> Callable[["Trainer"], float]:
    """The weight a TrainConfig field holds."""
    return lambda t: getattr(t.tc, name)


def _judged(loss, options: Callable[["Trainer"], dict]) -> tuple[Term, Term]:
    """(train, val) of a loss that compares answers with x^t: in training both answers (o.both()),
    in validation the answer to the bar heard; options(trainer) gives its keyword arguments."""
    return (lambda t, o: loss(*o.both(), **options(t)),
            lambda t, o: loss(o.x_rec, o.nxt, **options(t)))


def _structure_power(t: "Trainer") -> dict:
    return {"power": t.tc.structure_power}


def _motion_on(t: "Trainer") -> float:
    """The motion terms carry their three weights inside (losses.motion_loss): 1 when any is on."""
    tc = t.tc
    return 1.0 if any((tc.interval_weight, tc.kept_cells_weight, tc.kept_pitches_weight)) else 0.0


def _motion(t: "Trainer", o: Pass) -> torch.Tensor:
    tc = t.tc
    w = (tc.interval_weight, tc.kept_cells_weight, tc.kept_pitches_weight)
    return (losses.motion_loss(o.x_rec, o.nxt, o.prev, power=tc.structure_power, weights=w)
            + losses.motion_loss(o.x_p, o.nxt, power=tc.structure_power, weights=w))


def _adv(t: "Trainer", o: Pass) -> torch.Tensor:
    return losses.generator_adversarial_loss(o.l_rec, o.l_p)


def _recon(t: "Trainer", o: Pass) -> torch.Tensor:
    return losses.reconstruction_loss(o.x_rec, o.nxt, t.tc.recon_pos_weight)


def _register(t: "Trainer", o: Pass) -> torch.Tensor:
    return losses.register_loss(o.x_rec, o.nxt, power=t.tc.structure_power)


def _figures(t: "Trainer", o: Pass) -> torch.Tensor:
    return losses.figures_loss(o.x_rec, o.nxt, o.prev, o.heard_real, power=t.tc.structure_power)


def _notes_options(t: "Trainer") -> dict:
    return {"power": t.tc.structure_power, "read": t.tc.notes_read}


def _notes(t: "Trainer", o: Pass) -> torch.Tensor:
    """notes_loss of both answers; with notes_follow, answers to the model's own bars are asked for
    the notes of the bar they answer (losses.notes_targets)."""
    target = losses.notes_targets(o.prev, o.nxt, o.heard_real) if t.tc.notes_follow else o.nxt
    return losses.notes_loss(torch.cat([o.x_rec, o.x_p]), torch.cat([target, o.nxt]), **_notes_options(t))


def _pair(t: "Trainer", o: Pass) -> torch.Tensor:
    """-log P(x^{t-1}, x~^t) of the pair critic, on the rows whose x^{t-1} is real."""
    return F.softplus(-t.pair_logits(o.prev[o.heard_real], o.x_rec[o.heard_real])).mean()


#: In the order they are summed into the E/G loss. E's gradient comes from feat, prior, recon and
#: pc (and, with encoder_adv_grad, adv); G's from every term.
TERMS: tuple[LossTerm, ...] = (
    LossTerm("feat", field("feature_weight"),
             lambda t, o: losses.feature_matching_loss(o.f_real, o.f_rec, o.f_p, t.tc.feature_matching),
             lambda t, o: losses.feature_matching_loss(o.f_real, o.f_rec, o.f_p), always=True),  # pair-wise: runs compare
    LossTerm("prior", lambda t: t.kl_weight(),
             lambda t, o: losses.prior_loss(o.mu, o.log_scale, t.tc.prior, t.tc.free_bits),
             lambda t, o: losses.prior_loss(o.mu, o.log_scale, t.tc.prior, 0.0), always=True),
    LossTerm("adv", field("adv_weight"), _adv, _adv, always=True),
    LossTerm("recon", field("recon_weight"), _recon, _recon),
    LossTerm("pc", field("pitch_class_weight"),
             lambda t, o: losses.pitch_class_loss(o.x_rec, o.nxt, o.prev, t.tc.pitch_class_prev_share),
             lambda t, o: losses.pitch_class_loss(o.x_rec, o.nxt)),
    LossTerm("density", field("density_weight"),
             *_judged(losses.density_loss, lambda t: {"sharpness": t.tc.density_sharpness})),
    LossTerm("struct", field("structure_weight"), *_judged(losses.structure_loss, _structure_power)),
    LossTerm("motion", _motion_on, _motion,
             lambda t, o: losses.motion_terms(o.x_rec, o.nxt, o.prev, power=t.tc.structure_power).sum()),
    LossTerm("pair", field("pair_weight"), _pair),
    LossTerm("spread", field("mode_seeking_weight"), lambda t, o: t.mode_seeking(o.mu, o.log_scale, o.z)),
    LossTerm("coverage", field("coverage_weight"),
             lambda t, o: losses.coverage_loss(*o.both(), power=t.tc.coverage_power)),
    LossTerm("polyphony", field("polyphony_weight"),
             *_judged(losses.polyphony_loss, lambda t: {"power": t.tc.polyphony_power})),
    LossTerm("pitches", field("pitches_weight"), *_judged(losses.pitches_loss, _structure_power)),
    LossTerm("notes", field("notes_weight"), _notes,
             lambda t, o: losses.notes_loss(o.x_rec, o.nxt, **_notes_options(t))),
    LossTerm("figures", field("figures_weight"), _figures, _figures),
    LossTerm("register", field("register_weight"), _register, _register),
    LossTerm("onsets", field("onset_profile_weight"), *_judged(losses.onset_profile_loss, _structure_power)),
)


def training_loss(trainer: "Trainer", o: Pass) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """(the weighted sum of the terms that are on, every term's value by name; 0 when off)."""
    total = torch.zeros((), device=o.prev.device)
    values = {}
    for term in TERMS:
        w = term.weight(trainer)
        if term.always or w > 0:
            values[term.name] = term.train(trainer, o)
            total = total + w * values[term.name]
        else:
            values[term.name] = torch.zeros((), device=o.prev.device)
    return total, values


def validation_values(trainer: "Trainer", o: Pass) -> dict[str, torch.Tensor]:
    """Every validated term's figure, by name."""
    return {term.name: term.val(trainer, o) for term in TERMS if term.val is not None}
