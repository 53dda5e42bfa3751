"""Shapes, ranges and config round trips of the VAE-GAN (training/model.py, training/config.py)."""

import pytest
import torch

from srlive_training.config import LIVE, PAPER, ModelConfig, get_config
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


def test_a_generator_with_a_time_margin_draws_wider_and_cuts_back_to_the_bar():
    from srlive_training.config import LIVE_STEPS, ModelConfig

    model = VAEGAN(LIVE_STEPS)
    out = model.generator(torch.randn(3, LIVE_STEPS.latent))
    assert out.shape == (3, 1, 88, 16) and float(out.min()) >= 0 and float(out.max()) <= 1
    assert model.generator.proj.out_features == 32 * 22 * 5  # 20 steps drawn, 2 cut off on each side
    with pytest.raises(ValueError):
        ModelConfig(name="x", gen_proj=(32, 22, 4), gen_time_margin=2)  # 16 steps drawn: nothing to cut


def test_a_generator_of_one_pitch_a_step_commits_each_step_to_its_likeliest_pitch_or_a_rest():
    """gen_output "step": at each step a softmax over the 88 pitches and a rest; the bar holds the
    chance the step sounds at the likeliest pitch and 0 elsewhere, and every pitch's share still
    gets the gradient."""
    from srlive_training.config import LIVE_STEP_PITCH
    from srlive_training.model import one_pitch_per_step

    pitch_logits = torch.zeros(1, 1, 88, 3)
    pitch_logits[0, 0, 40, 0] = 3.0   # step 0: pitch 40 stands out, the rest is unlikely
    pitch_logits[0, 0, 40, 1] = 0.5   # step 1: pitch 40 a little ahead, but a rest is likelier
    pitch_logits[0, 0, 41, 2] = 1.0   # step 2: pitch 41, rest at even odds with all pitches together
    rest = torch.tensor([-5.0, 12.0, 0.0]).view(1, 1, 1, 3)
    rest[..., 2] = torch.logsumexp(pitch_logits[0, 0, :, 2], 0)
    pitch_logits.requires_grad_(True)
    bar = one_pitch_per_step(pitch_logits, rest)
    assert [int((bar[0, 0, :, s] > 0).sum()) for s in range(3)] == [1, 1, 1]
    assert [int(bar[0, 0, :, s].argmax()) for s in range(3)] == [40, 40, 41]
    sounds = bar[0, 0].amax(0)
    assert float(sounds[0]) > 0.99 and float(sounds[1]) < 0.01
    torch.testing.assert_close(sounds[2], torch.tensor(0.5))
    # in training every other pitch shows its share of the chance of sounding, relative to the likeliest's
    soft = one_pitch_per_step(pitch_logits, rest, hard=False)
    torch.testing.assert_close(soft.amax(2), bar.amax(2))
    assert torch.equal(soft.argmax(2), bar.argmax(2))
    torch.testing.assert_close(soft[0, 0, 42, 2], soft[0, 0, 41, 2] / torch.e)  # logit 0 against 1
    (soft * torch.arange(88.0).view(1, 1, 88, 1)).sum().backward()  # a loss that wants high pitches
    assert float(pitch_logits.grad[0, 0, 87, 0]) > float(pitch_logits.grad[0, 0, 1, 0]) > 0

    torch.manual_seed(0)
    model = VAEGAN(LIVE_STEP_PITCH).eval()  # eval: it commits, as exported and played
    with torch.no_grad():
        out = model.generator(torch.randn(5, LIVE_STEP_PITCH.latent) * 3)
    assert out.shape == (5, 1, 88, 16) and float(out.min()) >= 0 and float(out.max()) <= 1
    assert int((out > 0).sum(2).max()) == 1
    with pytest.raises(ValueError, match="gen_output"):
        ModelConfig(gen_output="chords")


def test_a_fresh_generator_of_one_pitch_a_step_starts_at_even_odds_of_a_rest():
    from srlive_training.config import LIVE_STEP_PITCH
    from srlive_training.trainer import init_output_density

    torch.manual_seed(0)
    model = VAEGAN(LIVE_STEP_PITCH)
    init_output_density(model, 0.02)
    model.eval()
    with torch.no_grad():
        for layer in model.generator.modules():  # leave the biases alone: every logit is its bias
            if isinstance(layer, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear)):
                layer.weight.zero_()
        out = model.generator(torch.randn(2, LIVE_STEP_PITCH.latent))
    torch.testing.assert_close(out.amax(2), torch.full((2, 1, 16), 0.5))
