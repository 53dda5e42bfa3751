"""Losses of the semi-recurrent VAE-GAN: the paper's equations 5-10 (Akbari & Liang, ICASSP 2018),
plus the switchable deviations (TrainConfig in training/settings.py switches them; the E/G table
that combines them is training/loss_terms.py).

Notation: x = x^t (the real next bar), x_rec = x~^t = G(z) with z = mu + z_p * exp(log_scale) and
(mu, log_scale) = E(x^{t-1}), x_p = x~_p = G(z_p). D returns (logit, features of one intermediate block).

    L_prior = 1/2 (mu'mu + sum(exp(log_scale) - log_scale - 1))                      (eq. 5/6)
    L_l     = 1/2 ||D_l(x) - D_l(x_rec)||^2 + 1/2 ||D_l(x) - D_l(x_p)||^2            (eq. 7)
    L_E     = L_l + L_prior                                                          (eq. 8)
    L_D     = -(log D(x) + log(1 - D(x_rec)) + log(1 - D(x_p)))                      (eq. 9)
    L_G     = -(log D(x_rec) + log D(x_p)) + L_l                                     (eq. 10)

Normalisation (our choice, the paper does not say): every term is a per-example quantity —
summed over its latent dimensions, feature elements or roll cells, as the equations are written
— and then MEANED over the batch. So L_prior and L_l are sums over 128 latents / F features of
one bar; the log-terms are per-bar log-probabilities. Weights between terms are TrainConfig's.

The D/G log-terms are computed from D's logits with softplus (= BCE with logits), which is
exact and stable: -log sigmoid(l) = softplus(-l), -log(1 - sigmoid(l)) = softplus(l).
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F


#: The ways prior_loss and feature_matching_loss can be computed (TrainConfig.prior / .feature_matching).
PRIOR_KINDS = ("paper", "exact")
FEATURE_MATCHING_KINDS = ("pairs", "batch")


def prior_loss(mu: torch.Tensor, log_scale: torch.Tensor, kind: str = "paper", free_bits: float = 0.0) -> torch.Tensor:
    """L_prior per example, meaned over the batch.

    kind="paper": 1/2 (mu^2 + exp(log_scale) - log_scale - 1), literally as the paper writes it
      (its eps). That is the exact KL(N(mu, sigma^2) || N(0, 1)) when the encoder's second half
      were log sigma^2 (a log-variance).
    kind="exact": our sampling is z = mu + z_p * exp(log_scale), so log_scale is the log of the
      SCALE sigma and the exact KL is 1/2 (mu^2 + exp(2 log_scale) - 2 log_scale - 1). Same minimum
      (mu = 0, log_scale = 0).
    free_bits > 0: each latent dimension's term (meaned over the batch) is floored at free_bits
      nats, so the encoder may spend that much information per dimension for free (Kingma et al.
      2016); 0 gives the plain loss.
    """
    if kind == "paper":
        per_dim = 0.5 * (mu.pow(2) + torch.exp(log_scale) - log_scale - 1.0)
    elif kind == "exact":
        per_dim = 0.5 * (mu.pow(2) + torch.exp(2.0 * log_scale) - 2.0 * log_scale - 1.0)
    else:
        raise ValueError(f"unknown prior kind {kind!r}; use {' or '.join(map(repr, PRIOR_KINDS))}")
    if free_bits > 0:
        return torch.clamp(per_dim.mean(0), min=free_bits).sum()
    return per_dim.sum(1).mean()


def feature_matching_loss(f_real: torch.Tensor, f_rec: torch.Tensor, f_prior: torch.Tensor,
                          kind: str = "pairs") -> torch.Tensor:
    """L_l. kind="pairs" (the paper): each generated bar's features against its own real x^t's.
    kind="batch" (deviation; Salimans et al. 2016): the batch's mean features of the generated bars
    against the mean of the real ones, so no answer is pulled toward the one bar that really
    followed (whose likeliest cells are the bar heard's own) but the answers together toward what
    next bars look like.

    The real features are the target: gradients flow into the generated side only (D is not
    trained on L_l, and x^t is data)."""
    target = f_real.detach()
    if kind == "batch":
        target, f_rec, f_prior = (t.flatten(1).mean(0, keepdim=True) for t in (target, f_rec, f_prior))
    elif kind not in FEATURE_MATCHING_KINDS:
        raise ValueError(f"unknown feature matching {kind!r}; use {' or '.join(map(repr, FEATURE_MATCHING_KINDS))}")
    rec = 0.5 * (target - f_rec).pow(2).flatten(1).sum(1)
    pri = 0.5 * (target - f_prior).pow(2).flatten(1).sum(1)
    return (rec + pri).mean()


def discriminator_loss(logit_real: torch.Tensor, logit_rec: torch.Tensor, logit_prior: torch.Tensor) -> torch.Tensor:
    """L_D = -(log D(x) + log(1 - D(x_rec)) + log(1 - D(x_p))), meaned over the batch."""
    return (F.softplus(-logit_real) + F.softplus(logit_rec) + F.softplus(logit_prior)).mean()


def generator_adversarial_loss(logit_rec: torch.Tensor, logit_prior: torch.Tensor) -> torch.Tensor:
    """The GAN part of L_G: -(log D(x_rec) + log D(x_p)), meaned over the batch."""
    return (F.softplus(-logit_rec) + F.softplus(-logit_prior)).mean()


def reconstruction_loss(x_rec: torch.Tensor, x: torch.Tensor, pos_weight: float = 1.0) -> torch.Tensor:
    """Deviation (not in the paper): BCE between x~^t and the real x^t, summed over the 88x16 cells,
    meaned over the batch. x holds velocity/127 in [0, 1], so the target is the cell's value.

    pos_weight w weighs the sounding part: -(w x log p + (1 - x) log(1 - p)). Its minimiser is
    p* = w q / (w q + 1 - q) for a cell that sounds with probability q, so a cell is read as a
    note (p* >= 0.5) once q >= 1 / (w + 1): w calibrates how many notes survive the 0.5 threshold
    (w = 1: only cells more likely on than off, which leaves most answers empty)."""
    x_rec = x_rec.clamp(1e-6, 1.0 - 1e-6)
    bce = -(pos_weight * x * torch.log(x_rec) + (1.0 - x) * torch.log1p(-x_rec))
    return bce.flatten(1).sum(1).mean()


def pitch_class_profile(x: torch.Tensor, power: float = 2.0) -> torch.Tensor:
    """[N, 12] share of a bar's sounding mass per pitch class (row r is MIDI note 21 + r, so pitch
    class (r + 9) % 12). Mass is the cell value to `power`: a real bar's notes count and the faint
    background of a generated bar (values near 0) does not. Bars without mass get a flat profile."""
    m = x.reshape(x.shape[0], 88, -1).pow(power).sum(2)  # [N, 88]
    pc = torch.zeros(x.shape[0], 12, dtype=x.dtype, device=x.device)
    idx = (torch.arange(88, device=x.device) + 21) % 12
    pc = pc.index_add(1, idx, m)
    return (pc + 1e-4) / (pc.sum(1, keepdim=True) + 12e-4)


def pitch_class_loss(x_rec: torch.Tensor, x: torch.Tensor, x_prev: torch.Tensor | None = None,
                     prev_share: float = 0.0) -> torch.Tensor:
    """Deviation (not in the paper): cross-entropy of the real next bar's pitch-class profile
    against the generated bar's, -sum_c p_real(c) log q_gen(c), meaned over the batch. It asks the
    answer to spend its notes in the pitch classes of the bar that really followed (its key), and
    leaves where and how many notes to the adversarial terms, so it does not blur the bar.

    With x_prev and prev_share = a > 0 the target is (1 - a) p(x^t) + a p(x^{t-1}): the pitch
    classes of the two real bars together, a fuller picture of the key than one bar gives."""
    target = pitch_class_profile(x.detach(), power=1.0)
    if x_prev is not None and prev_share > 0:
        target = (1.0 - prev_share) * target + prev_share * pitch_class_profile(x_prev.detach(), power=1.0)
    return -(target * torch.log(pitch_class_profile(x_rec))).sum(1).mean()


def density_loss(x_rec: torch.Tensor, x: torch.Tensor, power: float = 4.0, sharpness: float = 0.0) -> torch.Tensor:
    """Deviation (not in the paper): squared log-ratio of the generated bar's sounding mass to the
    real next bar's, (log(1 + sum x~^p) - log(1 + sum x^p))^2, meaned over the batch. It holds the
    number of notes near the music's (and away from the empty bar a GAN can collapse to) without
    saying which cells sound. The power p = 4 makes the mass count cells near note values (a real
    note is ~0.55-0.8) far more than a faint background or a blur below the 0.5 threshold.

    sharpness k > 0 compares soft COUNTS of sounding cells instead: sum sigmoid(k (x~ - 0.5)) for
    the generated bar against the number of non-zero cells of the real one — the note density
    the 0.5 threshold will read."""
    if sharpness > 0:
        m_gen = torch.sigmoid(sharpness * (x_rec - 0.5)).flatten(1).sum(1)
        m_real = (x.detach() > 0).to(x_rec.dtype).flatten(1).sum(1)
    else:
        m_gen = x_rec.pow(power).flatten(1).sum(1)
        m_real = x.detach().pow(power).flatten(1).sum(1)
    return (torch.log1p(m_gen) - torch.log1p(m_real)).pow(2).mean()



def soft_count(x: torch.Tensor, threshold: float = 0.5, power: float = 4.0, slope: float = 0.5) -> torch.Tensor:
    """Per cell, (x / threshold) ** power under the threshold and 1 + slope * (x - threshold) over
    it: about 1 for every cell the threshold reads as sounding (a real note's 0.63 gives 1.07, a
    generated 0.9 gives 1.2), a fast-vanishing but non-zero value below it (0.02 -> 2.6e-6), so
    counts of notes compare fairly between real and generated bars, cells under the threshold get
    a gradient towards it and cells over it a (gentler) one away from it."""
    below = torch.clamp(x / threshold, max=1.0).pow(power)
    return below + slope * torch.relu(x - threshold)


def soft_onsets(m: torch.Tensor) -> torch.Tensor:
    """Per cell of soft counts m [N, 88, S], how much a note starts there: max(0, m[p, k] - m[p, k-1])
    with m[p, -1] = 0, so a note sounding from step 0 starts at step 0."""
    return torch.relu(torch.diff(m, dim=2, prepend=torch.zeros_like(m[:, :, :1])))


def bar_structure(x: torch.Tensor, threshold: float = 0.5, power: float = 4.0, eps: float = 1e-3) -> tuple[torch.Tensor, ...]:
    """Four soft, differentiable figures of each bar's shape, from m = soft_count(x) per cell:

    - cells: sum of m, about the number of sounding cells;
    - onsets: sum over pitches and steps of max(0, m[p, k] - m[p, k-1]) (m[p, -1] = 0), about the
      number of notes (cells / onsets is how long notes last);
    - pitches: sum over pitches of max over steps of m[p, :], about the number of distinct pitches;
    - spread: the m-weighted standard deviation of pitch, in octaves.

    Returns four [N] tensors."""
    m = soft_count(x.reshape(x.shape[0], 88, -1), threshold, power)
    cells = m.sum((1, 2))
    onset = soft_onsets(m).sum((1, 2))
    pitches = m.amax(2).sum(1)
    _, spread = _pitch_moments(m.sum(2), eps)
    return cells, onset, pitches, spread


def _pitch_moments(w: torch.Tensor, eps: float = 1e-3) -> tuple[torch.Tensor, torch.Tensor]:
    """The w-weighted mean and standard deviation of pitch, in octaves above the lowest key, of
    each row of w [N, 88] (a soft count per pitch). Two [N] tensors."""
    total = w.sum(1, keepdim=True) + eps
    rows = torch.arange(88, device=w.device, dtype=w.dtype) / 12.0
    mean = (w * rows).sum(1, keepdim=True) / total
    spread = torch.sqrt(((w * (rows - mean) ** 2).sum(1, keepdim=True) / total).squeeze(1) + eps)
    return mean.squeeze(1), spread


def register_loss(x_gen: torch.Tensor, x: torch.Tensor, threshold: float = 0.5, power: float = 4.0) -> torch.Tensor:
    """Deviation (not in the paper): the squared difference, in octaves, between the mean pitch of
    each generated bar and that of the real bar it stands for (soft_count-weighted), meaned over
    the pairs in which both sound (about one cell or more: an empty answer has no register, and
    its emptiness is the density and structure terms' business). Nothing else ties an answer's
    octave to the music: the pitch-class term is octave-blind and the structure term asks only for
    the spread inside a bar, so answers can wander up and down the keyboard from bar to bar (with E
    held, five-bar tone spans of 24 semitones where the tunes have 13; training/results/EXPERIMENTS.md)."""
    n = x_gen.shape[0]
    w = soft_count(x_gen.reshape(n, 88, -1), threshold, power).sum(2)
    gen, _ = _pitch_moments(w)
    on = (x.detach() > 0).to(x_gen.dtype).reshape(n, 88, -1).sum(2)
    real, _ = _pitch_moments(on)
    sounds = ((on.sum(1) > 0) & (w.detach().sum(1) >= 1.0)).to(x_gen.dtype)
    return ((gen - real).pow(2) * sounds).sum() / sounds.sum().clamp(min=1.0)


def structure_loss(x_gen: torch.Tensor, x: torch.Tensor, threshold: float = 0.5, power: float = 4.0) -> torch.Tensor:
    """Deviation (not in the paper): asks the generated bar for the shape of the real next bar — the
    number of sounding cells, of notes and of distinct pitches as squared log-ratios (log(1 + n)),
    the pitch spread as a squared difference in octaves (bar_structure), meaned over the batch.
    Together they ask for as many notes as the music has, as long and on as few pitches, where the
    adversarial terms alone left many one-step notes on many pitches. A higher power counts cells
    just under the threshold (which will not sound) for less: 0.45 counts 0.66 at power 4, 0.28 at 12."""
    gen = bar_structure(x_gen, threshold, power)
    real = bar_structure(x.detach(), threshold, power)
    loss = sum(_count_ratio(g, r) for g, r in zip(gen[:3], real[:3]))
    return (loss + (gen[3] - real[3].detach()).pow(2)).mean()


def _count_ratio(gen: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """[N] squared log-ratio (log(1 + n)) of generated counts to real ones (real: no gradient)."""
    return (torch.log1p(gen) - torch.log1p(real.detach())).pow(2)


def pitches_loss(x_gen: torch.Tensor, x: torch.Tensor, threshold: float = 0.5, power: float = 4.0) -> torch.Tensor:
    """Deviation (not in the paper): the squared log-ratio (log(1 + n)) of the generated bar's
    distinct pitches to the real next bar's (bar_structure's third figure), meaned over the batch:
    the structure term's pitch count on its own weight. A tune plays a bar's six notes on about four
    pitches; answers that fill their silent steps (coverage) did it with a fifth and sixth pitch
    (training/results/EXPERIMENTS.md)."""
    return _count_ratio(bar_structure(x_gen, threshold, power)[2], bar_structure(x.detach(), threshold, power)[2]).mean()


def _read_onsets(x: torch.Tensor, threshold: float = 0.5, power: float = 4.0, real: bool = False) -> torch.Tensor:
    """[N, 88, S] onsets per cell: of a real bar, where its cells (> 0) start; of a generated one,
    where cells >= threshold start (the notes as played), with the gradient of the soft count's
    onsets (soft_onsets of soft_count) passed straight through."""
    x = x.reshape(x.shape[0], 88, -1)
    if real:
        return soft_onsets((x.detach() > 0).to(x.dtype))
    soft = soft_onsets(soft_count(x, threshold, power))
    return soft_onsets((x >= threshold).to(x.dtype)) + soft - soft.detach()


def read_notes(x: torch.Tensor, threshold: float = 0.5, power: float = 4.0) -> torch.Tensor:
    """[N] notes in each bar as the threshold reads them (onsets of cells >= threshold: the count the
    evaluation and the live tool make), with the gradient of the soft count (bar_structure's
    onsets) passed straight through: the soft count also counts the flicker of cells around the
    threshold, so it can match a real bar's notes while the notes as played are fewer."""
    return _read_onsets(x, threshold, power).sum((1, 2))


