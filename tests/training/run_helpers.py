"""Shared by the training tests: a tiny corpus with validation tunes, small settings, one thread."""

import dataclasses

import numpy as np
import pytest
import torch

from tiny_corpus import tiny_corpus
from srlive_training.config import get_config
from srlive_training.model import VAEGAN
from srlive_training.settings import TRAIN_PRESETS, TrainConfig
from srlive_training.trainer import Trainer


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run fastest (and steadiest on a shared machine) on one thread."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def corpus():
    c = tiny_corpus(n_tunes=12, bars=8, seed=1)
    c.split[:] = 0
    c.split[-3:] = 1  # three validation tunes: the listening check can swap contexts
    return c


def small(**kw) -> TrainConfig:
    base = dict(config="live", batch_size=8, val_every=0, log_every=2, val_batches=1, val_answers=12)
    base.update(kw)
    return dataclasses.replace(TRAIN_PRESETS["live"], **base)


def params(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def iter_batches(c, bs):
    from srlive_training.batches import iterate_batches

    return iterate_batches(c, "train", bs, np.random.default_rng(0), augment=False)


def live_trainer(**kw) -> Trainer:
    torch.manual_seed(0)
    return Trainer(VAEGAN(get_config("live")), small(**kw), torch.device("cpu"))
