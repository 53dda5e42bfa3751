"""The semi-recurrent CNN VAE-GAN (Akbari & Liang, ICASSP 2018).

Encoder E: previous bar x^{t-1} -> (mu, log_scale), 128 each.
z = mu + temperature * z_p * exp(log_scale), z_p ~ N(0, I)   (log_scale = log sigma, the paper's eps)
Generator G: z -> next bar in [0, 1], every cell on its own (tanh output mapped by (t + 1) / 2).
Discriminator D: bar -> (logit of "real", features of one intermediate block for L_l).

Shapes: bars are [N, 1, 88, S] float32 in [0, 1], S = cfg.steps (16, or 12 for triple bars);
z, mu, log_scale are [N, 128].
"""

from __future__ import annotations

import torch
from torch import nn

from srlive.contract import LOG_SCALE_MAX

from srlive_training.config import N_PITCHES, ModelConfig


def _conv_out(size: int, kernel: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - kernel) // stride + 1


class Encoder(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        layers: list[nn.Module] = []
        c_in, h, w = 1, N_PITCHES, cfg.steps
        pad = cfg.enc_kernel // 2
        for c in cfg.enc_channels:
            layers += [nn.Conv2d(c_in, c, cfg.enc_kernel, stride=cfg.enc_stride, padding=pad), nn.ELU()]
            c_in = c
            h = _conv_out(h, cfg.enc_kernel, cfg.enc_stride, pad)
            w = _conv_out(w, cfg.enc_kernel, cfg.enc_stride, pad)
        self.convs = nn.Sequential(*layers)
        self.fc = nn.Linear(c_in * h * w, 2 * cfg.latent)  # mu || log_scale
        self.latent = cfg.latent

    def forward(self, bar: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.convs(bar).flatten(1)
        out = self.fc(h)
        return out[:, : self.latent], out[:, self.latent :]


class Generator(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        c, h, w = cfg.gen_proj
        self.proj_shape = (c, h, w)
        self.proj = nn.Linear(cfg.latent, c * h * w)
        layers: list[nn.Module] = [nn.ELU()]
        c_in = c
        for c_out in cfg.gen_channels:
            if cfg.gen_stride == 1:
                deconv = nn.ConvTranspose2d(c_in, c_out, cfg.gen_kernel, stride=1, padding=cfg.gen_kernel // 2)
            else:
                pad = (cfg.gen_kernel - cfg.gen_stride) // 2
                deconv = nn.ConvTranspose2d(c_in, c_out, cfg.gen_kernel, stride=cfg.gen_stride, padding=pad)
            layers += [deconv, nn.ELU()]
            c_in = c_out
        layers += [nn.Conv2d(c_in, 1, 3, padding=1)]
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.proj(z).view(z.shape[0], *self.proj_shape)
        x = self.body(x)
        # clamped: onnxruntime's fast tanh can return -1 - 6e-8, and the contract is [0, 1]
        return torch.clamp((torch.tanh(x) + 1.0) * 0.5, 0.0, 1.0)


class Discriminator(nn.Module):
    """D of the paper: one bar [N, 1, 88, S] -> (logit, features)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        blocks = []
        c_in, h, w = 1, N_PITCHES, cfg.steps
        pad = cfg.disc_kernel // 2
        for c in cfg.disc_channels:
            blocks.append(
                nn.Sequential(
                    nn.Conv2d(c_in, c, cfg.disc_kernel, stride=cfg.disc_stride, padding=pad),
                    nn.LeakyReLU(0.2),
                )
            )
            c_in = c
            h = _conv_out(h, cfg.disc_kernel, cfg.disc_stride, pad)
            w = _conv_out(w, cfg.disc_kernel, cfg.disc_stride, pad)
        self.blocks = nn.ModuleList(blocks)
        self.fc = nn.Linear(c_in * h * w, 1)
        self.feature_index = cfg.feature_layer % len(blocks)

    def forward(self, bar: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (logit [N, 1], features [N, F]); D(x) = sigmoid(logit)."""
        h = bar
        feat = None
        for i, block in enumerate(self.blocks):
            h = block(h)
            if i == self.feature_index:
                feat = h.flatten(1)
        return self.fc(h.flatten(1)), feat


# The encoder's log scale is capped at sampling time. On real bars the trained encoder gives
# log scales <= 0.3 (20,000 corpus bars, shipped model), so the cap never binds there; on a dense
# cluster of random notes it would say "anything goes" (log scale 6, z hundreds of sigmas out),
# which makes the answer noise and float32 rounding between runtimes grow with it. Capped, such a
# bar gets at most e (2.7) times the prior's spread. Training, export and runtime share this line.
# (LOG_SCALE_MAX, in srlive.contract)


def sample_z(mu: torch.Tensor, log_scale: torch.Tensor, noise: torch.Tensor, temperature) -> torch.Tensor:
    """z = mu + temperature * noise * exp(min(log_scale, LOG_SCALE_MAX))."""
    return mu + temperature * noise * torch.exp(torch.clamp(log_scale, max=LOG_SCALE_MAX))


class VAEGAN(nn.Module):
    """E, G and D together, with the config they were built from."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.config = cfg
        self.encoder = Encoder(cfg)
        self.generator = Generator(cfg)
        self.discriminator = Discriminator(cfg)

    @torch.no_grad()
    def step(self, bar: torch.Tensor, noise: torch.Tensor, temperature: float | torch.Tensor = 1.0) -> torch.Tensor:
        """One model step: previous bar -> next bar (what step.onnx computes)."""
        mu, log_scale = self.encoder(bar)
        return self.generator(sample_z(mu, log_scale, noise, temperature))


class StepModule(nn.Module):
    """encode -> sample z with the given noise and temperature -> generate; exported as step.onnx.

    Inputs: bar [N,1,88,S], noise [N,128], temperature [N,1]. Output: next_bar [N,1,88,S].
    """

    def __init__(self, encoder: Encoder, generator: Generator):
        super().__init__()
        self.encoder = encoder
        self.generator = generator

    def forward(self, bar: torch.Tensor, noise: torch.Tensor, temperature: torch.Tensor) -> torch.Tensor:
        mu, log_scale = self.encoder(bar)
        return self.generator(sample_z(mu, log_scale, noise, temperature))


def build(cfg: ModelConfig) -> VAEGAN:
    return VAEGAN(cfg)
