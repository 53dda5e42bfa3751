"""The trainer: E, G, D, their optimisers and noise; one `train_step` is one training step.

One training STEP = one update of D and `eg_updates_per_d` (2, the paper) updates of E and G, all
on one mini-batch of (x^{t-1}, x^t) pairs (fresh noise each update). Each network gets exactly its
own loss (Akbari & Liang 2018, eqs. 5-10): D <- L_D; E <- L_E = L_l + L_prior; G <- L_G = L_adv +
L_l, plus the deviations TrainConfig switches on; the E/G terms are the one table of
srlive_training.loss_terms. E and G share one Adam with one parameter group each, built from
module.parameters(), so E is updated (tests/training/test_trainer.py shows E's weights change).
To keep the adversarial term out of E's gradient (eq. 8 has none), G runs on [z, z.detach(), z_p]
in one batch: the adversarial loss reads G(z.detach()), L_l and the reconstruction read G(z)
(encoder_adv_grad=True, used by `live` for speed, skips the split).

D sees every bar with instance noise (TrainConfig.instance_noise); E and G's terms read D (and the
pair critic P, when pair_weight > 0) with its weights frozen, so their gradients reach the bars only.
Under DistributedDataParallel E, G, D (and P) are each wrapped; the noise generator is seeded per rank.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from srlive.contract import N_PITCHES
from srlive.roll import as_heard
from srlive_training import losses
from srlive_training.loss_terms import Pass, training_loss, validation_values
from srlive_training.model import VAEGAN, Discriminator, sample_z, zero_padded
from srlive_training.settings import TrainConfig


def _mean_sigmoid(logit: torch.Tensor) -> float:
    return float(torch.sigmoid(logit.detach()).mean())


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
        self.pair_critic = self.P = self.opt_p = None
        if tc.pair_weight > 0:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(tc.seed + 7)  # the same critic on every rank
                self.pair_critic = Discriminator(model.config, in_channels=2).to(device)
            self.P = self.pair_critic
            if distributed:
                self.P = DDP(self.pair_critic, device_ids=ids)
            self.opt_p = torch.optim.Adam(self.pair_critic.parameters(), lr=tc.pair_lr or tc.lr_d, betas=betas)
        self.noise = torch.Generator().manual_seed(tc.seed * 1000 + rank + 1)
        self.step = 0

    def randn(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.model.config.latent, generator=self.noise).to(self.device)

    def kl_weight(self) -> float:
        w = self.tc.kl_weight
        if self.tc.kl_warmup_steps > 0:
            w *= min(1.0, self.step / self.tc.kl_warmup_steps)
        return w

    def _noisy(self, x: torch.Tensor) -> torch.Tensor:
        """x plus instance noise (TrainConfig.instance_noise), from the trainer's noise generator."""
        if self.tc.instance_noise <= 0:
            return x
        noise = torch.randn(x.shape, generator=self.noise).to(self.device)
        return x + self.tc.instance_noise * noise

    def _frozen(self, critic: torch.nn.Module, x: torch.Tensor):
        """critic(x + instance noise) with the critic's weights frozen (detached): gradients reach
        the bars only. D's (logit, features) for D; the same for the pair critic P."""
        params = {k: v.detach() for k, v in critic.named_parameters()}
        return torch.func.functional_call(critic, params, (self._noisy(x),))

    def _d_features(self, x: torch.Tensor):
        return self._frozen(self.model.discriminator, x)

    def pair_logits(self, prev: torch.Tensor, nxt: torch.Tensor) -> torch.Tensor:
        """P's logits for the pairs (prev, nxt), P frozen."""
        return self._frozen(self.pair_critic, torch.cat([prev, nxt], 1))[0]

    def _pair_update(self, prev_real, nxt_real, prev, answers) -> dict[str, float]:
        """One update of the pair critic P: real consecutive pairs against (real bar heard, answer)."""
        logits, _ = self.P(self._noisy(torch.cat([torch.cat([prev_real, nxt_real], 1),
                                                  torch.cat([prev, answers], 1)])))
        l_real, l_fake = logits.split([prev_real.shape[0], prev.shape[0]])
        loss = torch.nn.functional.softplus(-l_real).mean() + torch.nn.functional.softplus(l_fake).mean()
        self.opt_p.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_p.step()
        return {"loss_pair_d": float(loss.detach()), "pair_real": _mean_sigmoid(l_real),
                "pair_fake": _mean_sigmoid(l_fake)}

    @torch.no_grad()
    def own_prev(self, prev: torch.Tensor, nxt: torch.Tensor, after: torch.Tensor, has_after: torch.Tensor,
                 threshold: float = 0.5) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(prev, nxt, rows) with the first round(own_prev_share * N) rows that have a bar after
        replaced by (the model's answer to prev as it sounds, srlive.roll.as_heard: what the live
        engine goes on from; after); rows: the indices replaced. The answer is a given input, not
        a path for gradients. prev is [N, context, 88, S] (ModelConfig.context): with 2, the bar the
        model answered becomes the bar before its answer. With after [N, K, 88, S] and has_after
        [N, K] (TrainConfig.own_prev_steps = K), each row's chain is 1 to K of its own answers, each
        answering the last, and its x^t the real bar that many bars after the next."""
        has = torch.as_tensor(has_after, device=prev.device).bool()
        has = has[:, None] if has.dim() == 1 else has  # [N, K]: the bars after next the tune has
        rows = torch.nonzero(has[:, 0]).flatten()
        rows = rows[: int(round(self.tc.own_prev_share * prev.shape[0]))]
        if len(rows) == 0:
            return prev, nxt, rows
        longest = has[rows].long().cumprod(1).sum(1)  # per row: the chain the tune leaves room for
        if has.shape[1] > 1:  # each row's chain, 1 to its longest (TrainConfig.own_prev_steps)
            lengths = 1 + (torch.rand(len(rows), generator=self.noise) * longest.cpu()).long().to(prev.device)
        else:
            lengths = longest
        heard = prev[rows]
        for step in range(1, int(lengths.max()) + 1):
            go = torch.nonzero(lengths >= step).flatten()
            mu, log_scale = self.model.encoder(heard[go])
            own = self.model.generator(sample_z(mu, log_scale, self.randn(len(go)), 1.0))
            own = torch.from_numpy(as_heard(own.detach().cpu().numpy(), threshold)).to(device=prev.device, dtype=prev.dtype)
            if prev.shape[1] == 1:
                heard[go] = own
            elif self.model.config.memory:  # the performer's memory stays theirs while the model answers itself
                heard[go] = torch.cat([own, heard[go, 1:]], 1)
            else:  # the bar answered becomes the bar before the model's own (as the live engine hears them)
                heard[go] = torch.cat([own, heard[go, :-1]], 1)
        prev, nxt = prev.clone(), nxt.clone()
        prev[rows] = heard
        nxt[rows] = after[rows, lengths - 1].unsqueeze(1).to(nxt.dtype) if after.shape[1] > 1 else after[rows]
        return prev, nxt, rows

    def silence_memory(self, prev: torch.Tensor) -> torch.Tensor:
        """prev with the performer's memory (ModelConfig.memory, the second channel) silent in a
        random TrainConfig.memory_silent_share of the rows: srlive also answers before the performer
        has played (its first bar, a chain from noise)."""
        drop = torch.rand(prev.shape[0], generator=self.noise) < self.tc.memory_silent_share
        if not drop.any():
            return prev
        prev = prev.clone()
        prev[drop.to(prev.device), 1] = 0
        return prev

    def mode_seeking(self, mu: torch.Tensor, log_scale: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """losses.mode_seeking_loss between G's answers to the same encodings (mu, log_scale) under the
        noise z was drawn with and a fresh one; E's outputs are detached, so only G learns from it
        (E could otherwise buy spread by widening log_scale, i.e. by listening less)."""
        n = z.shape[0]
        z_b = sample_z(mu.detach(), log_scale.detach(), self.randn(n), 1.0)
        x_a, x_b = self.G(torch.cat([z.detach(), z_b])).split([n, n])
        return losses.mode_seeking_loss(x_a, x_b, power=self.tc.structure_power)

    def train_step(self, prev: torch.Tensor, nxt: torch.Tensor, after: torch.Tensor | None = None,
                   has_after: torch.Tensor | None = None) -> dict[str, float]:
        tc, n = self.tc, prev.shape[0]
        E, G = self.model.encoder, self.model.generator
        prev_real, nxt_real = prev[:, :1], nxt  # prev: [N, context, 88, S], the bar heard first
        # rows whose x^{t-1} is a real bar: the pair critic's fake pairs come only from these, since
        # with the model's own bar as the first of a pair P would tell it by that bar alone
        heard_real = torch.ones(n, dtype=torch.bool, device=prev.device)
        if tc.own_prev_share > 0 and after is not None:
            prev, nxt, swapped = self.own_prev(prev, nxt, after, has_after)
            heard_real[swapped] = False
        if self.model.config.memory and tc.memory_silent_share > 0:
            prev = self.silence_memory(prev)
        heard = prev[:, :1]  # what the loss terms compare the answer with: the bar heard
        # ---- D: L_D on x^t, x~^t, x~_p (E and G fixed)
        with torch.no_grad():
            mu, log_scale = E(prev)
            zp = self.randn(n)
            fakes = G(torch.cat([sample_z(mu, log_scale, zp, 1.0), zp]))
        logits, _ = self.D(self._noisy(torch.cat([nxt, fakes])))
        l_real, l_rec, l_p = logits.split([n, n, n])
        loss_d = losses.discriminator_loss(l_real, l_rec, l_p)
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        out = {"loss_d": float(loss_d.detach()), "d_real": _mean_sigmoid(l_real), "d_fake": _mean_sigmoid(l_rec)}
        if self.pair_critic is not None:
            out.update(self._pair_update(prev_real, nxt_real, heard[heard_real], fakes[:n][heard_real]))
        # ---- E and G: L_E = L_l + L_prior, L_G = L_adv + L_l (+ deviations), twice
        klw = self.kl_weight()
        frozen = 0 < tc.encoder_freeze_step <= self.step
        for _ in range(tc.eg_updates_per_d):
            with torch.set_grad_enabled(not frozen):
                mu, log_scale = self.E(prev)
            zp = self.randn(n)
            z = sample_z(mu, log_scale, zp, 1.0)
            if tc.encoder_adv_grad:
                x_rec, x_p = self.G(torch.cat([z, zp])).split([n, n])
                logits, feats = self._d_features(torch.cat([nxt, x_rec, x_p]))
                f_real, f_rec, f_p = feats.split([n, n, n])
                _, l_rec_g, l_p = logits.split([n, n, n])
            else:
                x_rec, x_rec_g, x_p = self.G(torch.cat([z, z.detach(), zp])).split([n, n, n])
                logits, feats = self._d_features(torch.cat([nxt, x_rec, x_rec_g, x_p]))
                f_real, f_rec, _, f_p = feats.split([n, n, n, n])
                _, _, l_rec_g, l_p = logits.split([n, n, n, n])
            o = Pass(heard, nxt, mu, log_scale, z, x_rec, x_p, f_real, f_rec, f_p, l_rec_g, l_p, heard_real)
            total, values = training_loss(self, o)
            self.opt_eg.zero_grad(set_to_none=True)
            total.backward()
            self.opt_eg.step()
        figures = {name: float(v.detach()) for name, v in values.items()}
        out.update({f"loss_{name}": x for name, x in figures.items()})
        out.update(loss_e=figures["feat"] + figures["prior"], loss_g=figures["adv"] + figures["feat"], kl_weight=klw)
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
            o = Pass(prev[:, :1], nxt, mu, log_scale, None, x_rec, x_p, f_real, f_rec, f_p, l_rec, l_p)
            vals = {"val_loss_d": losses.discriminator_loss(l_real, l_rec, l_p)}
            vals.update({f"val_loss_{name}": v for name, v in validation_values(self, o).items()})
            for k, v in vals.items():
                sums[k] = sums.get(k, 0.0) + float(v) / len(batches)
        return sums

    # --- state for resuming
    def state_dict(self) -> dict:
        st = {"opt_eg": self.opt_eg.state_dict(), "opt_d": self.opt_d.state_dict()}
        if self.pair_critic is not None:
            st.update(pair_critic=self.pair_critic.state_dict(), opt_p=self.opt_p.state_dict())
        return st

    def load_moments(self, st: dict) -> None:
        """Adam's moments from another run's state_dict, this run's learning rates kept; a pair
        critic the other run did not have starts afresh."""
        for opt, key in ((self.opt_eg, "opt_eg"), (self.opt_d, "opt_d"), (self.opt_p, "opt_p")):
            if opt is None or key not in st:
                continue
            lrs = [g["lr"] for g in opt.param_groups]
            opt.load_state_dict(st[key])
            for g, lr in zip(opt.param_groups, lrs):
                g["lr"] = lr
                for p in g["params"]:  # weights added by the loop (a widened encoder, G's rest channel): no moments yet
                    for name, m in opt.state.get(p, {}).items():
                        if torch.is_tensor(m) and m.dim() == p.dim() and m.shape != p.shape:
                            opt.state[p][name] = zero_padded(m, p.shape)
        if self.pair_critic is not None and "pair_critic" in st:
            self.pair_critic.load_state_dict(st["pair_critic"])

    def load_state_dict(self, st: dict) -> None:
        self.opt_eg.load_state_dict(st["opt_eg"])
        self.opt_d.load_state_dict(st["opt_d"])
        if self.pair_critic is not None:
            self.pair_critic.load_state_dict(st["pair_critic"])
            self.opt_p.load_state_dict(st["opt_p"])


@torch.no_grad()
def init_output_density(model: VAEGAN, p0: float) -> None:
    """Set the bias of G's last layer so that G's output (tanh(a) + 1) / 2 = sigmoid(2a) starts
    near p0 in every cell: a = logit(p0) / 2. With one pitch or a rest a step (gen_output "step"),
    each pitch's share starts at p0 where 88 p0 <= 1/2, else every step starts as likely to rest as
    to sound; the rest's logit is b with e^b / (e^b + 88) the rest's share."""
    last = [m for m in model.generator.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))][-1]
    if model.config.gen_output == "step":
        rest = max(1.0 - N_PITCHES * p0, 0.5)
        last.bias.copy_(torch.tensor([0.0, math.log(N_PITCHES * rest / (1.0 - rest))]))
        return
    last.bias.fill_(0.5 * math.log(p0 / (1.0 - p0)))


def to_tensor(a, device) -> torch.Tensor:
    """A float32 batch [N, 1, 88, 16] on the device (a [N, 88, 16] array gets its channel)."""
    t = torch.as_tensor(np.asarray(a, dtype=np.float32))
    if t.dim() == 3:
        t = t.unsqueeze(1)
    return t.to(device)
