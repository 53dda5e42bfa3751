"""Shapes, ranges and config round trips of the VAE-GAN (training/model.py, training/config.py)."""

import pytest
import torch

from srlive_training.config import CONFIGS, LIVE, PAPER, ModelConfig, get_config
from srlive_training.checkpoint import load_checkpoint, save_checkpoint
from srlive_training.model import StepModule, VAEGAN


@pytest.mark.parametrize("cfg", [LIVE, PAPER], ids=["live", "paper"])
def test_shapes_and_ranges(cfg):
    torch.manual_seed(0)
    m = VAEGAN(cfg)
    bars = torch.rand(3, 1, 88, 16)
    mu, log_scale = m.encoder(bars)
    assert mu.shape == (3, 128) and log_scale.shape == (3, 128)
    with torch.no_grad():
        out = m.generator(torch.randn(3, 128) * 5)
    assert out.shape == (3, 1, 88, 16)
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    logit, feat = m.discriminator(out)
    assert logit.shape == (3, 1) and feat.shape[0] == 3 and feat.ndim == 2


def test_paper_config_follows_table_1():
    m = VAEGAN(PAPER)
    convs = [l for l in m.encoder.convs if isinstance(l, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [8, 16, 32]
    assert all(c.kernel_size == (5, 5) and c.stride == (2, 2) for c in convs)
    assert m.encoder.fc.out_features == 256
    assert m.generator.proj.out_features == 88 * 16 * 64
    deconvs = [l for l in m.generator.body if isinstance(l, torch.nn.ConvTranspose2d)]
    assert [d.out_channels for d in deconvs] == [32, 16, 8]
    assert all(d.kernel_size == (3, 3) and d.stride == (1, 1) for d in deconvs)
    assert [b[0].out_channels for b in m.discriminator.blocks] == [8, 16, 32, 64]


def test_step_module_is_the_model_step_and_temperature_zero_ignores_noise():
    torch.manual_seed(1)
    m = VAEGAN(LIVE).eval()
    step = StepModule(m.encoder, m.generator)
    bar = (torch.rand(2, 1, 88, 16) > 0.9).float()
    noise = torch.randn(2, 128)
    with torch.no_grad():
        a = step(bar, noise, torch.full((2, 1), 0.7))
    torch.testing.assert_close(a, m.step(bar, noise, 0.7))
    with torch.no_grad():
        z0 = step(bar, noise, torch.zeros(2, 1))
        z1 = step(bar, torch.randn(2, 128), torch.zeros(2, 1))
    torch.testing.assert_close(z0, z1)


def test_config_round_trip_and_bad_configs():
    assert ModelConfig.from_dict(PAPER.to_dict()) == PAPER
    assert get_config("live") == LIVE
    with pytest.raises(ValueError, match="unknown model config"):
        get_config("huge")
    with pytest.raises(ValueError, match="does not give 88x16"):
        ModelConfig(gen_proj=(32, 20, 4))


def test_checkpoint_round_trip(tmp_path):
    torch.manual_seed(2)
    m = VAEGAN(LIVE)
    save_checkpoint(tmp_path / "c.pt", m, step=7, data_summary={"tunes": 3})
    m2, ckpt = load_checkpoint(tmp_path / "c.pt")
    assert ckpt["step"] == 7 and ckpt["data_summary"] == {"tunes": 3}
    assert m2.config == LIVE
    for (k, v), (k2, v2) in zip(m.state_dict().items(), m2.state_dict().items()):
        assert k == k2 and torch.equal(v, v2)


def test_log_scale_is_capped_when_sampling_z():
    from srlive_training.model import LOG_SCALE_MAX, sample_z

    mu = torch.zeros(1, 4)
    noise = torch.ones(1, 4)
    z = sample_z(mu, torch.tensor([[-1.0, 0.0, LOG_SCALE_MAX, 6.0]]), noise, 1.0)
    torch.testing.assert_close(z, torch.exp(torch.tensor([[-1.0, 0.0, LOG_SCALE_MAX, LOG_SCALE_MAX]])))


def test_a_config_of_a_retired_experiment_is_refused_and_its_switches_at_this_models_values_pass():
    old = {**LIVE.to_dict(), "context": 1, "memory": 0, "memory_kind": "bars", "gen_time_margin": 0, "gen_output": "cells"}
    assert ModelConfig.from_dict(old) == LIVE
    for key, value in (("context", 2), ("gen_time_margin", 2), ("gen_output", "step")):
        with pytest.raises(ValueError, match=f"retired configuration \\({key}={value}\\)"):
            ModelConfig.from_dict({**old, key: value})
    with pytest.raises(ValueError, match="unknown"):
        ModelConfig.from_dict({**old, "colour": "red"})
    assert sorted(CONFIGS) == ["live", "paper"]
