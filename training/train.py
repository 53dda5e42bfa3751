"""Train the semi-recurrent CNN VAE-GAN: `python -m srlive_training.train` / `srlive-train`.

    python -m srlive_training.train --config live --data CACHE.npz --out runs/live --minutes 55
    python -m srlive_training.train --config live --data CACHE.npz --out runs/live --steps 20000 --resume
    python -m srlive_training.train --config live --data CACHE.npz --out runs/tuned --minutes 30 \
        --init-from runs/live/step-007000.pt --set encoder_freeze_step=1   # fine-tune, new settings
    torchrun --nproc-per-node 2 -m srlive_training.train --config paper --data CACHE.npz --out runs/p --steps 1000

One training STEP = one update of D and `eg_updates_per_d` (2, the paper) updates of E and G, all
on one mini-batch of (x^{t-1}, x^t) pairs of the train split (fresh noise each update). Bars per
second counts those pairs: steps * batch * world_size / training seconds.

Losses are training/losses.py (the paper's equations 5-10). Each network gets exactly its own
loss: D <- L_D; E <- L_E = L_l + L_prior; G <- L_G = L_adv + L_l. E and G share one Adam with one
parameter group each, built from module.parameters() — so E IS updated (the authors' released
code missed E's variables when it split the optimisers by name; tests/training/test_train.py
proves E's weights change). To keep the adversarial term out of E's gradient (eq. 8 has none),
G is run on [z, z.detach(), z_p] in one batch: the adversarial loss reads G(z.detach()), L_l and
the reconstruction read G(z). (encoder_adv_grad=True, used by `live` for speed, skips the split.)

Deviations from the paper (TrainConfig fields; `TRAIN_PRESETS["paper"]` keeps every one of them
off, so `--config paper` trains exactly eqs. 5-10 with the paper's optimiser settings). The shipped
`live` preset uses those marked *; its list is also saved in every checkpoint ("deviations"):

* pitch_class_weight (50) / pitch_class_prev_share (0.5): + w * cross-entropy between the pitch-
  class profile of the real bars (half x^t, half x^{t-1}) and that of x~^t (losses.pitch_class_loss).
  This is what made E carry the key of what it heard into z and G answer in it, in trials. (Our
  guess at why eqs. 5-10 alone did not: D's strided-convolution features see pitch only coarsely,
  so L_l hardly asks for the right pitch classes.)
* structure_weight (30) / structure_power (12): + w * the shape of the bar (losses.structure_loss):
  soft counts of sounding cells, of notes (onsets) and of distinct pitches as squared log-ratios,
  and the pitch spread, of x~^t and x~_p against the real x^t. Without it (session 1's model) the
  answers were one-step notes scattered over seven pitches a bar (QN 4 % against 37 %, UPC 6.2
  against 3.8); with it notes last and stay on few pitches. It also holds the note count away from
  the empty bar the GAN tends to collapse to, which density_weight did before.
- interval_weight / kept_cells_weight / kept_pitches_weight: + w * each of the three terms of
  how the answers move (losses.motion_terms, batch statistics): the KL between the real and the
  generated distributions of melodic intervals inside the bar; the share of the answer's cells,
  and of its pitches, already sounding in the bar it answers, against the music's shares.
  Session 2's model kept half its cells from the bar before (the music: a sixth) and jumped
  between them (steps of 1-2 semitones: a quarter of its intervals, half of the music's), so
  five of its bars repeated tones without repeating figures (uniqueness and recurrence both low).
  Off in `live`: in trials of 22-46 minutes (session 3) the interval term raised steps to 40-50 %
  and recurrence into range but left one-step notes (QN 0-23 %), and the kept terms lowered the
  kept share of answers to real bars but not of five-bar chains; see training/results/TRIALS.md.
- own_prev_share: that share of each batch trains on (the model's own answer to x^{t-1}, as
  heard; x^{t+1}) instead of (x^{t-1}, x^t), rows whose tune goes on that far (scheduled sampling).
  Every training pair of the paper is real, but model 1 and a long solo go on from the model's own
  bars: session 3's evaluation shows its five-bar samples keep 56 % of each bar's cells (the music
  17 %), which no term on single answers to real bars changed (see the motion terms). Off in
  `live`: a 55-minute trial (session 4; 0.5, 5,156 steps) still kept 58 % of the cells and met 8
  of 10 targets on the validation tunes against the shipped model's 7, trading its recurrence
  and diversity misses for a QN miss (32 %) and a wider uniqueness miss (27.7 %, the music 39.5).
- pair_weight / pair_lr: + w * -log P(x^{t-1}, x~^t), P a second discriminator (D's layers, two
  input channels: the bar heard and the answer; Adam at pair_lr, default lr_d) trained to tell the
  batch's real consecutive pairs from (x^{t-1}, x~^t) (instance noise on both channels). D sees one
  bar at a time, so to D a copy of the bar heard is a real bar, and pair-wise feature matching
  pulls x~^t toward the average next bar, whose likeliest cells are the bar heard's own: session
  2's model kept half its cells from the bar before (the music a sixth). P can see copying (a test
  shows it learns to). With own_prev_share, P's real pairs stay the real ones of the batch, and its
  fake pairs (and G's pair term) use only the rows whose x^{t-1} is real: with the model's own bar
  first, P could tell a fake by that bar alone, which G cannot change.
  Off in `live`: in 55-minute trials (session 4; weight 2, pair_lr 2e-4, about 4,400 steps) the
  answers kept less (50 % of cells at the end, against 55 %) and early snapshots reached the
  music's uniqueness (37.8 % at 1,000 steps), but the notes got short (QN 14-24 %) and no snapshot
  met more targets on the validation tunes than the shipped model; see training/results/TRIALS.md.
- mode_seeking_weight: + w * -log of how much G's answers to the same encodings differ under two
  noises z_p (losses.mode_seeking_loss; Mao et al. 2019). Two answers of session 2's model to the
  same bar share 58 % of their sounding cells: a conditional GAN learns to give the likeliest
  next bar whatever the noise, and the likeliest next bar keeps the pitches of the bar heard (in
  five-bar chains 77 % of each bar's pitches were in the bar before; the music's: 47 %). E's mu
  and eps are detached for this term, so it moves G only. Off in `live`: in a 50-minute trial
  (session 5; weight 5, 3,675 steps) uniqueness reached the music's at 1,000-2,000 steps, with
  wide leaps (tone span 19-21) and few tones (recurrence 4.6-5.3), then fell to 30.5 % by the end
  (7 of 10 targets on the validation tunes, as the shipped model); weight 1 changed little.
- coverage_weight / coverage_power: + w * (the share of the bar's steps at which the answer
  sounds - the real next bar's)^2 (losses.coverage_loss; soft counts at coverage_power). The
  tunes' melodies sound at 96 % of the steps, one note after another; session 2's five-bar
  samples at 63 %, with more notes stacked where they did: fewer tones per sample, and both
  uniqueness and recurrence depend on that number (real samples thinned to the model's tone
  count lose recurrence: 26 tones 8.8, 21 tones 5.2). Off in `live`: in a 42-minute trial
  (session 5; weight 100, 4,157 steps) recurrence came into range (8.5-8.6 on the validation
  tunes) but the answers copied more (kept 61-67 % of the cells), the tone span widened (15-24)
  and uniqueness stayed low (31-33 %); best snapshot 8 of 10. Weight 30 moved the coverage little.
- register_weight: + w * the squared distance in octaves between the mean pitch of x~^t and that
  of the real x^t (losses.register_loss; pairs where both sound). The pitch-class term is blind to
  the octave and the structure term asks only for the spread inside a bar, so nothing but D ties
  an answer's octave to the music (session 6's frozen-encoder trial: five-bar tone span 24, the
  tunes 13). Off in `live`: with it (weight 10, session 7) the answers copied from the first
  snapshot on (16 % of each bar's pitches new at 500 steps; the tunes 53 %): asking for the next
  bar's register is most cheaply met by the register of the bar heard.
- encoder_freeze_step: from this step on E is held (its outputs detached) and only G and D learn.
  Session 6 measured that the copying (the share of each bar's pitches that are new falling from
  ~35 % to ~20 %, the tunes 53 %) is learned late, and with E held from step 1,000 (a scratch
  resume of the feature_weight=0.25 run) uniqueness stayed in the tunes' range to the end.
  Off in `live`: in session 7 (with encoder_adv_grad off, held from step 2,000) the share of new
  pitches stayed at 26-28 % from the freeze to the end, G learned the range (tone span 13.4) but
  short notes (QN 20-23 %) and few tones (recurrence 6.1-7.6): 7 of 10 on the validation tunes at
  best, as the shipped model. Held from 1,500 with encoder_adv_grad on, it had copied by then.
* instance_noise (0.2): Gaussian noise of that std on every bar D sees, real and generated. Real
  cells are exactly 0 or 90/127, values no tanh output hits, so without it D wins on the values
  alone (L_D -> 0.15) and G learns to show it as few cells as it can.
- density_weight: + w * squared log-ratio of the sounding mass (cell value^4) of x~^t and x~_p
  against x^t's (losses.density_loss). Session 1's model used 10; off now: mass undercounts real
  cells (0.71^4) against brighter generated ones, so it asked for half the music's notes.
* free_bits (0.1) / kl_warmup_steps (1000): each latent dimension keeps 0.1 nat for free and the
  prior's weight ramps from 0 to kl_weight (1) over the first 1000 steps, so E does not give up
  the input when the prior reaches full weight.
* encoder_adv_grad (True): the adversarial term's gradient also reaches E through z (saves a
  third of G's and a quarter of D's work per E/G update; the paper's E sees only L_E).
  Session 7 found it is also what makes the early answers copy: D judges one bar at a time, and a
  bar carried through from the one heard is a real bar to D, so the adversarial gradient teaches E
  to pass the bar heard on. With it off (and nothing else changed) 37 % of each bar's pitches
  were new at 500 steps and 35 % at 1,000 (uniqueness 40 %, the validation tunes' own), against
  12-20 % at 500 steps in every run with it on; key fit 0.92, context 0.34. Later the copying came
  back all the same (27 % new at 2,000 steps, uniqueness 34 %; through E's own terms or G settling
  on the key's safest pitches, not yet told apart), and no snapshot met more targets than the
  shipped model, so `live` keeps it on.
* init_output_density (0.02): G's last bias starts so every cell reads 0.02 rather than 0.5.
- recon_weight / recon_pos_weight: + w * (pos-weighted) BCE(x~^t, x^t). Off: in trials it drowned
  the conditioning (answers in a random key).
- feature_matching = "batch": L_l on the batch's mean features (Salimans et al. 2016) instead of
  per pair; the validation L_l in the log stays pair-wise, so runs compare. Off in `live`: in
  session 7 it did not stop the copying, with encoder_adv_grad on (20 % new pitches at 500 steps)
  or off (39 % at 500 steps, 26 % at 1,500-2,000).
- prior = "exact": the exact KL for a log-SCALE eps (see losses.prior_loss). Off ("paper").
- init_log_scale, feature_weight, adv_weight: other knobs, left at the paper's values.
  Session 6 (validation tunes, training/results/trials_session6_val.md): in every run the share
  of each bar's pitches that are new (the tunes: 53 %) is highest early and falls with training
  (27-36 % at 1,000 steps, 15-24 % at the end), and uniqueness with it. feature_weight 0.25 (also
  with structure_power 24), free_bits 0.02 (E still used 10-12 nats), the pair critic with the
  coverage term, and pitch_class_prev_share 0 (copied most, key fit 0.89) all did so; best 7 of 10.

Validation (every --val-every steps, rank 0): the losses on a fixed set of validation batches,
and a quick listening check on ~200 validation answers (`listening_check`): key fit (share of the
answer's notes in the best scale of the 4 real bars before it, srlive_training.metrics.key_fit, held-out
tune transposed to a random key), context sensitivity (key fit minus key fit when the previous
bar comes from another tune), and empty-bar rate / note density against the real next bars.
best.pt keeps the checkpoint with the best `listening_score`.

Several processes (torchrun): WORLD_SIZE/RANK/LOCAL_RANK are read from the environment; the
process group uses nccl on CUDA and gloo on CPU; E, G, D are each wrapped in
DistributedDataParallel; each rank trains on its own shard of every epoch (iterate_batches'
rank/world_size); only rank 0 writes the log, the PNG and checkpoints.
"""

