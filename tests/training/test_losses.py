"""The paper's losses (training/losses.py) on hand-made inputs with known answers."""

import math

import pytest
import torch

from srlive_training import losses


def test_prior_is_zero_at_the_prior_and_positive_elsewhere():
    mu, log_scale = torch.zeros(4, 128), torch.zeros(4, 128)
    for kind in ("paper", "exact"):
        assert float(losses.prior_loss(mu, log_scale, kind)) == pytest.approx(0.0, abs=1e-7)
        assert float(losses.prior_loss(mu + 0.3, log_scale, kind)) > 0
        assert float(losses.prior_loss(mu, log_scale - 0.3, kind)) > 0


def test_prior_paper_formula_by_hand():
    # one example, two latents: mu = (1, 0), log_scale = (0, ln 2)
    mu = torch.tensor([[1.0, 0.0]])
    log_scale = torch.tensor([[0.0, math.log(2.0)]])
    expect = 0.5 * (1.0 + (1 - 0 - 1) + (2.0 - math.log(2.0) - 1))
    assert float(losses.prior_loss(mu, log_scale, "paper")) == pytest.approx(expect, rel=1e-6)


def test_prior_exact_is_the_kl_of_a_log_scale_gaussian():
    torch.manual_seed(0)
    mu, log_scale = torch.randn(5, 7), 0.5 * torch.randn(5, 7)
    q = torch.distributions.Normal(mu, torch.exp(log_scale))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    kl = torch.distributions.kl_divergence(q, p).sum(1).mean()
    assert float(losses.prior_loss(mu, log_scale, "exact")) == pytest.approx(float(kl), rel=1e-5)


def test_prior_batch_mean_and_free_bits():
    mu = torch.tensor([[2.0, 0.0], [0.0, 0.0]])  # per-example sums: 2 and 0 -> mean 1
    log_scale = torch.zeros(2, 2)
    assert float(losses.prior_loss(mu, log_scale)) == pytest.approx(1.0)
    # per-dimension batch means are (1, 0); free bits 0.25 floors the second at 0.25
    assert float(losses.prior_loss(mu, log_scale, free_bits=0.25)) == pytest.approx(1.25)
    with pytest.raises(ValueError):
        losses.prior_loss(mu, log_scale, "nope")


def test_feature_matching_zero_when_equal_and_half_squared_norm_otherwise():
    f = torch.randn(3, 10)
    assert float(losses.feature_matching_loss(f, f.clone(), f.clone())) == 0.0
    real = torch.zeros(2, 4)
    rec = torch.ones(2, 4)  # 1/2 * 4 per example
    pri = torch.full((2, 4), 2.0)  # 1/2 * 16 per example
    assert float(losses.feature_matching_loss(real, rec, pri)) == pytest.approx(2.0 + 8.0)


def test_feature_matching_does_not_move_the_real_features():
    real = torch.randn(2, 3, requires_grad=True)
    rec = torch.randn(2, 3, requires_grad=True)
    losses.feature_matching_loss(real, rec, rec.detach()).backward()
    assert real.grad is None and rec.grad is not None


def test_discriminator_and_generator_losses_match_the_log_formulas():
    a, b, c = torch.tensor([[0.3], [-1.2]]), torch.tensor([[0.7], [0.1]]), torch.tensor([[-2.0], [1.5]])
    s = torch.sigmoid
    ld = -(torch.log(s(a)) + torch.log(1 - s(b)) + torch.log(1 - s(c))).mean()
    lg = -(torch.log(s(b)) + torch.log(s(c))).mean()
    assert float(losses.discriminator_loss(a, b, c)) == pytest.approx(float(ld), rel=1e-6)
    assert float(losses.generator_adversarial_loss(b, c)) == pytest.approx(float(lg), rel=1e-6)


def test_losses_stay_finite_for_saturated_logits():
    big = torch.tensor([[200.0], [-200.0]])
    assert math.isfinite(float(losses.discriminator_loss(big, -big, big)))
    assert math.isfinite(float(losses.generator_adversarial_loss(-big, big)))
    # a perfect D costs nothing
    assert float(losses.discriminator_loss(big.abs(), -big.abs(), -big.abs())) == pytest.approx(0.0, abs=1e-6)


