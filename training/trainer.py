"""The trainer: E, G, D, their optimisers and noise; one `train_step` is one training step.

One training STEP = one update of D and `eg_updates_per_d` (2, the paper) updates of E and G, all
on one mini-batch of (x^{t-1}, x^t) pairs (fresh noise each update). Each network gets exactly its
own loss (Akbari & Liang 2018, eqs. 5-10; srlive_training.losses): D <- L_D; E <- L_E = L_l +
L_prior; G <- L_G = L_adv + L_l, each term weighted by TrainConfig (1 in the paper). E and G share
one Adam with one parameter group each, built from module.parameters(), so E is updated
(tests/training/test_trainer.py shows E's weights change). To keep the adversarial term out of
E's gradient (eq. 8 has none), G runs on [z, z.detach(), z_p] in one batch: the adversarial loss
reads G(z.detach()), L_l reads G(z).

E and G's terms read D with its weights frozen, so their gradients reach the bars only. Under
DistributedDataParallel E, G and D are each wrapped; the noise generator is seeded per rank.
"""

from __future__ import annotations

import numpy as np
import torch

from srlive_training import losses
from srlive_training.model import VAEGAN, sample_z
from srlive_training.settings import TrainConfig

#: The E/G terms, logged as loss_<name> (training) and val_loss_<name> (validation): L_l, L_prior
#: and G's adversarial term, each with the TrainConfig field that weighs it.
WEIGHTS = {"feat": "feature_weight", "prior": "kl_weight", "adv": "adv_weight"}


def _mean_sigmoid(logit: torch.Tensor) -> float:
    return float(torch.sigmoid(logit.detach()).mean())


def eg_terms(mu, log_scale, f_real, f_rec, f_p, l_rec, l_p) -> dict[str, torch.Tensor]:
    """The E/G terms by name (WEIGHTS): L_l of both answers' features, L_prior of E's output and
    the adversarial term of D's logits of both answers."""
    return {"feat": losses.feature_matching_loss(f_real, f_rec, f_p),
            "prior": losses.prior_loss(mu, log_scale),
            "adv": losses.generator_adversarial_loss(l_rec, l_p)}


