"""The step decoder: srlive's generator that writes its bar one sixteenth step at a time.

The paper's semi-recurrent structure stays (Akbari & Liang 2018): the encoder E hears what went by
and gives the latent's mean and log scale, z is sampled with the temperature, and the generator G
answers the next bar from z. What E hears is the phrase: the bars 1, 2, 4 and 8 back
(`PhraseConfig.history`, channels of one [N, C, 88, S] input; silence where nothing went by),
because folk tunes return to their figures at the phrase (four and eight bars), not at the bar.

G is a GRU that emits one event a step (srlive_training.events: a new note of pitch p, hold, or
rest; MusicVAE's melody decoder). At each step it reads the event before, the same step of every
bar heard (where notes sound and where they start: the performer's rhythm and pace, step by step),
the step's place in the bar and z; its state starts from z and E's reading of the phrase. Two
terms make its pitch logits equivariant under transposition, so a short training run learns what a
melody does in any key: a copy term (its state weighs, per bar heard, the pitches sounding and
starting at this step there: the phrase's returns) and an interval term (its state weighs the 25
intervals of an octave up and down from the last note it played).

Training is a conditional VAE: a posterior encoder Q hears the bar to write as well and gives z;
E is the prior that z's KL divergence is measured against (with free bits), and at play time z is
drawn from E. D is the paper's discriminator, kept as the critic that selection uses
(srlive-train-critic trains it against the exported model). `PhraseVAE.play` is what step.onnx
computes: the step loop unrolled, sampling each event by inverse transform from one uniform a
step, made from the noise input's last S values; events become the roll inside the graph, each
sounding cell holding 0.5 + 0.5 * the chance the note's first event had (a higher --threshold
drops the notes the decoder was less sure of).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from srlive.contract import LOG_SCALE_MAX, METERS, N_PITCHES
from srlive_training.events import HOLD, N_EVENTS, REST, START
from srlive_training.model import Discriminator

INTERVALS = 12  # the interval term reaches an octave up and down
_NEG = -1e9  # a logit that never wins (finite, so ONNX and softmax stay NaN-free)


@dataclass(frozen=True)
class PhraseConfig:
    name: str = "phrase"
    kind: str = "phrase"
    steps: int = 16
    history: tuple[int, ...] = (1, 2, 4, 8)
    latent: int = 32
    hidden: int = 256
    event_embed: int = 64
    context_embed: int = 96
    enc_channels: tuple[int, ...] = (8, 16, 32)
    enc_kernel: int = 3
    # D (the critic), as the paper's discriminator of srlive_training.model
    disc_channels: tuple[int, ...] = (16, 32, 64)
    disc_kernel: int = 3
    disc_stride: int = 2
    feature_layer: int = -1

    def __post_init__(self):
        widths = sorted({m.steps for m in METERS.values()})
        if self.steps not in widths:
            raise ValueError(f"steps must be one of {widths}, not {self.steps}")
        if not self.history or sorted(set(self.history)) != list(self.history) or self.history[0] < 1:
            raise ValueError(f"history must be increasing bar offsets from 1, not {self.history}")

    @property
    def context(self) -> int:
        return len(self.history)

    @property
    def noise_size(self) -> int:
        """The noise input: z's standard normal noise, then one per step for the event draws."""
        return self.latent + self.steps

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> "PhraseConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown phrase config keys: {sorted(unknown)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


PHRASE = PhraseConfig()
PHRASE_TRIPLE = PhraseConfig(name="phrase-triple", steps=METERS["3/4"].steps)
PHRASE_CONFIGS = {"phrase": PHRASE, "phrase-triple": PHRASE_TRIPLE}


def is_phrase_config(d: dict) -> bool:
    return isinstance(d, dict) and d.get("kind") == "phrase"