def test_reconstruction_is_finite_and_smallest_at_the_target():
    x = torch.zeros(2, 1, 88, 16)
    x[:, 0, 40, :4] = 1.0
    assert float(losses.reconstruction_loss(x.clone(), x)) < 0.01
    wrong = 1.0 - x
    val = float(losses.reconstruction_loss(wrong, x))
    assert math.isfinite(val) and val > 100  # 1408 cells, each maximally wrong
    assert float(losses.reconstruction_loss(torch.full_like(x, 0.5), x)) == pytest.approx(88 * 16 * math.log(2), rel=1e-4)


def test_pitch_class_profile_counts_mass_per_pitch_class():
    x = torch.zeros(1, 1, 88, 16)
    x[0, 0, 60 - 21, :4] = 1.0  # C4, 4 steps
    x[0, 0, 76 - 21, :12] = 1.0  # E5, 12 steps
    p = losses.pitch_class_profile(x)
    assert float(p.sum()) == pytest.approx(1.0)
    assert float(p[0, 0]) == pytest.approx(0.25, abs=1e-3) and float(p[0, 4]) == pytest.approx(0.75, abs=1e-3)
    # a faint background (generated bars) hardly counts with power 2
    faint = x + 0.01
    assert float(losses.pitch_class_profile(faint)[0, 4]) == pytest.approx(0.75, abs=0.02)


def test_pitch_class_loss_prefers_the_real_bars_key_and_pulls_mass_into_it():
    real = torch.zeros(1, 1, 88, 16)
    real[0, 0, 60 - 21, :8] = 0.8  # C
    real[0, 0, 67 - 21, 8:] = 0.8  # G
    in_key = real.clone()
    in_key[0, 0, 72 - 21, :] = 0.8  # another C: same pitch classes
    out_key = real.clone()
    out_key[0, 0, 61 - 21, :] = 0.8  # C#: foreign
    assert float(losses.pitch_class_loss(in_key, real)) < float(losses.pitch_class_loss(out_key, real))
    gen = torch.full_like(real, 0.3, requires_grad=True)
    losses.pitch_class_loss(gen, real).backward()
    g = gen.grad[0, 0]
    assert float(g[61 - 21].sum()) > 0 > float(g[60 - 21].sum())  # descent lowers C#, raises C


def test_density_loss_is_zero_at_the_real_mass_and_punishes_empty_and_crowded_bars():
    real = torch.zeros(2, 1, 88, 16)
    real[:, 0, 40:43, :] = 0.8
    assert float(losses.density_loss(real.clone(), real)) == pytest.approx(0.0, abs=1e-7)
    empty = torch.zeros_like(real)
    crowded = torch.full_like(real, 0.8)
    assert float(losses.density_loss(empty, real)) > 1.0 and float(losses.density_loss(crowded, real)) > 1.0
    assert float(losses.density_loss(real * 0.95, real)) < float(losses.density_loss(real * 0.5, real))


def test_density_loss_with_sharpness_counts_cells_over_the_threshold():
    real = torch.zeros(1, 1, 88, 16)
    real[0, 0, 40, :8] = 0.7  # 8 sounding cells
    bright = real / 0.7  # same cells at 1.0: soft count ~8
    faint = torch.full_like(real, 0.3)  # 1408 cells just under the threshold
    assert float(losses.density_loss(bright, real, sharpness=20)) < 1e-3
    assert float(losses.density_loss(torch.zeros_like(real), real, sharpness=20)) > 4.0
    assert float(losses.density_loss(faint, real, sharpness=20)) > 1.0


def _bar(notes, value=0.7):
    """[1, 1, 88, 16] roll with (row, start, end) notes."""
    x = torch.zeros(1, 1, 88, 16)
    for row, a, b in notes:
        x[0, 0, row, a:b] = value
    return x


def test_soft_count_is_one_over_the_threshold_and_vanishes_below():
    x = torch.tensor([0.0, 0.02, 0.25, 0.5, 0.63, 0.95])
    assert losses.soft_count(x).tolist() == pytest.approx([0.0, 0.04 ** 4, 0.5 ** 4, 1.0, 1.065, 1.225])


