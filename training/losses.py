"""Losses of the semi-recurrent VAE-GAN: the paper's equations 5-10 (Akbari & Liang, ICASSP 2018),
and nothing else (the terms tried beside them are told in training/results/EXPERIMENTS.md).

Notation: x = x^t (the real next bar), x_rec = x~^t = G(z) with z = mu + z_p * exp(log_scale) and
(mu, log_scale) = E(x^{t-1}), x_p = x~_p = G(z_p). D returns (logit, features of one intermediate block).

    L_prior = 1/2 (mu'mu + sum(exp(log_scale) - log_scale - 1))                      (eq. 5/6)
    L_l     = 1/2 ||D_l(x) - D_l(x_rec)||^2 + 1/2 ||D_l(x) - D_l(x_p)||^2            (eq. 7)
    L_E     = L_l + L_prior                                                          (eq. 8)
    L_D     = -(log D(x) + log(1 - D(x_rec)) + log(1 - D(x_p)))                      (eq. 9)
    L_G     = -(log D(x_rec) + log D(x_p)) + L_l                                     (eq. 10)

Normalisation (our choice, the paper does not say): every term is a per-example quantity —
summed over its latent dimensions or feature elements, as the equations are written
— and then MEANED over the batch. So L_prior and L_l are sums over 128 latents / F features of
one bar; the log-terms are per-bar log-probabilities. Weights between terms are TrainConfig's
(1 in the paper); srlive_training.trainer sums them.

The D/G log-terms are computed from D's logits with softplus (= BCE with logits), which is
exact and stable: -log sigmoid(l) = softplus(-l), -log(1 - sigmoid(l)) = softplus(l).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def prior_loss(mu: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """L_prior per example, meaned over the batch: 1/2 sum(mu^2 + exp(log_scale) - log_scale - 1),
    literally as the paper writes it (its eps). That is the exact KL(N(mu, sigma^2) || N(0, 1)) were
    the encoder's second half log sigma^2; z is sampled with exp(log_scale) as sigma (sample_z), and
    the minimum is the same (mu = 0, log_scale = 0)."""
    return (0.5 * (mu.pow(2) + torch.exp(log_scale) - log_scale - 1.0)).sum(1).mean()


def feature_matching_loss(f_real: torch.Tensor, f_rec: torch.Tensor, f_prior: torch.Tensor) -> torch.Tensor:
    """L_l: each generated bar's features against its own real x^t's. The real features are the
    target: gradients flow into the generated side only (D is not trained on L_l, and x^t is data)."""
    target = f_real.detach()
    rec = 0.5 * (target - f_rec).pow(2).flatten(1).sum(1)
    pri = 0.5 * (target - f_prior).pow(2).flatten(1).sum(1)
    return (rec + pri).mean()


def discriminator_loss(logit_real: torch.Tensor, logit_rec: torch.Tensor, logit_prior: torch.Tensor) -> torch.Tensor:
    """L_D = -(log D(x) + log(1 - D(x_rec)) + log(1 - D(x_p))), meaned over the batch."""
    return (F.softplus(-logit_real) + F.softplus(logit_rec) + F.softplus(logit_prior)).mean()


def generator_adversarial_loss(logit_rec: torch.Tensor, logit_prior: torch.Tensor) -> torch.Tensor:
    """The GAN part of L_G: -(log D(x_rec) + log D(x_p)), meaned over the batch."""
    return (F.softplus(-logit_rec) + F.softplus(-logit_prior)).mean()