class BarsEncoder(nn.Module):
    """Strided convolutions over bars stacked as channels [N, C, 88, S] -> (mu, log_scale, features)."""

    def __init__(self, channels_in: int, cfg: PhraseConfig):
        super().__init__()
        layers: list[nn.Module] = []
        c_in, h, w = channels_in, N_PITCHES, cfg.steps
        for c in cfg.enc_channels:
            layers += [nn.Conv2d(c_in, c, cfg.enc_kernel, stride=2, padding=cfg.enc_kernel // 2), nn.ELU()]
            c_in, h, w = c, (h - 1) // 2 + 1, (w - 1) // 2 + 1
        self.convs = nn.Sequential(*layers)
        self.features = nn.Linear(c_in * h * w, cfg.context_embed)
        self.out = nn.Linear(cfg.context_embed, 2 * cfg.latent)
        self.latent = cfg.latent

    def forward(self, bars: torch.Tensor):
        f = F.elu(self.features(self.convs(bars).flatten(1)))
        out = self.out(f)
        return out[:, : self.latent], out[:, self.latent :], f


def step_context(history: torch.Tensor) -> torch.Tensor:
    """Per step, where notes sound and where they start in every bar heard:
    history [N, C, 88, S] -> [N, S, C * 2 * 88]."""
    sounding = (history > 0).to(history.dtype)
    before = F.pad(sounding[..., :-1], (1, 0))
    onset = sounding * (1.0 - before)
    both = torch.cat([sounding, onset], dim=1)  # [N, 2C, 88, S]
    return both.permute(0, 3, 1, 2).flatten(2)


def interval_logits(last_pitch: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """For each pitch p, the weight of the interval from the last note to p: last_pitch one-hot
    [..., 88] and weights [..., 2*INTERVALS+1] (intervals -INTERVALS .. +INTERVALS) -> [..., 88]
    (0 where the last note is further than INTERVALS, or there is none)."""
    padded = F.pad(last_pitch, (INTERVALS, INTERVALS))
    out = 0.0
    for i, d in enumerate(range(-INTERVALS, INTERVALS + 1)):
        # pitch p is d above the last note when the last note is p - d: padded row p - d + INTERVALS
        out = out + weights[..., i : i + 1] * padded[..., INTERVALS - d : INTERVALS - d + N_PITCHES]
    return out


class StepDecoder(nn.Module):
    """G: a GRU over the bar's steps; one event's logits a step (see the module doc)."""

    def __init__(self, cfg: PhraseConfig):
        super().__init__()
        c = cfg.context
        self.steps = cfg.steps
        self.embed = nn.Embedding(N_EVENTS + 1, cfg.event_embed)  # + START
        self.position = nn.Embedding(cfg.steps, 16)
        self.context = nn.Linear(2 * c * N_PITCHES, cfg.context_embed)
        self.init = nn.Linear(cfg.latent + cfg.context_embed, cfg.hidden)
        self.gru = nn.GRU(cfg.event_embed + cfg.context_embed + 16 + cfg.latent, cfg.hidden, batch_first=True)
        self.logits = nn.Linear(cfg.hidden, N_EVENTS)
        self.copy = nn.Linear(cfg.hidden, 2 * c)
        self.interval = nn.Linear(cfg.hidden, 2 * INTERVALS + 1)
        self.n_context = c

    def initial_state(self, z: torch.Tensor, phrase: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.init(torch.cat([z, phrase], dim=-1)))[None]  # [1, N, H]

    def inputs(self, prev_events: torch.Tensor, ctx: torch.Tensor, z: torch.Tensor, first_step: int = 0) -> torch.Tensor:
        """prev_events [N, T], ctx [N, T, 2C*88] (steps first_step ..) -> GRU inputs [N, T, ...]."""
        t = prev_events.shape[1]
        pos = self.position(torch.arange(first_step, first_step + t, device=prev_events.device))
        return torch.cat([self.embed(prev_events), F.relu(self.context(ctx)), pos.expand(prev_events.shape[0], t, -1),
                          z[:, None].expand(-1, t, -1)], dim=-1)

    def head(self, h: torch.Tensor, ctx: torch.Tensor, last_pitch: torch.Tensor, sounding_before: torch.Tensor):
        """Event logits [N, T, 90] from GRU outputs h [N, T, H], the steps' context [N, T, 2C*88],
        the last new note's pitch one-hot [N, T, 88] and whether a note sounded at the step before
        [N, T] (HOLD is impossible where none did)."""
        logits = self.logits(h)
        gates = self.copy(h)  # [N, T, 2C]
        bars = ctx.view(*ctx.shape[:-1], 2 * self.n_context, N_PITCHES)
        copy = (gates[..., None] * bars).sum(dim=-2)  # [N, T, 88]
        interval = interval_logits(last_pitch, self.interval(h))
        pitches = logits[..., :N_PITCHES] + copy + interval
        hold = torch.where(sounding_before > 0, logits[..., HOLD], torch.full_like(logits[..., HOLD], _NEG))
        return torch.cat([pitches, hold[..., None], logits[..., REST:]], dim=-1)


class PhraseVAE(nn.Module):
    """E (the prior over z from the phrase heard), Q (the posterior, training only), G, D."""

    def __init__(self, cfg: PhraseConfig):
        super().__init__()
        self.config = cfg
        self.encoder = BarsEncoder(cfg.context, cfg)
        self.posterior = BarsEncoder(cfg.context + 1, cfg)
        self.generator = StepDecoder(cfg)
        self.discriminator = Discriminator(cfg)

    def teacher_forced(self, history: torch.Tensor, target: torch.Tensor, events: torch.Tensor,
                       last_pitch: torch.Tensor, z: torch.Tensor, phrase: torch.Tensor) -> torch.Tensor:
        """Event logits [N, S, 90] for the bar whose events are `events` [N, S] (long), given the
        phrase heard [N, C, 88, S], z [N, L], E's phrase features, and for each step the pitch row of
        the last new note before it [N, S] (-1: none)."""
        G = self.generator
        ctx = step_context(history)
        prev = torch.cat([torch.full_like(events[:, :1], START), events[:, :-1]], dim=1)
        h, _ = G.gru(G.inputs(prev, ctx, z), G.initial_state(z, phrase))
        last = F.one_hot(last_pitch.clamp(min=0), N_PITCHES).to(h.dtype) * (last_pitch >= 0)[..., None].to(h.dtype)
        sounding_before = _sounding_after(prev).to(h.dtype)  # a HOLD after a rest holds nothing
        return G.head(h, ctx, last, sounding_before)

    def losses(self, history: torch.Tensor, target: torch.Tensor, events: torch.Tensor, last_pitch: torch.Tensor,
               free_bits: float = 0.0) -> dict:
        """Cross-entropy of the bar's events (teacher forcing, z from Q) and KL(Q || E), in nats."""
        mu_p, ls_p, phrase = self.encoder(history)
        mu_q, ls_q, _ = self.posterior(torch.cat([target[:, None], history], dim=1))
        ls_p = ls_p.clamp(max=LOG_SCALE_MAX)
        ls_q = ls_q.clamp(max=LOG_SCALE_MAX)
        z = mu_q + torch.randn_like(mu_q) * torch.exp(ls_q)
        logits = self.teacher_forced(history, target, events, last_pitch, z, phrase)
        ce = F.cross_entropy(logits.reshape(-1, N_EVENTS), events.reshape(-1))
        kl = (ls_p - ls_q + (torch.exp(2 * ls_q) + (mu_q - mu_p) ** 2) / (2 * torch.exp(2 * ls_p)) - 0.5).sum(1).mean()
        return {"ce": ce, "kl": kl, "kl_loss": torch.clamp(kl, min=free_bits), "logits": logits}

    def play(self, history: torch.Tensor, noise: torch.Tensor, temperature: torch.Tensor) -> torch.Tensor:
        """What step.onnx computes: the phrase heard [N, C, 88, S], noise [N, L + S] (standard
        normal), temperature [N, 1] -> the answer [N, 1, 88, S] in [0, 1]."""
        cfg, G = self.config, self.generator
        n, steps, latent = history.shape[0], cfg.steps, cfg.latent
        mu, ls, phrase = self.encoder(history)
        z = mu + temperature * noise[:, :latent] * torch.exp(torch.clamp(ls, max=LOG_SCALE_MAX))
        uniform = 0.5 * (1.0 + torch.erf(noise[:, latent : latent + steps] / math.sqrt(2.0)))
        ctx = step_context(history)
        h = G.initial_state(z, phrase)
        prev = torch.full((n, 1), START, dtype=torch.long, device=history.device)
        cur = history.new_zeros(n, N_PITCHES)  # the pitch sounding (one-hot, or nothing)
        last = history.new_zeros(n, N_PITCHES)  # the last new note's pitch
        value = history.new_zeros(n, 1)
        temp = torch.clamp(temperature, min=0.05)
        columns = []
        for s in range(steps):
            out, h = G.gru(G.inputs(prev, ctx[:, s : s + 1], z, first_step=s), h)
            sounding = cur.sum(dim=-1, keepdim=True)
            logits = G.head(out, ctx[:, s : s + 1], last[:, None], sounding)[:, 0]
            probs = torch.softmax(logits / temp, dim=-1)
            below = (torch.cumsum(probs, dim=-1) < uniform[:, s : s + 1]).to(torch.long).sum(dim=-1, keepdim=True)
            event = torch.clamp(below, max=N_EVENTS - 1)
            chance = torch.gather(probs, 1, event)
            onehot = (torch.arange(N_EVENTS, device=history.device)[None] == event).to(history.dtype)
            new_note = onehot[:, :N_PITCHES]
            is_new = new_note.sum(dim=-1, keepdim=True)
            is_hold = onehot[:, HOLD : HOLD + 1]
            cur = new_note + is_hold * cur
            last = new_note + (1.0 - is_new) * last
            value = is_new * (0.5 + 0.5 * chance) + is_hold * value
            columns.append(cur * value)
            prev = event
        return torch.stack(columns, dim=-1)[:, None]


def _sounding_after(prev: torch.Tensor) -> torch.Tensor:
    """Whether a note sounds after each of the events `prev` [N, T] (a HOLD after a rest holds nothing)."""
    out = []
    cur = torch.zeros_like(prev[:, 0], dtype=torch.bool)
    for s in range(prev.shape[1]):
        e = prev[:, s]
        cur = (e < N_PITCHES) | ((e == HOLD) & cur)
        out.append(cur)
    return torch.stack(out, dim=1).to(torch.float32)


class PlayModule(nn.Module):
    """step.onnx: (bar [N,C,88,S], noise [N,L+S], temperature [N,1]) -> next_bar [N,1,88,S]."""

    def __init__(self, model: PhraseVAE):
        super().__init__()
        self.model = model

    def forward(self, bar: torch.Tensor, noise: torch.Tensor, temperature: torch.Tensor) -> torch.Tensor:
        return self.model.play(bar, noise, temperature)


def build_phrase(cfg: PhraseConfig) -> PhraseVAE:
    return PhraseVAE(cfg)