class Trainer:
    """E, G, D (optionally DDP-wrapped), their optimisers and the noise generator; one `train_step`
    is one D update and `eg_updates_per_d` E+G updates on one batch."""

    def __init__(self, model: VAEGAN, tc: TrainConfig, device: torch.device, rank: int = 0, distributed: bool = False):
        self.model = model.to(device)
        self.tc, self.device, self.rank, self.distributed = tc, device, rank, distributed
        E, G, D = model.encoder, model.generator, model.discriminator
        if distributed:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [device.index] if device.type == "cuda" else None
            self.E, self.G, self.D = (DDP(m, device_ids=ids) for m in (E, G, D))
        else:
            self.E, self.G, self.D = E, G, D
        betas = (tc.beta1, tc.beta2)
        # E gets its own parameter group, built from the module itself (not from names).
        self.opt_eg = torch.optim.Adam([{"params": list(E.parameters()), "lr": tc.lr_e},
                                        {"params": list(G.parameters()), "lr": tc.lr_g}], betas=betas)
        self.opt_d = torch.optim.Adam(D.parameters(), lr=tc.lr_d, betas=betas)
        self.noise = torch.Generator().manual_seed(tc.seed * 1000 + rank + 1)
        self.step = 0

    def randn(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.model.config.latent, generator=self.noise).to(self.device)

    def _d_features(self, x: torch.Tensor):
        """D's (logit, features) of x with D's weights frozen (detached): gradients reach the bars only."""
        D = self.model.discriminator
        params = {k: v.detach() for k, v in D.named_parameters()}
        return torch.func.functional_call(D, params, (x,))

    def _weighted(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        return sum(getattr(self.tc, WEIGHTS[name]) * value for name, value in terms.items())

    def train_step(self, prev: torch.Tensor, nxt: torch.Tensor) -> dict[str, float]:
        tc, n = self.tc, prev.shape[0]
        E, G = self.model.encoder, self.model.generator
        # ---- D: L_D on x^t, x~^t, x~_p (E and G fixed)
        with torch.no_grad():
            mu, log_scale = E(prev)
            zp = self.randn(n)
            fakes = G(torch.cat([sample_z(mu, log_scale, zp, 1.0), zp]))
        logits, _ = self.D(torch.cat([nxt, fakes]))
        l_real, l_rec, l_p = logits.split([n, n, n])
        loss_d = losses.discriminator_loss(l_real, l_rec, l_p)
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        out = {"loss_d": float(loss_d.detach()), "d_real": _mean_sigmoid(l_real), "d_fake": _mean_sigmoid(l_rec)}
        # ---- E and G: L_E = L_l + L_prior, L_G = L_adv + L_l, twice
        for _ in range(tc.eg_updates_per_d):
            mu, log_scale = self.E(prev)
            zp = self.randn(n)
            z = sample_z(mu, log_scale, zp, 1.0)
            x_rec, x_rec_g, x_p = self.G(torch.cat([z, z.detach(), zp])).split([n, n, n])
            logits, feats = self._d_features(torch.cat([nxt, x_rec, x_rec_g, x_p]))
            f_real, f_rec, _, f_p = feats.split([n, n, n, n])
            _, _, l_rec_g, l_p = logits.split([n, n, n, n])
            terms = eg_terms(mu, log_scale, f_real, f_rec, f_p, l_rec_g, l_p)
            self.opt_eg.zero_grad(set_to_none=True)
            self._weighted(terms).backward()
            self.opt_eg.step()
        figures = {name: float(v.detach()) for name, v in terms.items()}
        out.update({f"loss_{name}": x for name, x in figures.items()})
        out.update(loss_e=figures["feat"] + figures["prior"], loss_g=figures["adv"] + figures["feat"])
        self.step += 1
        return out

    @torch.no_grad()
    def validation_losses(self, batches: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
        """The same losses on fixed validation batches with fixed noise (no updates)."""
        E, G, D = self.model.encoder, self.model.generator, self.model.discriminator
        gen = torch.Generator().manual_seed(12345)
        sums: dict[str, float] = {}
        for prev, nxt in batches:
            prev, nxt = to_tensor(prev, self.device), to_tensor(nxt, self.device)
            n = prev.shape[0]
            mu, log_scale = E(prev)
            zp = torch.randn(n, self.model.config.latent, generator=gen).to(self.device)
            x_rec, x_p = G(torch.cat([sample_z(mu, log_scale, zp, 1.0), zp])).split([n, n])
            logits, feats = D(torch.cat([nxt, x_rec, x_p]))
            l_real, l_rec, l_p = logits.split([n, n, n])
            f_real, f_rec, f_p = feats.split([n, n, n])
            vals = {"val_loss_d": losses.discriminator_loss(l_real, l_rec, l_p)}
            vals.update({f"val_loss_{name}": v for name, v in eg_terms(mu, log_scale, f_real, f_rec, f_p, l_rec, l_p).items()})
            for k, v in vals.items():
                sums[k] = sums.get(k, 0.0) + float(v) / len(batches)
        return sums

    # --- state for resuming
    def state_dict(self) -> dict:
        return {"opt_eg": self.opt_eg.state_dict(), "opt_d": self.opt_d.state_dict()}

    def load_moments(self, st: dict) -> None:
        """Adam's moments from another run's state_dict, this run's learning rates kept."""
        for opt, key in ((self.opt_eg, "opt_eg"), (self.opt_d, "opt_d")):
            if key not in st:
                continue
            lrs = [g["lr"] for g in opt.param_groups]
            opt.load_state_dict(st[key])
            for g, lr in zip(opt.param_groups, lrs):
                g["lr"] = lr

    def load_state_dict(self, st: dict) -> None:
        self.opt_eg.load_state_dict(st["opt_eg"])
        self.opt_d.load_state_dict(st["opt_d"])


def to_tensor(a, device) -> torch.Tensor:
    """A float32 batch [N, 1, 88, S] on the device (a [N, 88, S] array gets its channel)."""
    t = torch.as_tensor(np.asarray(a, dtype=np.float32))
    if t.dim() == 3:
        t = t.unsqueeze(1)
    return t.to(device)