from __future__ import annotations

import argparse
import copy
import csv
import dataclasses
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from srlive.errors import UserError
from srlive.roll import roll_to_notes
from srlive_training import losses as L
from srlive_training.config import CONFIGS, ModelConfig, get_config
from srlive_training.corpus import BarCorpus
from srlive_training.model import VAEGAN, Discriminator, sample_z

PROG = "srlive-train"


@dataclass
class TrainConfig:
    config: str = "paper"  # model config name (training/config.py)
    batch_size: int = 64
    lr_e: float = 5e-4
    lr_g: float = 5e-4
    lr_d: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.999
    eg_updates_per_d: int = 2
    # --- loss weights and deviations (paper: prior "paper", weights 1, the rest off)
    prior: str = "paper"
    kl_weight: float = 1.0
    kl_warmup_steps: int = 0
    free_bits: float = 0.0
    feature_weight: float = 1.0
    feature_matching: str = "pairs"  # L_l per pair (the paper) or "batch": on the batch's mean features
    adv_weight: float = 1.0
    recon_weight: float = 0.0
    recon_pos_weight: float = 1.0  # weight of the sounding cells in the reconstruction BCE
    pitch_class_weight: float = 0.0  # + w * pitch-class profile cross-entropy (losses.pitch_class_loss)
    pitch_class_prev_share: float = 0.0  # share of x^{t-1}'s profile in the pitch-class target
    density_weight: float = 0.0  # + w * squared log-ratio of sounding mass (losses.density_loss)
    density_sharpness: float = 0.0  # > 0: compare soft counts of cells over 0.5 instead of mass
    structure_weight: float = 0.0  # + w * note length / distinct pitches / spread (losses.structure_loss)
    structure_power: float = 4.0  # soft-count power under the threshold (losses.soft_count)
    # share of each batch whose x^{t-1} is the model's own answer (as heard) to the real bar before,
    # and whose x^t is the real bar after that: the model learns to go on from bars like its own,
    # as model 1 and a long solo do (Trainer.own_prev). 0: every pair is real, as in the paper.
    own_prev_share: float = 0.0
    # + w * the three terms of losses.motion_terms: melodic intervals, cells and pitches kept
    interval_weight: float = 0.0
    kept_cells_weight: float = 0.0
    kept_pitches_weight: float = 0.0
    # + w * the adversarial term of a pair critic P that tells real (x^{t-1}, x^t) pairs from
    # (x^{t-1}, x~^t): D judges bars one at a time, so a copy of the bar heard looks real to it
    pair_weight: float = 0.0
    pair_lr: float | None = None  # P's Adam learning rate (None: D's, lr_d)
    # + w * -log of how much G's answers to the same bars differ under two noises (mode seeking;
    # losses.mode_seeking_loss); E's mu and eps are held (detached) for it, so only G answers
    mode_seeking_weight: float = 0.0
    # + w * (share of steps at which the answer sounds - the real next bar's)^2 (losses.coverage_loss)
    coverage_weight: float = 0.0
    coverage_power: float = 8.0  # soft-count power under the threshold for it
    # + w * (mean pitch of the answer - the real next bar's)^2 in octaves (losses.register_loss)
    register_weight: float = 0.0
    # from this step on E is held (its outputs detached, so it gets no gradient and Adam leaves it
    # as it is) and only G and D learn; 0: E learns throughout, as in the paper. E learns to carry
    # the bar heard early; later in training it learns to carry so much of it that G copies it.
    encoder_freeze_step: int = 0
    # std of Gaussian noise added to every bar D sees, real and generated (instance noise): real
    # bars hold exactly 0 and 90/127, which no tanh output can match, so without it D wins by the
    # cell values alone and G learns to show it as few cells as it can
    instance_noise: float = 0.0
    # True: the adversarial term's gradient also reaches E through z (cheaper: G runs on 2 batches,
    # D on 3, not 3 and 4); False: E's gradient is exactly that of L_E (eq. 8)
    encoder_adv_grad: bool = False
    # Initialisation (fresh runs only): start G's output at this density (the final layer's bias
    # set so every cell reads p0), instead of tanh(0) = 0.5 everywhere. Real bars are ~1% sounding
    # cells; from 0.5, Adam at lr 5e-4 needs thousands of steps just to reach silence. None: off.
    init_output_density: float | None = None
    # ... and start E's eps (log scale) output at this value (the bias of its eps half), so that
    # early on z = mu + z_p * exp(eps) is not all noise and G can see what E heard. None: off.
    init_log_scale: float | None = None
    # --- data
    augment: bool = True
    seed: int = 0
    # --- bookkeeping
    log_every: int = 50
    val_every: int = 500
    val_batches: int = 8
    val_answers: int = 200

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def deviations(self) -> list[str]:
        """Plain words for every setting that differs from the paper's eqs. 5-10 / section 4
        (every field but NOT_DEVIATIONS, in field order)."""
        ref = TrainConfig()
        return [f"{f.name}={getattr(self, f.name)} (paper: {getattr(ref, f.name)})"
                for f in dataclasses.fields(self)
                if f.name not in NOT_DEVIATIONS and getattr(self, f.name) != getattr(ref, f.name)]