def test_bar_structure_counts_cells_notes_distinct_pitches_and_spread():
    # two notes of 4 steps on row 40, one of 8 steps on row 52: 16 cells, 3 onsets, 2 pitches
    cells, onset, pitches, spread = losses.bar_structure(_bar([(40, 0, 4), (40, 8, 12), (52, 4, 12)], value=0.5))
    assert (cells.item(), onset.item(), pitches.item()) == pytest.approx((16, 3, 2))
    # 8 cells on row 40, 8 on row 52 (one octave apart): std = half an octave
    assert spread.item() == pytest.approx(0.5, abs=1e-3)
    # sixteen one-step notes over the same two rows: one onset per cell
    scattered = _bar([(40 + (k % 2) * 12, k, k + 1) for k in range(16)], value=0.5)
    assert losses.bar_structure(scattered)[1].item() == pytest.approx(16)
    # louder generated cells count about the same as the real ones
    assert losses.bar_structure(_bar([(40, 0, 4)], value=0.95))[0].item() == pytest.approx(4 * 1.225)


def test_structure_loss_is_zero_for_the_same_shape_and_prefers_held_notes_to_scattered_ones():
    real = _bar([(40, 0, 4), (42, 4, 8), (44, 8, 16)])
    same_shape_other_key = _bar([(45, 0, 4), (47, 4, 8), (49, 8, 16)])
    scattered = _bar([(30 + 3 * k, k, k + 1) for k in range(16)])
    assert losses.structure_loss(same_shape_other_key, real).item() == pytest.approx(0.0, abs=1e-6)
    assert losses.structure_loss(scattered, real).item() > 0.1
    assert losses.structure_loss(torch.zeros_like(real), real).item() > losses.structure_loss(same_shape_other_key, real).item()
    # its gradient reaches the cells of a scattered bar
    x = scattered.clone().requires_grad_(True)
    losses.structure_loss(x, real).backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def _bin(interval: int) -> int:
    return max(-losses.MAX_INTERVAL - 1, min(losses.MAX_INTERVAL + 1, interval)) + losses.MAX_INTERVAL + 1


def test_interval_counts_give_each_new_note_its_interval_from_what_sounded_before():
    steps_up = _bar([(40, 0, 4), (42, 4, 8), (43, 8, 12), (45, 12, 16)], value=0.5)  # +2, +1, +2
    h = losses.interval_counts(steps_up, power=12)[0]
    assert h[_bin(2)].item() == pytest.approx(2.0) and h[_bin(1)].item() == pytest.approx(1.0)
    assert h.sum().item() == pytest.approx(3.0)
    # an octave down and a leap wider than the bins: the octave bin and the "leap down" bin
    leaps = _bar([(50, 0, 4), (38, 4, 8), (10, 8, 12)], value=0.5)
    h = losses.interval_counts(leaps, power=12)[0]
    assert h[_bin(-12)].item() == pytest.approx(1.0) and h[_bin(-28)].item() == pytest.approx(1.0)
    # a note over a held chord is measured from every chord tone; the first step has no "before"
    over_chord = _bar([(40, 0, 16), (44, 0, 16), (47, 8, 16)], value=0.5)
    h = losses.interval_counts(over_chord, power=12)[0]
    assert h[_bin(7)].item() == pytest.approx(1.0) and h[_bin(3)].item() == pytest.approx(1.0)
    assert h.sum().item() == pytest.approx(2.0)


