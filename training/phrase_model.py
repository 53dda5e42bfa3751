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

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from srlive.contract import LOG_SCALE_MAX, METERS, N_PITCHES
from srlive_training.config import BarModelConfig
from srlive_training.events import HOLD, N_EVENTS, REST, START
from srlive_training.model import Discriminator

INTERVALS = 12  # the interval term reaches an octave up and down
_NEG = -1e9  # a logit that never wins (finite, so ONNX and softmax stay NaN-free)


@dataclass(frozen=True)
class PhraseConfig(BarModelConfig):
    name: str = "phrase"
    latent: int = 32
    kind: str = "phrase"
    history: tuple[int, ...] = (1, 2, 4, 8)
    hidden: int = 192
    event_embed: int = 48
    context_embed: int = 96
    enc_channels: tuple[int, ...] = (8, 16, 32)
    enc_kernel: int = 3

    def __post_init__(self):
        super().__post_init__()
        if not self.history or sorted(set(self.history)) != list(self.history) or self.history[0] < 1:
            raise ValueError(f"history must be increasing bar offsets from 1, not {self.history}")

    @property
    def context(self) -> int:
        return len(self.history)

    @property
    def noise_size(self) -> int:
        """The noise input: z's standard normal noise, then one per step for the event draws."""
        return self.latent + self.steps



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