#: TrainConfig fields that are not a departure from the paper's method: which model config, the
#: data order, bookkeeping, and beta2 (the paper names only beta1).
NOT_DEVIATIONS = frozenset({"config", "beta2", "augment", "seed", "log_every", "val_every", "val_batches",
                            "val_answers"})


#: The training settings each `--config` starts from (CLI flags override batch size and seed).
TRAIN_PRESETS: dict[str, TrainConfig] = {
    "paper": TrainConfig(config="paper"),
    # The shipped model. Chosen by 5-10 minute trial runs (2026-11-22, 1 CPU thread, full corpus and
    # a small proxy of it): with a cell-wise reconstruction BCE (weights 0.1-1, pos_weight 1-20)
    # the answers stayed empty or, once they had notes, in a random key (key fit ~0.58, context
    # ~0). The pitch-class term alone gave key fit ~0.8 but the GAN swung between empty and crowded
    # bars; the density term steadied the note count; with the prior at full weight E gave up the
    # input (prior -> 0.5 nats, context -> 0) until free bits (0.1 nat per latent) let it keep
    # ~13 nats; taking half the pitch-class target from x^{t-1} raised key fit to ~0.86-0.89 and
    # context sensitivity to ~0.25-0.27 within 600 steps; weights 50 / 10 (pitch class / density)
    # got there by step 300 (0.89-0.90 / 0.28). Weight 20 on density changed little; a soft count
    # of cells over 0.5 (density_sharpness) collapsed to empty bars.
    # Session 2 (55-minute runs, evaluated on the validation tunes): the structure term (weight 30)
    # with instance noise 0.2 on D's inputs took QN from 4 % to 34 % and UPC from 6.2 to 3.9 and
    # kept key fit >= 0.94; soft-count power 4 still counted cells just under 0.5 and left the
    # bars half as full as the music's (power 12 fixed that); instance noise 0.1 did less than 0.2.
    # Session 8: the shipped model is this preset, seed 0, two threads, 56 minutes: snapshot 7,000
    # (--keep-every 500), exported with --temperature 1.35 (both chosen on the validation tunes).
    "live": TrainConfig(config="live", pitch_class_weight=50.0, pitch_class_prev_share=0.5,
                        structure_weight=30.0, structure_power=12.0, instance_noise=0.2,
                        free_bits=0.1, kl_warmup_steps=1000, encoder_adv_grad=True, init_output_density=0.02,
                        val_every=250),
}


# ----------------------------------------------------------------------------- data stream


class BatchStream:
    """Endless train batches from srlive_training.data.iterate_batches, one epoch after another, with a
    resumable position: the data rng's state at the start of the epoch plus the number of batches
    already taken from it (restoring replays the epoch's first batches to reach the same state)."""

    def __init__(self, corpus: BarCorpus, batch_size: int, seed: int, augment: bool, rank: int = 0, world_size: int = 1,
                 with_after: bool = False):
        self.corpus, self.batch_size, self.augment, self.with_after = corpus, batch_size, augment, with_after
        self.rank, self.world_size = rank, world_size
        self.rng = np.random.default_rng(seed)  # same on every rank: same epoch order, own shard
        self.epoch = 0
        self.pos = 0
        self.epoch_state = None
        self._it = None

    def _start_epoch(self):
        from srlive_training.batches import iterate_batches

        self.epoch_state = copy.deepcopy(self.rng.bit_generator.state)
        self.pos = 0
        self._it = iter(iterate_batches(self.corpus, "train", self.batch_size, self.rng, augment=self.augment,
                                        rank=self.rank, world_size=self.world_size, drop_last=True,
                                        with_after=self.with_after))

    def next(self) -> tuple[np.ndarray, ...]:
        if self._it is None:
            self._start_epoch()
        for _ in range(2):
            try:
                batch = next(self._it)
                self.pos += 1
                return batch
            except StopIteration:
                self.epoch += 1
                self._start_epoch()
        raise UserError(f"the train split has fewer than {self.batch_size * self.world_size} pairs of bars "
                        "for one batch on every rank; use a smaller --batch-size or more data")

    def state(self) -> dict:
        return {"epoch": self.epoch, "pos": self.pos, "epoch_state": self.epoch_state}

    def restore(self, st: dict) -> None:
        if st.get("epoch_state") is None:
            return
        self.rng.bit_generator.state = copy.deepcopy(st["epoch_state"])
        self.epoch = st["epoch"]
        self._start_epoch()
        for _ in range(st["pos"]):
            next(self._it)
            self.pos += 1


# ----------------------------------------------------------------------------- the trainer


def _mean_sigmoid(logit: torch.Tensor) -> float:
    return float(torch.sigmoid(logit.detach()).mean())


