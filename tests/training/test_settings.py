"""Training settings (training/settings.py): presets and the checks on --set overrides."""

import re

import pytest

from srlive.errors import UserError
from srlive_training.settings import TRAIN_PRESETS, apply_overrides


def test_set_overrides_one_training_setting_with_its_type():
    tc = apply_overrides(TRAIN_PRESETS["live"], ["structure_weight=20", "kl_warmup_steps=5", "augment=false"])
    assert tc.structure_weight == 20.0 and tc.kl_warmup_steps == 5 and tc.augment is False
    assert tc.pitch_class_weight == TRAIN_PRESETS["live"].pitch_class_weight
    for bad in ("nonsense=1", "structure_weight", "kl_warmup_steps=x"):
        with pytest.raises(UserError):
            apply_overrides(tc, [bad])
    assert apply_overrides(tc, ["pair_lr=2e-4"]).pair_lr == 2e-4
    assert apply_overrides(tc, ["pair_lr=none"]).pair_lr is None
    assert apply_overrides(tc, ["init_log_scale=-2"]).init_log_scale == -2.0


@pytest.mark.parametrize("bad, words", [
    ("own_prev_share=3", "between 0 and 1"),
    ("pair_weight=-1", "not be negative"),
    ("instance_noise=-0.1", "not be negative"),
    ("pair_lr=0", "greater than 0"),
    ("lr_d=-1e-4", "greater than 0"),
    ("beta1=1", "betas"),
    ("structure_weight=nan", "finite"),
    ("pair_lr=abc", "number (or none)"),
    ("coverage_weight=abc", "not a valid number"),
    ("kl_warmup_steps=1.5", "not a valid whole number"),
    ("augment=maybe", "not a valid true or false"),
    ("coverage_power=0", "greater than 0"),
    ("mode_seeking_weight=-1", "not be negative"),
    ("init_output_density=0", "strictly between 0 and 1"),
    ("prior=gaussian", "use paper or exact"),
    ("feature_matching=mean", "use pairs or batch"),
    ("encoder_freeze_step=-5", "not be negative"),
])
def test_set_refuses_values_that_make_no_sense(bad, words):
    with pytest.raises(UserError, match=re.escape(words)):
        apply_overrides(TRAIN_PRESETS["live"], [bad])