def interval_shifts() -> torch.Tensor:
    """The constant [89, 88 * (2*INTERVALS+1)]: row q (the last note's pitch row; 88: no note yet)
    says, for each pitch p and interval d (-INTERVALS .. +INTERVALS), whether p lies d above q."""
    m = torch.zeros(N_PITCHES + 1, N_PITCHES, 2 * INTERVALS + 1)
    for i, d in enumerate(range(-INTERVALS, INTERVALS + 1)):
        for p in range(max(0, d), min(N_PITCHES, N_PITCHES + d)):
            m[p - d, p, i] = 1.0
    return m.reshape(N_PITCHES + 1, -1)


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
        self.register_buffer("shifts", interval_shifts(), persistent=False)
        self.n_context = c

    def initial_state(self, z: torch.Tensor, phrase: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.init(torch.cat([z, phrase], dim=-1)))[None]  # [1, N, H]

    def static_inputs(self, ctx: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """What the GRU reads at every step besides the event before: the step's context, its
        place in the bar and z: ctx [N, S, 2C*88], z [N, L] -> [N, S, ...]."""
        n, steps = ctx.shape[0], ctx.shape[1]
        pos = self.position.weight[None, :steps].expand(n, steps, self.position.weight.shape[1])
        return torch.cat([F.relu(self.context(ctx)), pos, z[:, None].expand(n, steps, z.shape[1])], dim=-1)

    def head(self, h: torch.Tensor, ctx: torch.Tensor, last_pitch: torch.Tensor, sounding: torch.Tensor):
        """Event logits [N, T, 90] from GRU outputs h [N, T, H], the steps' context [N, T, 2C*88],
        the last new note's pitch row [N, T] (long; 88 where there is none yet) and the pitch
        sounding at the step before, one-hot [N, T, 88] (zeros where none): HOLD is impossible
        where none did, and so is starting that pitch again (a roll cannot tell it from a hold)."""
        logits = self.logits(h)
        n, t = h.shape[0], h.shape[1]
        gates = self.copy(h).reshape(n * t, 1, 2 * self.n_context)
        bars = ctx.reshape(n * t, 2 * self.n_context, N_PITCHES)
        copy = torch.bmm(gates, bars).reshape(n, t, N_PITCHES)
        windows = F.embedding(last_pitch, self.shifts).reshape(n, t, N_PITCHES, 2 * INTERVALS + 1)
        interval = torch.matmul(windows, self.interval(h)[..., None])[..., 0]
        no_hold = (1.0 - sounding.sum(dim=-1, keepdim=True)) * _NEG
        return torch.cat([logits[..., :N_PITCHES] + copy + interval + sounding * _NEG, logits[..., HOLD:HOLD + 1] + no_hold,
                          logits[..., REST:]], dim=-1)


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
        inputs = torch.cat([G.embed(prev), G.static_inputs(ctx, z)], dim=-1)
        h, _ = G.gru(inputs, G.initial_state(z, phrase))
        last = torch.where(last_pitch >= 0, last_pitch, torch.full_like(last_pitch, N_PITCHES))
        return G.head(h, ctx, last, _sounding_after(prev).to(h.dtype))

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

    def play(self, history: torch.Tensor, noise: torch.Tensor, temperature: torch.Tensor, trace: list | None = None
             ) -> torch.Tensor:
        """What step.onnx computes: the phrase heard [N, C, 88, S], noise [N, L + S] (standard
        normal), temperature [N, 1] -> the answer [N, 1, 88, S] in [0, 1].

        The arithmetic of `teacher_forced` step by step, written for a small graph (one exported
        call a bar runs the whole loop, so every node counts S times): everything that does not
        depend on the events drawn is computed once before the loop, the three heads are one
        matrix product, and the interval term is a lookup. `trace`, when given, receives z and
        each step's logits and events (for tests)."""
        cfg, G = self.config, self.generator
        steps, latent, width = cfg.steps, cfg.latent, 2 * cfg.context
        n = history.shape[0]
        mu, ls, phrase = self.encoder(history)
        z = mu + temperature * noise[:, :latent] * torch.exp(torch.clamp(ls, max=LOG_SCALE_MAX))
        uniform = 0.5 * (1.0 + torch.erf(noise[:, latent : latent + steps] / math.sqrt(2.0)))
        if trace is not None:
            trace.append((z, phrase))
        ctx = step_context(history)
        statics = G.static_inputs(ctx, z).unbind(1)
        heard = ctx.reshape(n, steps, width, N_PITCHES).unbind(1)
        heads_w = torch.cat([G.logits.weight, G.copy.weight, G.interval.weight])
        heads_b = torch.cat([G.logits.bias, G.copy.bias, G.interval.bias])
        shifts = G.shifts.reshape(N_PITCHES + 1, N_PITCHES, 2 * INTERVALS + 1)
        events_w = G.embed.weight[:N_EVENTS]
        h = G.initial_state(z, phrase)
        embedded = G.embed.weight[START][None].expand(n, cfg.event_embed)
        zeros = mu[:, :1] * 0.0  # [N, 1] zeros shaped by the batch
        cur = zeros.expand(-1, N_PITCHES)  # the pitch sounding (one-hot, or nothing)
        last = torch.full_like(uniform[:, 0], N_PITCHES).to(torch.long)  # the last new note's row (88: none)
        value = zeros
        inverse_t = 1.0 / torch.clamp(temperature, min=0.05)
        columns = []
        for s in range(steps):
            out, h = G.gru(torch.cat([embedded, statics[s]], dim=-1)[:, None], h)
            base, gates, iv = F.linear(out[:, 0], heads_w, heads_b).split([N_EVENTS, width, 2 * INTERVALS + 1], dim=-1)
            copy = torch.matmul(gates[:, None], heard[s])[:, 0]
            interval = torch.matmul(shifts[last], iv[:, :, None])[..., 0]
            pitches = base[:, :N_PITCHES] + copy + interval + cur * _NEG
            hold = base[:, HOLD : HOLD + 1] + (1.0 - cur.sum(dim=-1, keepdim=True)) * _NEG
            logits = torch.cat([pitches, hold, base[:, REST:]], dim=-1)
            probs = torch.softmax(logits * inverse_t, dim=-1)
            below = (torch.cumsum(probs, dim=-1) < uniform[:, s : s + 1]).to(probs.dtype).sum(dim=-1)
            event = torch.clamp(below, max=N_EVENTS - 1).to(torch.long)
            if trace is not None:
                trace.append((logits, event))
            onehot = F.one_hot(event, N_EVENTS).to(probs.dtype)
            chance = (probs * onehot).sum(dim=-1, keepdim=True)
            new_note, is_hold, is_rest = onehot.split([N_PITCHES, 1, 1], dim=-1)
            cur = new_note + is_hold * cur
            last = torch.where(event < N_PITCHES, event, last)
            value = (1.0 - is_hold - is_rest) * (0.5 + 0.5 * chance) + is_hold * value
            columns.append(cur * value)
            embedded = torch.matmul(onehot, events_w)
        return torch.stack(columns, dim=-1)[:, None]


def _sounding_after(prev: torch.Tensor) -> torch.Tensor:
    """The pitch sounding after each of the events `prev` [N, T], one-hot [N, T, 88] (zeros where
    nothing does; a HOLD after a rest holds nothing)."""
    out = []
    cur = torch.full_like(prev[:, 0], -1)
    for s in range(prev.shape[1]):
        e = prev[:, s]
        cur = torch.where(e < N_PITCHES, e, torch.where(e == HOLD, cur, torch.full_like(cur, -1)))
        out.append(cur)
    cur_all = torch.stack(out, dim=1)
    return F.one_hot(cur_all.clamp(min=0), N_PITCHES) * (cur_all >= 0)[..., None]


class PlayModule(nn.Module):
    """step.onnx: (bar [N,C,88,S], noise [N,L+S], temperature [N,1]) -> next_bar [N,1,88,S]."""

    def __init__(self, model: PhraseVAE):
        super().__init__()
        self.model = model

    def forward(self, bar: torch.Tensor, noise: torch.Tensor, temperature: torch.Tensor) -> torch.Tensor:
        return self.model.play(bar, noise, temperature)


def build_phrase(cfg: PhraseConfig) -> PhraseVAE:
    return PhraseVAE(cfg)


@torch.no_grad()
def listens(model: PhraseVAE, histories: torch.Tensor, seed: int = 0, temperature: float = 1.0) -> dict:
    """The context test: the share of answers that change when only the bars heard change (each
    phrase's answer against the next phrase's, on the same noise), and when only z's noise changes
    (the same phrases and event draws). A decoder deaf to the bars heard scores 0 on "bars"; one
    that ignores z, 0 on "z"."""
    cfg = model.config
    g = torch.Generator().manual_seed(seed)
    n = histories.shape[0]
    noise = torch.randn(n, cfg.noise_size, generator=g)
    other = noise.clone()
    other[:, : cfg.latent] = torch.randn(n, cfg.latent, generator=g)
    t = torch.full((n, 1), float(temperature))
    was = model.training
    model.eval()
    base = model.play(histories, noise, t) > 0
    moved = model.play(torch.roll(histories, 1, dims=0), noise, t) > 0
    redrawn = model.play(histories, other, t) > 0
    model.train(was)

    def changed(a, b):
        return float((a != b).flatten(1).any(dim=1).float().mean())

    return {"bars": changed(base, moved), "z": changed(base, redrawn)}