class Trainer:
    """E, G, D (optionally DDP-wrapped), their optimisers and the noise generator; one `train_step`
    is one D update and `eg_updates_per_d` E+G updates on one batch."""

    def __init__(self, model: VAEGAN, tc: TrainConfig, device: torch.device, rank: int = 0, distributed: bool = False):
        self.model = model.to(device)
        self.tc, self.device, self.rank, self.distributed = tc, device, rank, distributed
        E, G, D = model.encoder, model.generator, model.discriminator
        if distributed:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [device.index] if device.type == "cuda" else None
            self.E, self.G, self.D = (DDP(m, device_ids=ids) for m in (E, G, D))
        else:
            self.E, self.G, self.D = E, G, D
        betas = (tc.beta1, tc.beta2)
        # E gets its own parameter group, built from the module itself (not from names).
        self.opt_eg = torch.optim.Adam([{"params": list(E.parameters()), "lr": tc.lr_e},
                                        {"params": list(G.parameters()), "lr": tc.lr_g}], betas=betas)
        self.opt_d = torch.optim.Adam(D.parameters(), lr=tc.lr_d, betas=betas)
        self.pair_critic = self.P = self.opt_p = None
        if tc.pair_weight > 0:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(tc.seed + 7)  # the same critic on every rank
                self.pair_critic = Discriminator(model.config, in_channels=2).to(device)
            self.P = self.pair_critic
            if distributed:
                self.P = DDP(self.pair_critic, device_ids=ids)
            self.opt_p = torch.optim.Adam(self.pair_critic.parameters(), lr=tc.pair_lr or tc.lr_d, betas=betas)
        self.noise = torch.Generator().manual_seed(tc.seed * 1000 + rank + 1)
        self.step = 0

    def randn(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.model.config.latent, generator=self.noise).to(self.device)

    def kl_weight(self) -> float:
        w = self.tc.kl_weight
        if self.tc.kl_warmup_steps > 0:
            w *= min(1.0, self.step / self.tc.kl_warmup_steps)
        return w

    def _noisy(self, x: torch.Tensor) -> torch.Tensor:
        """x plus instance noise (TrainConfig.instance_noise), from the trainer's noise generator."""
        if self.tc.instance_noise <= 0:
            return x
        noise = torch.randn(x.shape, generator=self.noise).to(self.device)
        return x + self.tc.instance_noise * noise

    def _frozen(self, critic: torch.nn.Module, x: torch.Tensor):
        """critic(x + instance noise) with the critic's weights frozen (detached): gradients reach
        the bars only. D's (logit, features) for D; the same for the pair critic P."""
        params = {k: v.detach() for k, v in critic.named_parameters()}
        return torch.func.functional_call(critic, params, (self._noisy(x),))

    def _d_features(self, x: torch.Tensor):
        return self._frozen(self.model.discriminator, x)

    def _pair_logits(self, prev: torch.Tensor, nxt: torch.Tensor) -> torch.Tensor:
        """P's logits for the pairs (prev, nxt), P frozen."""
        return self._frozen(self.pair_critic, torch.cat([prev, nxt], 1))[0]

    def _pair_update(self, prev_real, nxt_real, prev, answers) -> dict[str, float]:
        """One update of the pair critic P: real consecutive pairs against (real bar heard, answer)."""
        logits, _ = self.P(self._noisy(torch.cat([torch.cat([prev_real, nxt_real], 1),
                                                  torch.cat([prev, answers], 1)])))
        l_real, l_fake = logits.split([prev_real.shape[0], prev.shape[0]])
        loss = torch.nn.functional.softplus(-l_real).mean() + torch.nn.functional.softplus(l_fake).mean()
        self.opt_p.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_p.step()
        return {"loss_pair_d": float(loss.detach()), "pair_real": _mean_sigmoid(l_real),
                "pair_fake": _mean_sigmoid(l_fake)}

    @torch.no_grad()
    def own_prev(self, prev: torch.Tensor, nxt: torch.Tensor, after: torch.Tensor, has_after: torch.Tensor,
                 threshold: float = 0.5) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(prev, nxt, rows) with the first round(own_prev_share * N) rows that have a bar after
        replaced by (the model's answer to prev, as heard: cells under `threshold` silenced; after);
        rows: the indices replaced."""
        rows = torch.nonzero(torch.as_tensor(has_after, device=prev.device).bool()).flatten()
        rows = rows[: int(round(self.tc.own_prev_share * prev.shape[0]))]
        if len(rows) == 0:
            return prev, nxt, rows
        mu, eps = self.model.encoder(prev[rows])
        own = self.model.generator(sample_z(mu, eps, self.randn(len(rows)), 1.0))
        prev, nxt = prev.clone(), nxt.clone()
        prev[rows] = torch.where(own >= threshold, own, torch.zeros_like(own))
        nxt[rows] = after[rows]
        return prev, nxt, rows

    def _mode_seeking(self, mu: torch.Tensor, eps: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """losses.mode_seeking_loss between G's answers to the same encodings (mu, eps) under the
        noise z was drawn with and a fresh one; E's outputs are detached, so only G learns from it
        (E could otherwise buy spread by widening eps, i.e. by listening less)."""
        n = z.shape[0]
        z_b = sample_z(mu.detach(), eps.detach(), self.randn(n), 1.0)
        x_a, x_b = self.G(torch.cat([z.detach(), z_b])).split([n, n])
        return L.mode_seeking_loss(x_a, x_b, power=self.tc.structure_power)

    def train_step(self, prev: torch.Tensor, nxt: torch.Tensor, after: torch.Tensor | None = None,
                   has_after: torch.Tensor | None = None) -> dict[str, float]:
        tc, n = self.tc, prev.shape[0]
        E, G = self.model.encoder, self.model.generator
        prev_real, nxt_real = prev, nxt
        # rows whose x^{t-1} is a real bar: the pair critic's fake pairs come only from these, since
        # with the model's own bar as the first of a pair P would tell it by that bar alone
        heard_real = torch.ones(n, dtype=torch.bool, device=prev.device)
        if tc.own_prev_share > 0 and after is not None:
            prev, nxt, swapped = self.own_prev(prev, nxt, after, has_after)
            heard_real[swapped] = False
        # ---- D: L_D on x^t, x~^t, x~_p (E and G fixed)
        with torch.no_grad():
            mu, eps = E(prev)
            zp = self.randn(n)
            fakes = G(torch.cat([sample_z(mu, eps, zp, 1.0), zp]))
        logits, _ = self.D(self._noisy(torch.cat([nxt, fakes])))
        l_real, l_rec, l_p = logits.split([n, n, n])
        loss_d = L.discriminator_loss(l_real, l_rec, l_p)
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        out = {"loss_d": float(loss_d.detach()), "d_real": _mean_sigmoid(l_real), "d_fake": _mean_sigmoid(l_rec)}
        if self.pair_critic is not None:
            out.update(self._pair_update(prev_real, nxt_real, prev[heard_real], fakes[:n][heard_real]))
        # ---- E and G: L_E = L_l + L_prior, L_G = L_adv + L_l (+ deviations), twice
        klw = self.kl_weight()
        frozen = 0 < tc.encoder_freeze_step <= self.step
        for _ in range(tc.eg_updates_per_d):
            with torch.set_grad_enabled(not frozen):
                mu, eps = self.E(prev)
            zp = self.randn(n)
            z = sample_z(mu, eps, zp, 1.0)
            if tc.encoder_adv_grad:
                x_rec, x_p = self.G(torch.cat([z, zp])).split([n, n])
                logits, feats = self._d_features(torch.cat([nxt, x_rec, x_p]))
                f_real, f_rec, f_p = feats.split([n, n, n])
                _, l_rec_g, l_p = logits.split([n, n, n])
            else:
                x_rec, x_rec_g, x_p = self.G(torch.cat([z, z.detach(), zp])).split([n, n, n])
                logits, feats = self._d_features(torch.cat([nxt, x_rec, x_rec_g, x_p]))
                f_real, f_rec, _, f_p = feats.split([n, n, n, n])
                _, _, l_rec_g, l_p = logits.split([n, n, n, n])
            prior = L.prior_loss(mu, eps, tc.prior, tc.free_bits)
            feat = L.feature_matching_loss(f_real, f_rec, f_p, tc.feature_matching)
            adv = L.generator_adversarial_loss(l_rec_g, l_p)
            recon = L.reconstruction_loss(x_rec, nxt, tc.recon_pos_weight) if tc.recon_weight > 0 else torch.zeros((), device=prev.device)
            zero = torch.zeros((), device=prev.device)
            pcl = (L.pitch_class_loss(x_rec, nxt, prev, tc.pitch_class_prev_share) if tc.pitch_class_weight > 0
                   else zero)
            dens = (L.density_loss(torch.cat([x_rec, x_p]), torch.cat([nxt, nxt]), sharpness=tc.density_sharpness)
                    if tc.density_weight > 0 else zero)
            struct = (L.structure_loss(torch.cat([x_rec, x_p]), torch.cat([nxt, nxt]), power=tc.structure_power)
                      if tc.structure_weight > 0 else zero)
            mw = (tc.interval_weight, tc.kept_cells_weight, tc.kept_pitches_weight)
            motion = (L.motion_loss(x_rec, nxt, prev, power=tc.structure_power, weights=mw)
                      + L.motion_loss(x_p, nxt, power=tc.structure_power, weights=mw) if any(mw) else zero)
            cover = (L.coverage_loss(torch.cat([x_rec, x_p]), torch.cat([nxt, nxt]), power=tc.coverage_power)
                     if tc.coverage_weight > 0 else zero)
            spread = self._mode_seeking(mu, eps, z) if tc.mode_seeking_weight > 0 else zero
            reg = (L.register_loss(x_rec, nxt, power=tc.structure_power) if tc.register_weight > 0 else zero)
            pair = (torch.nn.functional.softplus(-self._pair_logits(prev[heard_real], x_rec[heard_real])).mean()
                    if self.pair_critic is not None else zero)
            # E's gradient comes from feat, prior, recon, pcl; G's from feat, adv, recon, pcl (docstring)
            total = (tc.feature_weight * feat + klw * prior + tc.adv_weight * adv + tc.recon_weight * recon
                     + tc.pitch_class_weight * pcl + tc.density_weight * dens + tc.structure_weight * struct
                     + motion + tc.pair_weight * pair + tc.mode_seeking_weight * spread
                     + tc.coverage_weight * cover + tc.register_weight * reg)
            self.opt_eg.zero_grad(set_to_none=True)
            total.backward()
            self.opt_eg.step()
        prior, feat, adv, recon, pcl, dens, struct, motion, pair, spread, cover, reg = (
            float(t.detach()) for t in (prior, feat, adv, recon, pcl, dens, struct, motion, pair, spread, cover, reg))
        out.update(loss_prior=prior, loss_feat=feat, loss_adv=adv, loss_recon=recon, loss_pc=pcl, loss_density=dens,
                   loss_struct=struct, loss_motion=motion, loss_pair=pair, loss_spread=spread, loss_coverage=cover,
                   loss_register=reg,
                   loss_e=feat + prior, loss_g=adv + feat, kl_weight=klw)
        self.step += 1
        return out

    @torch.no_grad()
    def validation_losses(self, batches: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
        """The same losses on fixed validation batches with fixed noise (no updates)."""
        E, G, D = self.model.encoder, self.model.generator, self.model.discriminator
        gen = torch.Generator().manual_seed(12345)
        sums: dict[str, float] = {}
        for prev, nxt in batches:
            prev, nxt = _to_tensor(prev, self.device), _to_tensor(nxt, self.device)
            n = prev.shape[0]
            mu, eps = E(prev)
            zp = torch.randn(n, self.model.config.latent, generator=gen).to(self.device)
            x_rec, x_p = G(torch.cat([sample_z(mu, eps, zp, 1.0), zp])).split([n, n])
            logits, feats = D(torch.cat([nxt, x_rec, x_p]))
            l_real, l_rec, l_p = logits.split([n, n, n])
            f_real, f_rec, f_p = feats.split([n, n, n])
            vals = {
                "val_loss_d": L.discriminator_loss(l_real, l_rec, l_p),
                "val_loss_adv": L.generator_adversarial_loss(l_rec, l_p),
                "val_loss_feat": L.feature_matching_loss(f_real, f_rec, f_p),
                "val_loss_prior": L.prior_loss(mu, eps, self.tc.prior, 0.0),
                "val_loss_recon": L.reconstruction_loss(x_rec, nxt, self.tc.recon_pos_weight),
                "val_loss_pc": L.pitch_class_loss(x_rec, nxt),
                "val_loss_density": L.density_loss(x_rec, nxt, sharpness=self.tc.density_sharpness),
                "val_loss_struct": L.structure_loss(x_rec, nxt, power=self.tc.structure_power),
                "val_loss_motion": L.motion_terms(x_rec, nxt, prev, power=self.tc.structure_power).sum(),
                "val_loss_register": L.register_loss(x_rec, nxt, power=self.tc.structure_power),
            }
            for k, v in vals.items():
                sums[k] = sums.get(k, 0.0) + float(v) / len(batches)
        return sums

    # --- state for resuming
    def state_dict(self) -> dict:
        st = {"opt_eg": self.opt_eg.state_dict(), "opt_d": self.opt_d.state_dict()}
        if self.pair_critic is not None:
            st.update(pair_critic=self.pair_critic.state_dict(), opt_p=self.opt_p.state_dict())
        return st

    def load_moments(self, st: dict) -> None:
        """Adam's moments from another run's state_dict, this run's learning rates kept; a pair
        critic the other run did not have starts afresh."""
        for opt, key in ((self.opt_eg, "opt_eg"), (self.opt_d, "opt_d"), (self.opt_p, "opt_p")):
            if opt is None or key not in st:
                continue
            lrs = [g["lr"] for g in opt.param_groups]
            opt.load_state_dict(st[key])
            for g, lr in zip(opt.param_groups, lrs):
                g["lr"] = lr
        if self.pair_critic is not None and "pair_critic" in st:
            self.pair_critic.load_state_dict(st["pair_critic"])

    def load_state_dict(self, st: dict) -> None:
        self.opt_eg.load_state_dict(st["opt_eg"])
        self.opt_d.load_state_dict(st["opt_d"])
        if self.pair_critic is not None:
            self.pair_critic.load_state_dict(st["pair_critic"])
            self.opt_p.load_state_dict(st["opt_p"])


@torch.no_grad()
def init_output_density(model: VAEGAN, p0: float) -> None:
    """Set the bias of G's last layer so that G's output (tanh(a) + 1) / 2 = sigmoid(2a) starts
    near p0 in every cell: a = logit(p0) / 2."""
    last = [m for m in model.generator.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))][-1]
    last.bias.fill_(0.5 * math.log(p0 / (1.0 - p0)))


def _to_tensor(a, device) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(a, dtype=np.float32))
    if t.dim() == 3:
        t = t.unsqueeze(1)
    return t.to(device)


# ----------------------------------------------------------------------------- listening check


def _answer_positions(corpus: BarCorpus, split: str = "val") -> np.ndarray:
    """Bar indices j with 4 earlier bars of the same tune: the answer to bar j-1, context j-4..j-1."""
    t = corpus.tune
    j = np.arange(4, len(t))
    ok = (t[j - 4] == t[j]) & (corpus.split[t[j]] == {"train": 0, "val": 1, "test": 2}[split])
    return j[ok]


@torch.no_grad()
def listening_check(model: VAEGAN, corpus: BarCorpus, n: int = 200, seed: int = 0, split: str = "val",
                    threshold: float = 0.5, device="cpu") -> dict[str, float]:
    """Quick jam-partner figures on `n` answers of the `split`: each held-out tune transposed to a
    random key, the model answers bar j from the real bar j-1.

    key_fit: mean over non-empty answers of srlive_training.metrics.key_fit(4 real bars before, answer);
    context: key_fit minus the key fit of answers to a bar from ANOTHER tune (also in a random key)
    judged against the same 4 real bars; empty / real_empty: share of empty answers / real next bars;
    density / real_density: sounding cells per bar."""
    from srlive.roll import transpose_roll
    from srlive_training.metrics import REAL_THRESHOLD, key_fit

    pos = _answer_positions(corpus, split)
    if len(pos) == 0:
        return {}
    rng = np.random.default_rng(seed)
    pick = rng.choice(pos, size=min(n, len(pos)), replace=False)
    keys = rng.integers(-6, 6, size=len(pick))
    other_keys = rng.integers(-6, 6, size=len(pick))
    # a bar from another tune of the split for each answer (None when the split has one tune)
    others = []
    for j in pick:
        cand = pos[corpus.tune[pos] != corpus.tune[j]]
        others.append(int(rng.choice(cand)) - 1 if len(cand) else -1)
    ctx = np.stack([transpose_roll(corpus.rolls(np.arange(j - 4, j)), k) for j, k in zip(pick, keys)])
    real_next = np.stack([transpose_roll(corpus.rolls(j), k) for j, k in zip(pick, keys)])
    have_other = all(o >= 0 for o in others)
    other_prev = (np.stack([transpose_roll(corpus.rolls(o), k) for o, k in zip(others, other_keys)])
                  if have_other else None)
    gen = torch.Generator().manual_seed(seed + 1)
    model = model.eval()

    def answer(prev: np.ndarray) -> np.ndarray:
        x = torch.as_tensor(prev[:, None]).to(device)
        noise = torch.randn(len(prev), model.config.latent, generator=gen).to(device)
        return model.step(x, noise, 1.0)[:, 0].cpu().numpy()

    ans = answer(ctx[:, -1])
    kf = np.array([key_fit(c, a, threshold) for c, a in zip(ctx, ans)])
    out = {
        "key_fit": float(np.nanmean(kf)) if np.isfinite(kf).any() else float("nan"),
        "empty": float(np.mean(ans.reshape(len(ans), -1).max(1) < threshold)),
        "real_empty": float(np.mean(real_next.reshape(len(ans), -1).max(1) < REAL_THRESHOLD)),
        "density": float(np.mean((ans >= threshold).sum((1, 2)))),
        "real_density": float(np.mean((real_next >= REAL_THRESHOLD).sum((1, 2)))),
        "note_len": _mean_note_length(ans, threshold),
        "real_note_len": _mean_note_length(real_next, REAL_THRESHOLD),
        "pitches": float(np.mean((ans >= threshold).any(2).sum(1))),
        "real_pitches": float(np.mean((real_next >= REAL_THRESHOLD).any(2).sum(1))),
    }
    if have_other:
        ans_o = answer(other_prev)
        kf_o = np.array([key_fit(c, a, threshold) for c, a in zip(ctx, ans_o)])
        out["key_fit_other"] = float(np.nanmean(kf_o)) if np.isfinite(kf_o).any() else float("nan")
        out["context"] = out["key_fit"] - out["key_fit_other"]
    else:
        out["key_fit_other"] = out["context"] = float("nan")
    return out


def _mean_note_length(bars: np.ndarray, threshold: float) -> float:
    """Steps per note over all bars, notes read as the live tool reads them (srlive.roll)."""
    lengths = [n.end - n.start for bar in bars for n in roll_to_notes(bar, threshold)]
    return float(np.mean(lengths)) if lengths else float("nan")


def listening_score(v: dict) -> float:
    """One number to keep best.pt by: key fit + context sensitivity, minus the miss in empty-bar
    rate and half the log-ratio misses in note density, and (when measured) in note length and
    distinct pitches per bar (higher is better; NaN -> -inf)."""

    def miss(a: str, b: str) -> float:
        return abs(math.log(max(v[a], 1e-3) / max(v[b], 1e-3)))

    try:
        s = v["key_fit"] + v["context"] - abs(v["empty"] - v["real_empty"]) - 0.5 * miss("density", "real_density")
        for a, b in (("note_len", "real_note_len"), ("pitches", "real_pitches")):
            if a in v and b in v:
                s -= 0.5 * miss(a, b)
    except (KeyError, TypeError, ValueError):
        return -math.inf
    return s if math.isfinite(s) else -math.inf


# ----------------------------------------------------------------------------- the run


LOG_COLUMNS = ["step", "time", "epoch", "bars_per_sec", "loss_d", "loss_e", "loss_g", "loss_prior", "loss_feat",
               "loss_adv", "loss_recon", "loss_pc", "loss_density", "loss_struct", "loss_motion", "d_real", "d_fake", "kl_weight",
               "val_loss_d", "val_loss_adv", "val_loss_feat", "val_loss_prior", "val_loss_recon", "val_loss_pc", "val_loss_density", "val_loss_struct", "val_loss_motion",
               "val_key_fit", "val_key_fit_other", "val_context", "val_empty", "val_real_empty", "val_density",
               "val_real_density", "val_note_len", "val_real_note_len", "val_pitches", "val_real_pitches", "val_score",
               # appended (not inserted) so a run resumed from an older log keeps its columns aligned
               "loss_pair", "loss_pair_d", "pair_real", "pair_fake", "loss_spread", "loss_coverage",
               "loss_register", "val_loss_register"]


@dataclass
class Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def dist_from_env() -> Dist:
    ws = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    return Dist(rank, ws, int(os.environ.get("LOCAL_RANK", str(rank))))


@dataclass
class RunResult:
    model: VAEGAN
    step: int
    seconds: float
    bars_per_sec: float
    last: dict
    val: dict
    out_dir: Path | None


def _fixed_val_batches(corpus: BarCorpus, tc: TrainConfig) -> list:
    from srlive_training.batches import iterate_batches

    rng = np.random.default_rng(4242)
    batches = []
    if len(corpus.pairs("val")) < tc.batch_size:
        return batches
    for b in iterate_batches(corpus, "val", tc.batch_size, rng, augment=False, drop_last=True):
        batches.append(b)
        if len(batches) >= tc.val_batches:
            break
    return batches


def run_training(
    corpus: BarCorpus,
    tc: TrainConfig,
    out_dir: str | os.PathLike | None = None,
    *,
    steps: int | None = None,
    minutes: float | None = None,
    device: str | torch.device = "cpu",
    resume: bool = False,
    dist: Dist | None = None,
    progress: bool = True,
    now: Callable[[], float] = time.monotonic,
    model_config: ModelConfig | None = None,
    keep_every: int = 0,
    init_from: str | os.PathLike | None = None,
) -> RunResult:
    """Train until `steps` total steps (counting resumed ones) or `minutes` of this call, whichever
    comes first. Writes (rank 0, when out_dir is given) train_log.csv, loss_curves.png, last.pt,
    best.pt, and with keep_every = N > 0 also step-NNNNNN.pt at every validation whose step is a
    multiple of N (snapshots to choose from with `srlive-eval --split val`). Returns the trained
    model and the last figures.

    `init_from` (a fresh run only) fine-tunes: E, G and D's weights, Adam's moments and the step
    count come from that checkpoint, every setting from `tc` (learning rates included); the data
    order and noise start afresh from `tc.seed`, the log and the best score too. Training seconds
    go on from the checkpoint's, so steps and bars per second count both runs."""
    dist = dist or Dist()
    device = torch.device(device)
    out = Path(out_dir) if out_dir is not None else None
    cfg = model_config or get_config(tc.config)
    ckpt = None
    if resume:
        if out is None or not (out / "last.pt").exists():
            raise UserError(f"nothing to resume: {out}/last.pt does not exist; drop --resume to start afresh")
        ckpt = torch.load(out / "last.pt", map_location="cpu", weights_only=False)
        tc = TrainConfig.from_dict(ckpt["train_config"])
        cfg = ModelConfig.from_dict(ckpt["config"])
    start = None
    if init_from is not None and ckpt is None:
        start = load_start(init_from, cfg)
    torch.manual_seed(tc.seed)  # same initial weights on every rank
    model = VAEGAN(cfg)
    if ckpt is not None or start is not None:
        model.load_state_dict((ckpt or start)["model"])
    else:
        if tc.init_output_density is not None:
            init_output_density(model, tc.init_output_density)
        if tc.init_log_scale is not None:
            with torch.no_grad():
                model.encoder.fc.bias[cfg.latent:].fill_(tc.init_log_scale)
    trainer = Trainer(model, tc, device, dist.rank, dist.enabled)
    stream = BatchStream(corpus, tc.batch_size, tc.seed, tc.augment, dist.rank, dist.world_size,
                         with_after=tc.own_prev_share > 0)
    best = -math.inf
    elapsed_before = 0.0
    if ckpt is not None:
        trainer.load_state_dict(ckpt["optimizers"])
        trainer.step = int(ckpt["step"])
        rngs = ckpt["rng"]
        trainer.noise.set_state(rngs["noise"][dist.rank])
        stream.restore(rngs["data"])
        best = float(ckpt.get("best_score", -math.inf))
        elapsed_before = float(ckpt.get("train_seconds", 0.0))
    if start is not None:
        trainer.load_moments(start["optimizers"])
        trainer.step = int(start["step"])
        elapsed_before = float(start.get("train_seconds", 0.0))  # the model's training time, both runs
    origin = (ckpt or {}).get("init_from") or (start and {
        "path": str(init_from), "step": int(start["step"]), "deviations": start.get("deviations", [])})

    writer = out is not None and dist.main
    csv_path = out / "train_log.csv" if out is not None else None
    if writer:
        out.mkdir(parents=True, exist_ok=True)
        if not resume or not csv_path.exists():
            with open(csv_path, "w", newline="") as f:
                csv.writer(f).writerow(LOG_COLUMNS)
    val_batches = _fixed_val_batches(corpus, tc) if dist.main else []
    data_summary = dict(corpus.summary or {})
    data_summary.setdefault("bars", int(len(corpus.bars)))
    data_summary.setdefault("tunes", int(corpus.n_tunes))
    data_summary["train_pairs"] = int(len(corpus.pairs("train")))

    def checkpoint_extra(score_val: dict) -> dict:
        noise_states = [trainer.noise.get_state()]
        if dist.enabled:
            import torch.distributed as tdist

            gathered = [None] * dist.world_size
            tdist.all_gather_object(gathered, trainer.noise.get_state())
            noise_states = gathered
        return {
            "step": trainer.step,
            "epoch": stream.epoch,
            "optimizers": trainer.state_dict(),
            "rng": {"data": stream.state(), "noise": noise_states},
            "train_config": tc.to_dict(),
            "deviations": tc.deviations(),
            "data_summary": data_summary,
            "train_seconds": elapsed_before + train_seconds,
            "world_size": dist.world_size,
            "val": score_val,
            **({"init_from": origin} if origin else {}),
        }

    def save(name: str, extra: dict) -> None:
        from srlive_training.model import save_checkpoint

        save_checkpoint(out / name, model, **extra)

    train_seconds = 0.0
    t_start = now()
    window = {"n": 0, "t": 0.0}
    sums: dict[str, float] = {}
    last: dict[str, float] = {}
    val: dict[str, float] = {}
    bar = None
    if progress and dist.main:
        from tqdm import tqdm

        bar = tqdm(total=steps, initial=min(trainer.step, steps or trainer.step), desc="train", unit="step",
                   mininterval=2.0, dynamic_ncols=True, file=sys.stderr)

    def should_stop() -> bool:
        stop = (steps is not None and trainer.step >= steps) or (
            minutes is not None and now() - t_start >= minutes * 60.0)
        if dist.enabled:  # every rank stops at the same step: rank 0's clock decides
            import torch.distributed as tdist

            flag = torch.tensor([1.0 if stop else 0.0])
            tdist.broadcast(flag, 0)
            stop = bool(flag.item())
        return stop

    def validate() -> dict:
        v = {}
        if not dist.main:
            return v
        model.eval()
        v.update(trainer.validation_losses(val_batches) if val_batches else {})
        lc = listening_check(model, corpus, n=tc.val_answers, seed=tc.seed, device=device)
        v.update({f"val_{k}": x for k, x in lc.items()})
        v["val_score"] = listening_score(lc)
        model.train()
        return v

    def write_row(row: dict) -> None:
        if writer:
            with open(csv_path, "a", newline="") as f:
                csv.writer(f).writerow(["" if row.get(c) is None else (f"{row[c]:.6g}" if isinstance(row[c], float) else row[c])
                                        for c in LOG_COLUMNS])

    while not should_stop():
        t0 = now()
        batch = stream.next()
        after = (_to_tensor(batch[2], device), torch.as_tensor(batch[3], device=device)) if len(batch) > 2 else ()
        last = trainer.train_step(_to_tensor(batch[0], device), _to_tensor(batch[1], device), *after)
        dt = now() - t0
        train_seconds += dt
        window["n"] += 1
        window["t"] += dt
        for k, v in last.items():
            sums[k] = sums.get(k, 0.0) + v
        if bar is not None:
            bar.update(1)
            if trainer.step % 10 == 0:
                post = dict(D=f"{last['loss_d']:.3f}", adv=f"{last['loss_adv']:.3f}", Ll=f"{last['loss_feat']:.3g}",
                            prior=f"{last['loss_prior']:.3g}")
                for key, name in (("loss_recon", "rec"), ("loss_pc", "pc"), ("loss_density", "dens")):
                    if last.get(key):
                        post[name] = f"{last[key]:.3g}"
                bar.set_postfix(post, refresh=False)
        is_val = tc.val_every > 0 and trainer.step % tc.val_every == 0
        if trainer.step % tc.log_every == 0 or is_val:
            bps = window["n"] * tc.batch_size * dist.world_size / max(window["t"], 1e-9)
            row = {k: v / window["n"] for k, v in sums.items()}
            row.update(step=trainer.step, time=round(elapsed_before + train_seconds, 2), epoch=stream.epoch,
                       bars_per_sec=bps)
            if is_val:
                val = validate()
                row.update(val)
                if bar is not None:
                    bar.write(_val_line(trainer.step, bps, val))
                elif dist.main:
                    print(_val_line(trainer.step, bps, val), file=sys.stderr, flush=True)
            write_row(row)
            sums, window = {}, {"n": 0, "t": 0.0}
            if is_val and out is not None:
                extra = checkpoint_extra(val)  # collective under DDP: every rank takes part
                if writer:
                    score = val.get("val_score", -math.inf)
                    extra["best_score"] = max(best, score)
                    save("last.pt", extra)
                    if score > best or not (out / "best.pt").exists():
                        best = max(best, score)
                        save("best.pt", extra)
                    if keep_every > 0 and trainer.step % keep_every == 0:
                        save(f"step-{trainer.step:06d}.pt", extra)
                    _plot(csv_path, out, cfg.name)
    if bar is not None:
        bar.close()
    # final validation and checkpoint (unless the last step just did both)
    if trainer.step > 0 and not (tc.val_every > 0 and trainer.step % tc.val_every == 0):
        val = validate()
        bps = window["n"] * tc.batch_size * dist.world_size / max(window["t"], 1e-9) if window["n"] else 0.0
        row = {k: v / window["n"] for k, v in sums.items()} if window["n"] else {}
        row.update(step=trainer.step, time=round(elapsed_before + train_seconds, 2), epoch=stream.epoch,
                   bars_per_sec=bps, **val)
        write_row(row)
        if out is not None:
            extra = checkpoint_extra(val)
            if writer:
                score = val.get("val_score", -math.inf)
                extra["best_score"] = max(best, score)
                save("last.pt", extra)
                if score > best or not (out / "best.pt").exists():
                    best = max(best, score)
                    save("best.pt", extra)
                _plot(csv_path, out, cfg.name)
    bars_per_sec = trainer.step * tc.batch_size * dist.world_size / max(elapsed_before + train_seconds, 1e-9)
    return RunResult(model, trainer.step, elapsed_before + train_seconds, bars_per_sec, last, val, out)


def _val_line(step: int, bps: float, v: dict) -> str:
    def f(k):
        x = v.get(k)
        return "nan" if x is None or not math.isfinite(x) else f"{x:.3f}"

    return (f"step {step}: {bps:.0f} bars/s | val L_D {f('val_loss_d')} L_l {f('val_loss_feat')} "
            f"prior {f('val_loss_prior')} recon {f('val_loss_recon')} pc {f('val_loss_pc')} | key fit {f('val_key_fit')} "
            f"context {f('val_context')} empty {f('val_empty')} (real {f('val_real_empty')}) "
            f"density {f('val_density')} (real {f('val_real_density')}) note len {f('val_note_len')} "
            f"(real {f('val_real_note_len')}) pitches {f('val_pitches')} (real {f('val_real_pitches')}) "
            f"score {f('val_score')}")


def _plot(csv_path: Path, out: Path, name: str) -> None:
    from srlive_training.plots import loss_curves_png

    try:
        loss_curves_png(csv_path, out / "loss_curves.png", title=f"srlive training ({name})")
    except Exception as e:  # a picture must never stop a training run
        print(f"{PROG}: could not draw the loss curves: {e}", file=sys.stderr)


# ----------------------------------------------------------------------------- CLI


def _load_data(path: str | None) -> BarCorpus:
    if path is None:
        from srlive_training.prepare import load_corpus

        return load_corpus()
    p = Path(path)
    if p.is_file():
        try:
            return BarCorpus.load(p)
        except Exception as e:
            raise UserError(f"cannot read the corpus {p}: {type(e).__name__}: {e}; prepare it with srlive-prepare") from None
    if p.is_dir():
        npz = sorted(p.glob("*.npz"))
        if len(npz) == 1:
            return _load_data(str(npz[0]))
        from srlive_training.prepare import load_corpus

        return load_corpus(cache_dir=p)
    raise UserError(f"no corpus at {p}: give a prepared .npz or a cache folder (srlive-prepare makes one)")


def load_start(path: str | os.PathLike, cfg: ModelConfig) -> dict:
    """The checkpoint a fine-tuning run starts from; a UserError when it is missing, unreadable,
    not a training checkpoint (an exported model has no D) or of another model config."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"--init-from {path}: no such checkpoint; give a .pt that srlive-train wrote")
    try:
        start = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 - any unpickling failure is a bad file to the user
        raise UserError(f"--init-from {path}: not a readable checkpoint ({type(e).__name__}); "
                        "give a .pt that srlive-train wrote") from None
    if not isinstance(start, dict) or not {"model", "optimizers", "step", "config"} <= start.keys():
        raise UserError(f"--init-from {path}: not a training checkpoint (it needs the discriminator and "
                        "optimiser states); give last.pt, best.pt or a step-NNNNNN.pt")
    if ModelConfig.from_dict(start["config"]) != cfg:
        raise UserError(f"--init-from {path}: its model config is {start['config'].get('name')!r}, not "
                        f"{cfg.name!r}; use --config {start['config'].get('name')}")
    return start


def _check_out_dir(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write_test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise UserError(f"cannot write to the output folder {out}: {e.strerror or e}; choose another --out") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Train srlive's semi-recurrent CNN VAE-GAN.")
    p.add_argument("--config", default="live", help=f"model and training preset: {', '.join(sorted(CONFIGS))}")
    p.add_argument("--data", help="prepared corpus: a BarCorpus .npz or a cache folder (default: prepare/load the default cache)")
    p.add_argument("--out", required=True, help="output folder: train_log.csv, loss_curves.png, last.pt, best.pt")
    p.add_argument("--steps", type=int, help="train until this many steps in total (one D + two E/G updates each)")
    p.add_argument("--minutes", type=float, help="stop after this many minutes of this run")
    p.add_argument("--batch-size", type=int, help="pairs per batch and rank (default: the preset's, 64)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--resume", action="store_true", help="continue exactly from OUT/last.pt")
    p.add_argument("--init-from", metavar="CKPT",
                   help="fine-tune: start from this checkpoint's weights, optimiser moments and step, "
                        "with this run's settings (--config, --set)")
    p.add_argument("--val-every", type=int, help="validate (and checkpoint) every N steps (default 500)")
    p.add_argument("--keep-every", type=int, default=0, metavar="N",
                   help="also keep a snapshot OUT/step-NNNNNN.pt at each validation every N steps (0: only last.pt, best.pt)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override one training setting of the preset, e.g. --set structure_weight=20 (repeatable)")
    return p


def apply_overrides(tc: TrainConfig, items: list[str]) -> TrainConfig:
    """--set KEY=VALUE on a TrainConfig: the value is parsed as the field's type."""
    names = {f.name for f in dataclasses.fields(TrainConfig)} - {"config"}  # config: use --config
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in names:
            raise UserError(f"--set {item!r}: give KEY=VALUE with KEY one of {', '.join(sorted(names))}")
        current = getattr(tc, key)
        try:
            if isinstance(current, bool):
                if raw.lower() not in ("true", "false", "1", "0"):
                    raise ValueError(raw)
                value = raw.lower() in ("true", "1")
            elif isinstance(current, int):
                value = int(raw)
            elif isinstance(current, float) or current is None:
                value = None if raw.lower() == "none" else float(raw)
            else:
                value = type(current)(raw)
        except ValueError:
            kind = ("number (or none)" if current is None else
                    {bool: "true or false", int: "whole number", float: "number"}.get(type(current), type(current).__name__))
            raise UserError(f"--set {key}={raw}: not a valid {kind}") from None
        problem = _setting_problem(key, value)
        if problem:
            raise UserError(f"--set {key}={raw}: {problem}")
        tc = dataclasses.replace(tc, **{key: value})
    return tc


#: The TrainConfig settings that name one of a few ways (losses.prior_loss, losses.feature_matching_loss).
SETTING_CHOICES = {"prior": L.PRIOR_KINDS, "feature_matching": L.FEATURE_MATCHING_KINDS}


def _setting_problem(key: str, value) -> str | None:
    """Why a training setting's value makes no sense (None if it does): weights and noise are
    >= 0, shares lie in [0, 1], learning rates and powers are > 0, Adam's betas lie in [0, 1),
    and a named choice is one of SETTING_CHOICES."""
    if key in SETTING_CHOICES and value not in SETTING_CHOICES[key]:
        return "use " + " or ".join(SETTING_CHOICES[key])
    if value is None or isinstance(value, (bool, str)):
        return None
    if not math.isfinite(value):
        return "must be a finite number"
    if key.endswith("_share") and not 0 <= value <= 1:
        return "a share must lie between 0 and 1"
    if (key.startswith("lr_") or key in ("pair_lr", "structure_power", "coverage_power", "eg_updates_per_d", "batch_size")) and value <= 0:
        return "must be greater than 0"
    if key == "init_output_density" and not 0 < value < 1:
        return "a density lies strictly between 0 and 1"
    if key.startswith("beta") and not 0 <= value < 1:
        return "Adam's betas lie in [0, 1)"
    if value < 0 and key not in ("init_log_scale",):
        return "must not be negative"
    return None


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    dist = dist_from_env()
    try:
        if args.config not in TRAIN_PRESETS:
            raise UserError(f"unknown config {args.config!r}; choose one of {', '.join(sorted(TRAIN_PRESETS))}")
        if args.steps is None and args.minutes is None:
            raise UserError("say how long to train: --steps N and/or --minutes M")
        if (args.steps is not None and args.steps < 0) or (args.minutes is not None and args.minutes <= 0):
            raise UserError("--steps must be >= 0 and --minutes > 0")
        if args.batch_size is not None and args.batch_size < 1:
            raise UserError("--batch-size must be at least 1")
        if args.keep_every < 0:
            raise UserError("--keep-every must be >= 0 (0 keeps only last.pt and best.pt)")
        if args.device == "cuda" and not torch.cuda.is_available():
            raise UserError("--device cuda asked for, but torch sees no CUDA device; use --device cpu")
        use_cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
        device = torch.device(f"cuda:{dist.local_rank}" if use_cuda else "cpu")
        if args.threads > 0:
            torch.set_num_threads(args.threads)
        out = Path(args.out)
        if dist.main:
            _check_out_dir(out)
        tc = dataclasses.replace(TRAIN_PRESETS[args.config], seed=args.seed)
        if args.batch_size is not None:
            tc = dataclasses.replace(tc, batch_size=args.batch_size)
        if args.val_every is not None:
            tc = dataclasses.replace(tc, val_every=args.val_every)
        tc = apply_overrides(tc, args.set)
        corpus = _load_data(args.data)
        if len(corpus.pairs("train")) < tc.batch_size * dist.world_size:
            raise UserError(f"the corpus has {len(corpus.pairs('train'))} training pairs, fewer than one batch of "
                            f"{tc.batch_size} per rank; use a smaller --batch-size or more data")
        if dist.enabled:
            import torch.distributed as tdist

            if use_cuda:
                torch.cuda.set_device(dist.local_rank)
            tdist.init_process_group("nccl" if use_cuda else "gloo")
        if dist.main:
            if args.init_from and not args.resume:
                print(f"{PROG}: fine-tuning from {args.init_from}", file=sys.stderr)
            print(f"{PROG}: config {args.config}, {len(corpus.pairs('train'))} training pairs, device {device}, "
                  f"world size {dist.world_size}, deviations: {'; '.join(tc.deviations()) or 'none'}", file=sys.stderr)
        try:
            res = run_training(corpus, tc, out, steps=args.steps, minutes=args.minutes, device=device,
                               resume=args.resume, dist=dist, progress=not args.no_progress,
                               keep_every=args.keep_every, init_from=args.init_from)
        finally:
            if dist.enabled:
                import torch.distributed as tdist

                tdist.destroy_process_group()
        if dist.main:
            last = " ".join(f"{k} {v:.4g}" for k, v in res.last.items())
            print(f"{PROG}: {res.step} steps in {res.seconds:.0f} s of training, {res.bars_per_sec:.0f} bars/s; "
                  f"last losses: {last}", file=sys.stderr)
            if res.val:
                print(f"{PROG}: " + _val_line(res.step, res.bars_per_sec, res.val), file=sys.stderr)
            print(f"{PROG}: wrote {out / 'last.pt'}, {out / 'best.pt'}, {out / 'train_log.csv'}, "
                  f"{out / 'loss_curves.png'}", file=sys.stderr)
        return 0
    except UserError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