def notes_loss(x_gen: torch.Tensor, x: torch.Tensor, threshold: float = 0.5, power: float = 4.0,
               read: bool = False) -> torch.Tensor:
    """Deviation (not in the paper): the squared log-ratio (log(1 + n)) of the generated bar's
    notes to the real next bar's (bar_structure's second figure, soft onsets), meaned over the
    batch: the structure term's note count on its own weight. ``read``: the generated bar's notes
    as the threshold reads them (read_notes), the real bar's cells > 0."""
    if read:
        real = _read_onsets(x, real=True).sum((1, 2))
        return _count_ratio(read_notes(x_gen, threshold, power), real).mean()
    return _count_ratio(bar_structure(x_gen, threshold, power)[1], bar_structure(x.detach(), threshold, power)[1]).mean()


def notes_targets(prev: torch.Tensor, nxt: torch.Tensor, heard_real: torch.Tensor | None) -> torch.Tensor:
    """The bars whose notes the answers are asked for (notes_loss's x) when answers follow the
    density of what they hear: the real next bar where the bar heard is real, the bar heard itself
    where it is the model's own answer (heard_real False). Such a row's real bar is two bars on from
    the real bar the model answered, so its note count says how that tune goes on, not how the bar
    heard does. A tune's next bar has about the notes of the bar before (correlation 0.8 in the
    validation tunes); a chain of the model's answers keeps much less of its first bar's pace. Tried
    once, this did not make the chains keep it (training/results/EXPERIMENTS.md)."""
    if heard_real is None or bool(heard_real.all()):
        return nxt
    own = ~heard_real
    out = nxt.clone()
    out[own] = prev[own].detach()
    return out


