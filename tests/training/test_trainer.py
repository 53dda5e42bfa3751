"""One training step (training/trainer.py): the paper's losses, CPU only."""

import numpy as np
import torch

from run_helpers import corpus, iter_batches, live_trainer, one_thread, params, small  # noqa: F401 - autouse fixture
from srlive_training.config import get_config
from srlive_training.model import VAEGAN
from srlive_training.run_log import LOG_COLUMNS
from srlive_training.trainer import WEIGHTS, Trainer


def test_encoder_learns_with_the_exact_paper_losses():
    trainer = Trainer(VAEGAN(get_config("live")), small(config="paper"), torch.device("cpu"))
    e_params = {id(p) for p in trainer.model.encoder.parameters()}
    in_opt = {id(p) for g in trainer.opt_eg.param_groups for p in g["params"]}
    assert e_params <= in_opt
    before = params(trainer.model.encoder)
    prev, nxt = (torch.as_tensor(a) for a in next(iter_batches(corpus(), 8)))
    trainer.train_step(prev, nxt)
    after = params(trainer.model.encoder)
    assert all(not torch.equal(before[k], after[k]) for k in before)


def test_the_paper_losses_reduce_feature_matching():
    torch.manual_seed(0)
    trainer = Trainer(VAEGAN(get_config("live")), small(config="paper"), torch.device("cpu"))
    prev, nxt = (torch.as_tensor(a) for a in next(iter_batches(corpus(), 8)))
    hist = [trainer.train_step(prev, nxt) for _ in range(20)]
    feat = [h["loss_feat"] for h in hist]
    assert np.mean(feat[-5:]) < 0.8 * np.mean(feat[:5]), feat
    assert all(np.isfinite(list(h.values())).all() for h in hist)


def test_the_adversarial_term_reaches_the_generator_and_not_the_encoder():
    """Eq. 8: L_E = L_l + L_prior has no adversarial term. With L_l and L_prior weighed 0, a step
    moves G (by L_adv) and leaves E as it was; D moves by L_D."""
    trainer = live_trainer(feature_weight=0.0, kl_weight=0.0)
    E, G, D = (params(m) for m in (trainer.model.encoder, trainer.model.generator, trainer.model.discriminator))
    trainer.train_step(torch.rand(8, 1, 88, 16), torch.rand(8, 1, 88, 16))

    def moved(before, module):
        return any(not torch.equal(before[k], v) for k, v in params(module).items())

    assert not moved(E, trainer.model.encoder)
    assert moved(G, trainer.model.generator) and moved(D, trainer.model.discriminator)


def test_validation_gives_every_term_on_fixed_batches_without_moving_the_model():
    trainer = live_trainer()
    batches = [next(iter_batches(corpus(), 8))]
    before = params(trainer.model)
    first = trainer.validation_losses(batches)
    assert set(first) == {"val_loss_d", *(f"val_loss_{name}" for name in WEIGHTS)}
    assert first == trainer.validation_losses(batches)  # fixed noise: the same figures
    assert all(torch.equal(before[k], v) for k, v in params(trainer.model).items())


def test_every_loss_term_is_a_column_of_the_training_log():
    out = live_trainer().train_step(torch.rand(8, 1, 88, 16), torch.rand(8, 1, 88, 16))
    for name in WEIGHTS:
        assert f"loss_{name}" in out and f"loss_{name}" in LOG_COLUMNS and f"val_loss_{name}" in LOG_COLUMNS
    assert set(out) <= set(LOG_COLUMNS)