def test_motion_loss_prefers_the_musics_steps_and_not_copying_the_bar_before():
    prev = _bar([(40, 0, 4), (42, 4, 8), (44, 8, 12), (45, 12, 16)])
    real = _bar([(47, 0, 4), (49, 4, 8), (51, 8, 12), (52, 12, 16)])  # the same steps, on new cells
    steps_elsewhere = _bar([(52, 0, 4), (54, 4, 8), (56, 8, 12), (57, 12, 16)])
    jumps = _bar([(47, 0, 4), (30, 4, 8), (60, 8, 12), (35, 12, 16)])
    assert losses.motion_loss(steps_elsewhere, real).item() == pytest.approx(0.0, abs=1e-6)
    assert losses.motion_loss(jumps, real).item() > 1.0
    # copying the bar answered keeps its intervals, but repeats cells the music does not
    assert losses.motion_loss(prev, real).item() < 0.1
    assert losses.motion_loss(prev, real, prev).item() > 1.0
    assert losses.motion_loss(real, real, prev).item() == pytest.approx(0.0, abs=1e-6)
    x = jumps.clone().requires_grad_(True)
    losses.motion_loss(x, real, prev).backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_motion_loss_also_counts_pitches_kept_from_the_bar_before_and_can_be_weighed():
    prev = _bar([(40, 0, 4), (42, 4, 8), (44, 8, 12), (45, 12, 16)])
    real = _bar([(47, 0, 4), (49, 4, 8), (51, 8, 12), (52, 12, 16)])
    # the same pitches as the bar before, in another rhythm: few cells kept, every pitch kept
    same_pitches = _bar([(45, 0, 2), (44, 2, 6), (42, 6, 10), (40, 10, 16)])
    kept = losses.motion_loss(same_pitches, real, prev, weights=(1, 1, 1)).item()
    assert kept > losses.motion_loss(same_pitches, real, None).item() + 1.0
    assert losses.motion_loss(same_pitches, real, prev, weights=(1, 1, 3)).item() > kept
    assert losses.motion_loss(same_pitches, real, prev, weights=(1, 0, 0)).item() == pytest.approx(
        losses.motion_loss(same_pitches, real, None).item())


def test_a_held_note_whose_value_wavers_has_no_interval():
    held = _bar([(40, 0, 16)])
    held[0, 0, 40, 8:] = 0.8  # 0.7 then 0.8: one note, its soft count rises on step 8
    assert losses.interval_counts(held, power=12).sum().item() == pytest.approx(0.0)


def test_answer_spread_counts_sounding_cells_that_differ_not_the_faint_background():
    a = torch.zeros(2, 1, 88, 16)
    a[:, 0, 40, :4] = 0.8  # one note in both bars
    assert float(losses.answer_spread(a, a.clone())) == 0.0
    faint = a.clone()
    faint[:, 0, 10:20, :] = 0.05  # background far under the threshold
    assert float(losses.answer_spread(a, faint)) < 0.01 * 8 / (88 * 16)  # under a hundredth of one moved note
    other = a.clone()
    other[:, 0, 40, :4] = 0.0
    other[:, 0, 43, :4] = 0.8  # the note moved three semitones: 8 of 88 * 16 cells differ
    # each differing cell counts its soft count, 1 + 0.5 * (0.8 - 0.5) = 1.15
    assert float(losses.answer_spread(a, other)) == pytest.approx(8 * 1.15 / (88 * 16), rel=1e-4)
    assert float(losses.mode_seeking_loss(a, other)) < float(losses.mode_seeking_loss(a, a.clone()))