#: Two notes make a figure when the second starts 1..FIGURE_GAPS steps after the first (a tune's
#: notes start 2.6 steps apart on average; a wider gap is mostly a note in between).
FIGURE_GAPS = 4


def _after(onsets: torch.Tensor) -> torch.Tensor:
    """[N, 88, S]: at (q, k), the onsets of pitch q 1..FIGURE_GAPS steps after step k."""
    out = torch.zeros_like(onsets)
    for g in range(1, min(FIGURE_GAPS, onsets.shape[2] - 1) + 1):
        out[:, :, :-g] = out[:, :, :-g] + onsets[:, :, g:]
    return out


def figure_counts(onsets: torch.Tensor) -> torch.Tensor:
    """[N, 88, 88] two-note figures of each bar: entry (p, q) counts the onsets of pitch p followed
    by an onset of q 1..FIGURE_GAPS steps later (onsets [N, 88, S], as _read_onsets gives). A pitch
    struck again (p, p) is no figure here: tunes do it at 3 % of their intervals, the answers at
    7-12 %, and counted it would be the cheapest figure to repeat."""
    out = torch.bmm(onsets, _after(onsets).transpose(1, 2))
    return out * (1.0 - torch.eye(88, dtype=out.dtype, device=out.device))


def _figures_matched(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """[N] sum over p != q of figure_counts(a)[p, q] * figure_counts(b)[p, q], without the 88 x 88
    tables: sum_pq (a wa^T)(b wb^T) = sum_kl (a^T b)[k, l] (wa^T wb)[k, l], less the diagonal."""
    wa, wb = _after(a), _after(b)
    full = (torch.bmm(a.transpose(1, 2), b) * torch.bmm(wa.transpose(1, 2), wb)).sum((1, 2))
    return full - ((a * wa).sum(2) * (b * wb).sum(2)).sum(1)


def _figures_total(a: torch.Tensor) -> torch.Tensor:
    """[N] figure_counts(a) summed over p != q."""
    wa = _after(a)
    return (a.sum(1) * wa.sum(1)).sum(1) - (a * wa).sum((1, 2))


def figure_repeats(o_gen: torch.Tensor, o_prev: torch.Tensor) -> torch.Tensor:
    """[N] two-note figures of a bar (onsets o_gen) that repeat a figure (the same two pitches, the
    rhythm free) of the bar before it (o_prev) at another place, or one of its own: what the
    recurrence measure counts, less what a copy in place would give. Pairs of occurrences; figures
    at the same steps of both bars are taken out, as is each figure's match with itself. (Computed
    from figure_counts' sums without forming its 88 x 88 tables, a third of the time.)"""
    across = _figures_matched(o_gen, o_prev) - _figures_total(o_gen * o_prev)
    within = 0.5 * (_figures_matched(o_gen, o_gen) - _figures_total(o_gen * o_gen))
    return across + within


def figures_loss(x_gen: torch.Tensor, x: torch.Tensor, x_prev: torch.Tensor, heard_real: torch.Tensor | None = None,
                 threshold: float = 0.5, power: float = 4.0) -> torch.Tensor:
    """Deviation (not in the paper): the squared log-ratio (log(1 + n)) of the batch's mean
    figure_repeats of the answers (as played) to that of the real next bars, each after the bar it
    follows; the real side only on the rows whose bar before is real (heard_real). The music
    repeats its two-note figures at other steps of the bar and of the next (recurrence 9.8 in five
    bars); the answers repeated them only where they copied the bar heard, and the kept-cells term
    that stops the copying stopped the figures with it (training/results/EXPERIMENTS.md)."""
    rows = heard_real if heard_real is not None and bool(heard_real.any()) else slice(None)
    o_prev = _read_onsets(x_prev, real=True)
    gen = figure_repeats(_read_onsets(x_gen, threshold, power), o_prev).mean()
    real = figure_repeats(_read_onsets(x[rows], real=True), o_prev[rows]).mean()
    return (torch.log1p(gen) - torch.log1p(real)).pow(2)


#: Melodic intervals the motion term tells apart: -MAX_INTERVAL..+MAX_INTERVAL semitones, plus one
#: bin for every wider leap down and one for every wider leap up.
MAX_INTERVAL = 12


@functools.lru_cache(maxsize=8)
def _interval_bins(device=None, dtype=torch.float32) -> torch.Tensor:
    """[88 * 88, 2 * MAX_INTERVAL + 3] 0/1: pitch pair (p, q) -> its interval bin (p - q, clipped).
    The pairs p == q are in no bin: a pitch that sounded the step before cannot start there (a roll
    merges the two into one note); all they would count is a held generated note's wavering value."""
    p = torch.arange(88, device=device)
    d = (p[:, None] - p[None, :]).clamp(-MAX_INTERVAL - 1, MAX_INTERVAL + 1) + MAX_INTERVAL + 1
    bins = F.one_hot(d.reshape(-1), 2 * MAX_INTERVAL + 3).to(dtype)
    bins[torch.arange(88, device=device) * 89] = 0  # the diagonal (p, p) of the flattened pairs
    return bins


def interval_counts(x: torch.Tensor, threshold: float = 0.5, power: float = 4.0) -> torch.Tensor:
    """[N, 2 * MAX_INTERVAL + 3] soft counts of the melodic intervals inside each bar: for every
    note that starts at step k >= 1 (onset strength as in bar_structure) and every pitch sounding
    at step k - 1, the interval from that pitch to the new one. A stepwise tune puts its mass in
    the +-1, +-2 bins; an answer that jumps about, in the wide ones."""
    m = soft_count(x.reshape(x.shape[0], 88, -1), threshold, power)
    onset = torch.relu(torch.diff(m, dim=2))  # onsets at steps 1..15
    pairs = torch.bmm(onset, m[:, :, :-1].transpose(1, 2))  # [N, 88 (new), 88 (sounding before)]
    return pairs.flatten(1) @ _interval_bins(x.device, x.dtype)


def motion_terms(x_gen: torch.Tensor, x: torch.Tensor, x_prev: torch.Tensor | None = None,
                 threshold: float = 0.5, power: float = 4.0, eps: float = 1e-3) -> torch.Tensor:
    """Deviation (not in the paper): how the answers move, as batch statistics against the real
    next bars (the next bar is one of many a tune could take, so no per-bar target). Returns [3]:

    - intervals: KL(real || generated) between the batch's distributions of melodic intervals
      inside the bar (interval_counts);
    - kept cells: the share of the generated bars' sounding cells that already sounded in the bar
      each answers, against the same share of the real next bars, as a squared log-ratio;
    - kept pitches: the same for the share of their distinct pitches already played in it.
    The last two are 0 without x_prev. (A model that answers with half its cells copied from the
    bar before, where the music keeps a sixth, and jumps between them makes five bars that repeat
    their tones without repeating figures: uniqueness and recurrence both low.)"""
    h_gen = interval_counts(x_gen, threshold, power).sum(0) + eps
    h_real = interval_counts(x.detach(), threshold, power).sum(0) + eps
    p_real, p_gen = h_real / h_real.sum(), h_gen / h_gen.sum()
    intervals = (p_real * (torch.log(p_real) - torch.log(p_gen))).sum()
    if x_prev is None:
        return torch.stack([intervals, torch.zeros_like(intervals), torch.zeros_like(intervals)])
    n = x_gen.shape[0]
    before = (x_prev.detach() > 0).to(x_gen.dtype).reshape(n, 88, -1)
    m_gen = soft_count(x_gen.reshape(n, 88, -1), threshold, power)
    real_on = (x.detach() > 0).to(x_gen.dtype).reshape(n, 88, -1)

    def kept(on: torch.Tensor) -> torch.Tensor:
        cells = (on * before).sum() / (on.sum() + eps)
        pitches = on.amax(2)
        return torch.stack([cells, (pitches * before.amax(2)).sum() / (pitches.sum() + eps)])

    miss = (torch.log(kept(m_gen) + eps) - torch.log(kept(real_on) + eps)).pow(2)
    return torch.cat([intervals[None], miss])


def motion_loss(x_gen: torch.Tensor, x: torch.Tensor, x_prev: torch.Tensor | None = None,
                threshold: float = 0.5, power: float = 4.0, weights=(1.0, 1.0, 1.0)) -> torch.Tensor:
    """motion_terms weighted (intervals, kept cells, kept pitches) and summed."""
    terms = motion_terms(x_gen, x, x_prev, threshold, power)
    return (terms * torch.as_tensor(weights, dtype=terms.dtype, device=terms.device)).sum()


def answer_spread(x_a: torch.Tensor, x_b: torch.Tensor, threshold: float = 0.5, power: float = 4.0) -> torch.Tensor:
    """How much two answers to the same bars differ: the mean over bars and cells of
    |soft_count(x_a) - soft_count(x_b)|, so only cells the threshold reads (or nearly reads) as
    sounding count, not the faint background."""
    a = soft_count(x_a.reshape(x_a.shape[0], 88, -1), threshold, power)
    b = soft_count(x_b.reshape(x_b.shape[0], 88, -1), threshold, power)
    return (a - b).abs().mean()


def mode_seeking_loss(x_a: torch.Tensor, x_b: torch.Tensor, threshold: float = 0.5, power: float = 4.0,
                      eps: float = 1e-4) -> torch.Tensor:
    """Deviation (not in the paper; Mao et al., "Mode seeking GANs", CVPR 2019): -log of
    answer_spread between G's answers to the same encodings mu, log_scale under two noises z_p.
    A conditional GAN tends to ignore its noise and give the likeliest answer, which for a next
    bar is much of the bar heard; this asks G for answers that differ with the noise (the
    adversarial terms keep each one a plausible bar). The log makes it scale-free: each doubling
    of the spread is worth the same, so it cannot run away once the answers differ."""
    return -torch.log(answer_spread(x_a, x_b, threshold, power) + eps)


def coverage(x: torch.Tensor, threshold: float = 0.5, power: float = 4.0) -> torch.Tensor:
    """[N] soft share of each bar's 16 steps at which something sounds: the mean over steps of
    min(1, max over pitches of soft_count). A tune's melody sounds at nearly every step (96 % of
    them in the validation tunes), one note after another; an answer with rests between its notes
    sounds at fewer."""
    m = soft_count(x.reshape(x.shape[0], 88, -1), threshold, power)
    return m.amax(1).clamp(max=1.0).mean(1)


def coverage_loss(x_gen: torch.Tensor, x: torch.Tensor, threshold: float = 0.5, power: float = 4.0) -> torch.Tensor:
    """Deviation (not in the paper): squared difference between the generated bars' coverage and
    the real next bars' (cells of a real bar sound when > 0), meaned over the batch. A model that
    sounds at 63 % of the steps of its five-bar samples (the music: 96 %) and stacks notes where it
    does plays fewer tones per sample, which lowers recurrence and, for the same pitches,
    uniqueness."""
    real = (x.detach() > 0).to(x_gen.dtype).reshape(x.shape[0], 88, -1).amax(1).mean(1)
    return (coverage(x_gen, threshold, power) - real).pow(2).mean()


def onset_profile(x: torch.Tensor, threshold: float = 0.5, power: float = 4.0, real: bool = False) -> torch.Tensor:
    """[S] share of a batch's note onsets at each step of the bar: its metric profile, as the
    evaluation's onsets-per-step measure counts it. Per cell m = min(1, soft_count(x)) (real bars:
    1 where a cell sounds), an onset is max(0, m[p, k] - m[p, k-1]) with m[p, -1] = 0 (a note
    starting at step 0 is an onset there), summed over the batch and pitches, then normalised."""
    x = x.reshape(x.shape[0], 88, -1)
    m = (x > 0).to(x.dtype) if real else soft_count(x, threshold, power).clamp(max=1.0)
    onsets = soft_onsets(m).sum((0, 1))
    return onsets / (onsets.sum() + 1e-6)


def onset_profile_loss(x_gen: torch.Tensor, x: torch.Tensor, threshold: float = 0.5, power: float = 4.0) -> torch.Tensor:
    """Deviation (not in the paper): the total variation distance between the onset profiles of
    the generated bars and of the real next bars of the same batch (onset_profile). D's strided
    convolutions see where in the bar notes start only coarsely, and the generator spread its
    onsets almost evenly over the sixteen steps where tunes put most of them on the beats; this
    asks the batch as a whole to start its notes where the music does, without telling any one
    bar where."""
    return 0.5 * (onset_profile(x_gen, threshold, power) - onset_profile(x.detach(), real=True)).abs().sum()


def polyphony(x: torch.Tensor, threshold: float = 0.5, power: float = 4.0) -> torch.Tensor:
    """[N] soft count of the notes each bar stacks over one: per step, the soft counts
    (min(1, soft_count)) of every pitch but the strongest, summed over pitches and steps. A tune's
    melody holds one note at a time (1 % of its sounding steps hold two); an answer that hesitates
    between pitches holds several cells just under the threshold at one step, which this counts
    (0.43 counts 0.55 at power 4) and a note over it alone does not."""
    m = soft_count(x.reshape(x.shape[0], 88, -1), threshold, power).clamp(max=1.0)
    return (m.sum(1) - m.amax(1)).sum(1)


def polyphony_loss(x_gen: torch.Tensor, x: torch.Tensor, threshold: float = 0.5, power: float = 4.0) -> torch.Tensor:
    """Deviation (not in the paper): squared log-ratio (log(1 + n)) of the generated bar's
    polyphony to the real next bar's (cells of a real bar sound when > 0), meaned over the batch.
    Beside the coverage term it asks a step's sound to be one pitch: coverage alone filled the
    answers' silent steps with the pitches the model hesitated between, several per step and off
    the bar's pitch classes (training/results/EXPERIMENTS.md)."""
    on = (x.detach() > 0).to(x_gen.dtype).reshape(x.shape[0], 88, -1)
    real = (on.sum(1) - on.amax(1)).sum(1)
    return _count_ratio(polyphony(x_gen, threshold, power), real).mean()
