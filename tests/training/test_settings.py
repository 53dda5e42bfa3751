"""Training settings (training/settings.py): presets and the checks on --set overrides."""

import dataclasses
import re

import pytest

from srlive.errors import UserError
from srlive_training.settings import TRAIN_PRESETS, TrainConfig, apply_overrides


def test_the_presets_are_the_papers_method_on_its_two_model_configs():
    assert sorted(TRAIN_PRESETS) == ["live", "paper"]
    assert all(tc.deviations() == [] for tc in TRAIN_PRESETS.values())
    assert TRAIN_PRESETS["live"] == dataclasses.replace(TrainConfig(), config="live")


def test_set_overrides_one_training_setting_with_its_type():
    tc = apply_overrides(TRAIN_PRESETS["live"], ["feature_weight=20", "eg_updates_per_d=3", "augment=false"])
    assert tc.feature_weight == 20.0 and tc.eg_updates_per_d == 3 and tc.augment is False
    assert tc.kl_weight == TRAIN_PRESETS["live"].kl_weight
    assert tc.deviations() == ["eg_updates_per_d=3 (paper: 2)", "feature_weight=20.0 (paper: 1.0)"]
    for bad in ("nonsense=1", "feature_weight", "eg_updates_per_d=x", "structure_weight=20", "config=paper"):
        with pytest.raises(UserError):
            apply_overrides(tc, [bad])


def test_a_checkpoints_settings_of_retired_experiments_are_passed_over():
    old = {**TRAIN_PRESETS["live"].to_dict(), "structure_weight": 30.0, "own_prev_share": 0.5, "lr_g": 2e-4}
    assert TrainConfig.from_dict(old) == dataclasses.replace(TRAIN_PRESETS["live"], lr_g=2e-4)


@pytest.mark.parametrize("bad, words", [
    ("adv_weight=-1", "not be negative"),
    ("kl_weight=-0.1", "not be negative"),
    ("lr_d=-1e-4", "greater than 0"),
    ("lr_e=0", "greater than 0"),
    ("batch_size=0", "greater than 0"),
    ("eg_updates_per_d=0", "greater than 0"),
    ("beta1=1", "betas"),
    ("feature_weight=nan", "finite"),
    ("adv_weight=abc", "not a valid number"),
    ("val_every=1.5", "not a valid whole number"),
    ("augment=maybe", "not a valid true or false"),
])
def test_set_refuses_values_that_make_no_sense(bad, words):
    with pytest.raises(UserError, match=re.escape(words)):
        apply_overrides(TRAIN_PRESETS["live"], [bad])