def test_mode_seeking_loss_teaches_a_generator_to_answer_differently_under_other_noise():
    """A generator that ignores most of its noise learns, from this term alone, to let the noise
    change which cells sound (measured on noises it was not trained on)."""
    torch.manual_seed(0)
    gen = torch.nn.Sequential(torch.nn.Linear(8, 88 * 16), torch.nn.Sigmoid())
    with torch.no_grad():
        gen[0].weight.mul_(0.01)  # nearly deaf to the noise: the same bar for every z
        gen[0].bias.normal_(0, 2)
    held_a, held_b = torch.randn(64, 8), torch.randn(64, 8)

    def spread():
        with torch.no_grad():
            return float(losses.answer_spread(gen(held_a), gen(held_b)))

    before = spread()
    opt = torch.optim.Adam(gen.parameters(), lr=1e-2)
    for _ in range(30):
        loss = losses.mode_seeking_loss(gen(torch.randn(64, 8)), gen(torch.randn(64, 8)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert spread() > 5 * before + 0.01, (before, spread())


def test_coverage_counts_the_steps_at_which_something_sounds():
    line = torch.zeros(1, 1, 88, 16)
    line[0, 0, 40, :8] = 0.8
    line[0, 0, 42, 8:] = 0.8  # two notes back to back: all 16 steps
    gaps = torch.zeros(1, 1, 88, 16)
    gaps[0, 0, 40, :4] = 0.8
    gaps[0, 0, 44, :4] = 0.8  # a chord of 4 steps, then rests: a chord covers its steps once
    assert losses.coverage(line).tolist() == pytest.approx([1.0])
    assert losses.coverage(gaps).tolist() == pytest.approx([0.25])
    faint = gaps.clone()
    faint[0, 0, 50, 4:] = 0.05  # far under the threshold: no coverage
    assert float(losses.coverage(faint)[0]) == pytest.approx(0.25, abs=1e-4)


def test_coverage_loss_is_zero_for_the_musics_coverage_and_pulls_rests_toward_sound():
    real = torch.zeros(2, 1, 88, 16)
    real[:, 0, 40, :] = 90 / 127  # sounds at every step
    gen = torch.full((2, 1, 88, 16), 0.02)
    gen[:, 0, 40, :8] = 0.8
    gen[:, 0, 40, 8:] = 0.4  # half the bar just under the threshold
    assert float(losses.coverage_loss(real * 0 + 0.8 * (real > 0), real)) == pytest.approx(0.0)
    gen.requires_grad_(True)
    loss = losses.coverage_loss(gen, real, power=8.0)
    assert float(loss) > 0.05
    loss.backward()
    assert float(gen.grad[:, 0, 40, 8:].max()) < 0  # the quiet half is asked to rise
    assert float(gen.grad[:, 0, 60, :].abs().max()) == 0.0  # cells that are not the step's loudest are left alone


def test_polyphony_counts_the_cells_a_step_stacks_over_its_strongest():
    melody = torch.zeros(1, 1, 88, 16)
    melody[0, 0, 40, :8] = 0.8
    melody[0, 0, 42, 8:] = 0.8  # one note at a time: nothing stacked
    assert losses.polyphony(melody).tolist() == pytest.approx([0.0])
    hesitant = melody.clone()
    hesitant[0, 0, 40, 8:12] = 0.45
    hesitant[0, 0, 45, 8:12] = 0.45  # three pitches at steps 8-11: two stacked over the strongest
    expected = 4 * 2 * (0.45 / 0.5) ** 4
    assert float(losses.polyphony(hesitant)[0]) == pytest.approx(expected, rel=1e-4)


def test_polyphony_loss_is_zero_for_a_melody_and_lowers_the_weaker_of_two_hesitant_pitches():
    real = torch.zeros(2, 1, 88, 16)
    real[:, 0, 40, :] = 90 / 127  # one pitch at every step
    assert float(losses.polyphony_loss(0.8 * (real > 0).float(), real)) == pytest.approx(0.0)
    gen = torch.full((2, 1, 88, 16), 0.02)
    gen[:, 0, 40, :] = 0.6
    gen[:, 0, 47, :] = 0.45  # a second pitch just under the threshold beside the note
    gen.requires_grad_(True)
    loss = losses.polyphony_loss(gen, real)
    assert float(loss) > 0.5
    loss.backward()
    assert float(gen.grad[:, 0, 47, :].min()) > 0  # the hesitant pitch is asked to fall
    assert float(gen.grad[:, 0, 40, :].abs().max()) == 0.0  # the step's strongest is left alone


def test_pitches_loss_compares_distinct_pitches_and_lowers_an_extra_pitch():
    real = _bar([(40, 0, 8), (42, 8, 16)], value=90 / 127)  # two pitches
    same = _bar([(40, 0, 4), (42, 4, 8), (40, 8, 16)], value=0.8)  # three notes, the same two pitches
    assert losses.pitches_loss(same, real, power=12.0).item() == pytest.approx(0.0, abs=0.01)
    extra = _bar([(40, 0, 4), (42, 4, 8), (45, 8, 12), (40, 12, 16)], value=0.8)
    extra.requires_grad_(True)
    loss = losses.pitches_loss(extra, real, power=12.0)
    assert loss.item() > 0.05
    loss.backward()
    assert float(extra.grad.reshape(88, 16)[45, 8:12].max()) > 0  # the third pitch is asked to fall


def test_notes_loss_compares_the_number_of_notes_not_where_they_are():
    real = _bar([(40, 0, 4), (42, 4, 8), (40, 8, 12), (42, 12, 16)], value=90 / 127)  # four notes
    other = _bar([(50, 0, 2), (52, 2, 6), (50, 6, 10), (47, 10, 16)], value=0.8)  # four others
    assert losses.notes_loss(other, real, power=12.0).item() == pytest.approx(0.0, abs=0.01)
    held = _bar([(40, 0, 8), (42, 8, 16)], value=0.8)  # two long notes in the same time
    assert losses.notes_loss(held, real, power=12.0).item() == pytest.approx(
        (math.log(1 + 2 * 1.15) - math.log(1 + 4 * (1 + 0.5 * (90 / 127 - 0.5)))) ** 2, rel=0.05)


def test_read_notes_counts_the_notes_the_threshold_reads_and_passes_the_soft_gradient():
    # two notes, and a third pitch flickering just under the threshold: the soft count counts the
    # flicker as notes, the threshold reads none of it
    x = _bar([(40, 0, 8), (42, 8, 16)], value=0.8)
    x.reshape(88, 16)[45, 0:16:2] = 0.47
    soft = float(losses.bar_structure(x, power=12.0)[1][0])
    assert soft > 4.0
    x.requires_grad_(True)
    read = losses.read_notes(x, power=12.0)
    assert float(read[0]) == pytest.approx(2.0, abs=1e-5)
    read.sum().backward()
    assert float(x.grad.reshape(88, 16)[45, 0:16:2].min()) > 0  # more notes: the flicker is asked up


def test_notes_loss_read_asks_for_the_notes_the_soft_count_took_the_flicker_for():
    real = _bar([(40, 0, 4), (42, 4, 8), (40, 8, 12), (42, 12, 16)], value=90 / 127)  # four notes
    gen = _bar([(40, 0, 8), (42, 8, 16)], value=0.8)  # two, and a flicker the soft count takes for notes
    gen.reshape(88, 16)[45, 0:16:2] = 0.47
    gen.requires_grad_(True)
    losses.notes_loss(gen, real, power=12.0).backward()  # the soft count: "more notes than the real bar"
    assert float(gen.grad.reshape(88, 16)[45, 0:16:2].min()) > 0  # ... so the flicker is asked down
    gen.grad = None
    loss = losses.notes_loss(gen, real, power=12.0, read=True)
    assert loss.item() == pytest.approx((math.log(3) - math.log(5)) ** 2, rel=1e-4)
    loss.backward()
    assert float(gen.grad.reshape(88, 16)[45, 0:16:2].max()) < 0  # descent raises the flicker to notes


def test_register_loss_is_the_squared_octave_distance_of_mean_pitches_over_pairs_that_both_sound():
    real = _bar([(40, 0, 8)], value=90 / 127)
    # the same pitch an octave up: 1 octave squared; the same register: 0
    assert losses.register_loss(_bar([(52, 0, 8)], value=0.9), real).item() == pytest.approx(1.0, abs=1e-3)
    assert losses.register_loss(_bar([(40, 4, 12)], value=0.9), real).item() == pytest.approx(0.0, abs=1e-3)
    # a chord around the real pitch (rows 34 and 46, half an octave each side) has its register
    assert losses.register_loss(_bar([(34, 0, 8), (46, 0, 8)], value=0.9), real).item() == pytest.approx(0.0, abs=1e-3)
    # pairs with a silent real bar or a silent answer are left out of the mean, not counted as 0
    silent = torch.zeros(1, 1, 88, 16)
    gen = torch.cat([_bar([(64, 0, 8)], value=0.9), _bar([(64, 0, 8)], value=0.9), silent + 0.02])
    target = torch.cat([real, silent, real])
    assert losses.register_loss(gen, target).item() == pytest.approx(4.0, abs=1e-2)
    assert losses.register_loss(silent, real).item() == 0.0
    # the gradient moves the answer's mass towards the real register
    x = _bar([(52, 0, 8), (28, 0, 2)], value=0.9).requires_grad_(True)
    losses.register_loss(x, real).backward()
    assert x.grad[0, 0, 52, 0] > 0 > x.grad[0, 0, 28, 0]  # less of the high note, more of the low one


def test_batch_feature_matching_compares_the_batchs_mean_features_not_each_pair():
    real = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    swapped = torch.tensor([[0.0, 1.0], [1.0, 0.0]])  # the same bars, each against the wrong pair
    # per pair: each answer misses its own real bar by 2 (1/2 * 2 per term, two terms)
    assert losses.feature_matching_loss(real, swapped, swapped).item() == pytest.approx(2.0)
    # on the batch's means the two sets are the same
    assert losses.feature_matching_loss(real, swapped, swapped, "batch").item() == pytest.approx(0.0)
    shifted = real + torch.tensor([1.0, 0.0])
    assert losses.feature_matching_loss(real, shifted, real, "batch").item() == pytest.approx(0.5)
    with pytest.raises(ValueError):
        losses.feature_matching_loss(real, real, real, "mean")


def test_onset_profile_counts_where_notes_start_over_the_batch():
    bars = torch.zeros(2, 1, 88, 16)
    bars[0, 0, 40, 0:4] = 0.8  # onset at step 0
    bars[0, 0, 42, 4:8] = 0.8  # onset at step 4
    bars[1, 0, 40, 0:16] = 0.8  # one note the whole bar: onset at step 0
    bars[1, 0, 50, 9:10] = 0.8  # a short note on an odd sixteenth
    expected = torch.zeros(16)
    expected[0], expected[4], expected[9] = 2 / 4, 1 / 4, 1 / 4
    assert losses.onset_profile(bars).tolist() == pytest.approx(expected.tolist(), abs=1e-4)
    assert losses.onset_profile(bars * (90 / 127), real=True).tolist() == pytest.approx(expected.tolist())


def test_onset_profile_loss_is_zero_on_the_musics_profile_and_moves_late_onsets_to_the_beat():
    real = torch.zeros(4, 1, 88, 16)
    real[:, 0, 40, 0:4] = 90 / 127
    real[:, 0, 43, 4:8] = 90 / 127  # every note on a beat
    assert float(losses.onset_profile_loss(0.8 * (real > 0), real)) == pytest.approx(0.0, abs=1e-4)
    gen = torch.full((4, 1, 88, 16), 0.02)
    gen[:, 0, 40, 1:4] = 0.8  # the first note a sixteenth late
    gen[:, 0, 43, 4:8] = 0.8
    assert float(losses.onset_profile_loss(gen, real)) == pytest.approx(0.5, abs=1e-3)  # half the onsets a step off
    gen[:, 0, 40, 0] = 0.45  # the downbeat just under the threshold
    gen.requires_grad_(True)
    loss = losses.onset_profile_loss(gen, real, power=12.0)
    assert float(loss) > 0.25
    loss.backward()
    assert float(gen.grad[:, 0, 40, 0].max()) < 0  # the downbeat cell is asked to sound



def _onsets(x, real=True):
    return losses._read_onsets(x, real=real)


def test_figure_repeats_counts_the_heard_bars_figures_moved_but_not_a_copy_in_place():
    heard = _bar([(40, 0, 4), (42, 4, 8), (44, 8, 12), (45, 12, 16)])
    copy = _bar([(40, 0, 4), (42, 4, 8), (44, 8, 12), (45, 12, 16)], value=0.8)
    moved = _bar([(44, 0, 4), (45, 4, 8), (40, 8, 12), (42, 12, 16)], value=0.8)  # both figures, other steps
    other = _bar([(47, 0, 4), (49, 4, 8), (51, 8, 12), (52, 12, 16)], value=0.8)
    repeats = [float(losses.figure_repeats(_onsets(x, real=False), _onsets(heard))[0]) for x in (copy, moved, other)]
    assert repeats == pytest.approx([0.0, 2.0, 0.0], abs=1e-5)


def test_figure_counts_leave_out_a_pitch_struck_again():
    again = _bar([(47, 0, 2), (47, 4, 6), (49, 6, 8)], value=0.8)
    counts = losses.figure_counts(_onsets(again, real=False))[0]
    assert float(counts[47, 47]) == 0.0 and float(counts[47, 49]) == pytest.approx(1.0, abs=1e-5)  # 6 steps: too far


def test_figure_repeats_counts_a_bars_own_figure_played_twice():
    heard = _bar([(60, 0, 16)])
    twice = _bar([(47, 0, 2), (49, 2, 4), (47, 4, 6), (49, 6, 8)], value=0.8)  # 47-49 twice
    once = _bar([(47, 0, 2), (49, 2, 4), (51, 4, 6), (52, 6, 8)], value=0.8)
    assert float(losses.figure_repeats(_onsets(twice, real=False), _onsets(heard))[0]) == pytest.approx(1.0, abs=1e-5)
    assert float(losses.figure_repeats(_onsets(once, real=False), _onsets(heard))[0]) == pytest.approx(0.0, abs=1e-5)


def test_figures_loss_asks_an_answer_without_the_heard_figures_for_them():
    heard = _bar([(40, 0, 4), (42, 4, 8), (44, 8, 12), (45, 12, 16)])
    real = _bar([(44, 0, 4), (45, 4, 8), (40, 8, 12), (42, 12, 16)])  # the music moves the figures
    gen = _bar([(47, 0, 4), (49, 4, 8), (40, 8, 12), (51, 12, 16)], value=0.8)
    gen.reshape(88, 16)[42, 12:16] = 0.4  # 42 after 40 hesitates under the threshold
    gen.requires_grad_()
    loss = losses.figures_loss(gen, real, heard, power=12.0)
    assert loss.item() > 0.1
    loss.backward()
    g = gen.grad.reshape(88, 16)
    assert float(g[42, 12]) < 0  # 42 after 40 is the heard figure 40-42: asked up
    assert losses.figures_loss(real * 0.8 / 0.7, real, heard, power=12.0).item() == pytest.approx(0.0, abs=1e-6)


def test_figures_loss_takes_the_musics_figures_from_rows_that_follow_a_real_bar():
    heard = torch.cat([_bar([(40, 0, 4), (42, 4, 8)]), _bar([(60, 0, 16)])])
    real = torch.cat([_bar([(40, 8, 12), (42, 12, 16)]), _bar([(40, 8, 12), (42, 12, 16)])])
    gen = real * 0.8 / 0.7
    # the answers repeat 1 and 0 figures (mean 0.5); the music, after the real bar, 1
    heard_real = torch.tensor([True, False])
    assert losses.figures_loss(gen, real, heard, heard_real).item() == pytest.approx((math.log(1.5) - math.log(2.0)) ** 2, rel=1e-4)
    assert losses.figures_loss(gen, real, heard).item() == pytest.approx(0.0, abs=1e-6)
    none_real = torch.tensor([False, False])  # no row after a real bar: all rows stand in
    assert losses.figures_loss(gen, real, heard, none_real).item() == pytest.approx(0.0, abs=1e-6)


def test_notes_targets_are_the_bar_heard_where_it_is_the_models_own():
    prev = torch.cat([_bar([(40, 0, 16)]), _bar([(40, 0, 4), (42, 4, 8), (44, 8, 12)])])
    nxt = torch.cat([_bar([(50, 0, 8), (52, 8, 16)]), _bar([(50, 0, 16)])])
    target = losses.notes_targets(prev, nxt, torch.tensor([True, False]))
    assert torch.equal(target[0], nxt[0]) and torch.equal(target[1], prev[1])
    assert losses.notes_targets(prev, nxt, None) is nxt
    # asked for the three notes it heard, an answer of three notes costs nothing; of one, something
    three = _bar([(60, 0, 4), (62, 4, 8), (64, 8, 12)], value=0.8)
    one = _bar([(60, 0, 16)], value=0.8)
    assert losses.notes_loss(three, target[1:], read=True).item() == pytest.approx(0.0, abs=1e-6)
    assert losses.notes_loss(one, target[1:], read=True).item() > 0.3


def test_figure_repeats_is_the_sum_over_figure_counts_tables():
    # the reference: figure_counts' 88 x 88 tables multiplied out, as the docstring defines it
    torch.manual_seed(0)
    o_gen, o_prev = torch.rand(6, 88, 16), (torch.rand(6, 88, 16) > 0.9).float()
    b_gen, b_prev = losses.figure_counts(o_gen), losses.figure_counts(o_prev)
    across = (b_gen * b_prev).sum((1, 2)) - losses.figure_counts(o_gen * o_prev).sum((1, 2))
    within = 0.5 * ((b_gen * b_gen).sum((1, 2)) - losses.figure_counts(o_gen * o_gen).sum((1, 2)))
    assert torch.allclose(losses.figure_repeats(o_gen, o_prev), across + within, rtol=1e-4)
