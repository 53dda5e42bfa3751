"""The paper's losses (training/losses.py) on hand-made inputs with known answers."""

import math

import pytest
import torch

from srlive_training import losses


def test_prior_is_zero_at_the_prior_and_positive_elsewhere():
    mu, log_scale = torch.zeros(4, 128), torch.zeros(4, 128)
    assert float(losses.prior_loss(mu, log_scale)) == pytest.approx(0.0, abs=1e-7)
    assert float(losses.prior_loss(mu + 0.3, log_scale)) > 0
    assert float(losses.prior_loss(mu, log_scale - 0.3)) > 0


def test_prior_paper_formula_by_hand():
    # one example, two latents: mu = (1, 0), log_scale = (0, ln 2)
    mu = torch.tensor([[1.0, 0.0]])
    log_scale = torch.tensor([[0.0, math.log(2.0)]])
    expect = 0.5 * (1.0 + (1 - 0 - 1) + (2.0 - math.log(2.0) - 1))
    assert float(losses.prior_loss(mu, log_scale)) == pytest.approx(expect, rel=1e-6)


def test_prior_is_summed_over_latents_and_meaned_over_the_batch():
    mu = torch.tensor([[2.0, 0.0], [0.0, 0.0]])  # per-example sums: 2 and 0 -> mean 1
    log_scale = torch.zeros(2, 2)
    assert float(losses.prior_loss(mu, log_scale)) == pytest.approx(1.0)


def test_feature_matching_zero_when_equal_and_half_squared_norm_otherwise():
    f = torch.randn(3, 10)
    assert float(losses.feature_matching_loss(f, f.clone(), f.clone())) == 0.0
    real = torch.zeros(2, 4)
    rec = torch.ones(2, 4)  # 1/2 * 4 per example
    pri = torch.full((2, 4), 2.0)  # 1/2 * 16 per example
    assert float(losses.feature_matching_loss(real, rec, pri)) == pytest.approx(2.0 + 8.0)


def test_feature_matching_does_not_move_the_real_features():
    real = torch.randn(2, 3, requires_grad=True)
    rec = torch.randn(2, 3, requires_grad=True)
    losses.feature_matching_loss(real, rec, rec.detach()).backward()
    assert real.grad is None and rec.grad is not None


def test_discriminator_and_generator_losses_match_the_log_formulas():
    a, b, c = torch.tensor([[0.3], [-1.2]]), torch.tensor([[0.7], [0.1]]), torch.tensor([[-2.0], [1.5]])
    s = torch.sigmoid
    ld = -(torch.log(s(a)) + torch.log(1 - s(b)) + torch.log(1 - s(c))).mean()
    lg = -(torch.log(s(b)) + torch.log(s(c))).mean()
    assert float(losses.discriminator_loss(a, b, c)) == pytest.approx(float(ld), rel=1e-6)
    assert float(losses.generator_adversarial_loss(b, c)) == pytest.approx(float(lg), rel=1e-6)


def test_losses_stay_finite_for_saturated_logits():
    big = torch.tensor([[200.0], [-200.0]])
    assert math.isfinite(float(losses.discriminator_loss(big, -big, big)))
    assert math.isfinite(float(losses.generator_adversarial_loss(-big, big)))
    # a perfect D costs nothing
    assert float(losses.discriminator_loss(big.abs(), -big.abs(), -big.abs())) == pytest.approx(0.0, abs=1e-6)
