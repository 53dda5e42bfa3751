"""The step decoder (srlive_training.phrase_model): what it plays is what it was trained to
predict, a melody, the same for the same noise, and it hears both z and the bars heard."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from srlive_training.events import N_EVENTS, events_of, is_melody, last_pitch_before, roll_of_events
from srlive_training.phrase_batches import PhraseStream, fixed_batches, phrase_index
from srlive_training.phrase_model import PhraseConfig, PhraseVAE, listens
from srlive_training.phrase_train import PhraseTraining, run_phrase_training, load_phrase_checkpoint
from tiny_corpus import tiny_corpus

TINY = PhraseConfig(name="tiny", hidden=24, event_embed=8, context_embed=16, latent=6, enc_channels=(2, 4, 4),
                    disc_channels=(2, 4, 4))


def _phrases(n, seed=0, steps=16):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, 4, 88, steps, generator=g) > 0.96).float()


def _model(seed=0, cfg=TINY):
    torch.manual_seed(seed)
    return PhraseVAE(cfg).eval()


def test_playing_draws_each_event_from_the_logits_teacher_forcing_trains():
    model = _model()
    hist = _phrases(24)
    trace = []
    with torch.no_grad():
        answer = model.play(hist, torch.randn(24, TINY.noise_size), torch.ones(24, 1), trace=trace)
        z, phrase = trace[0]
        events = torch.stack([e for _, e in trace[1:]], 1)
        played = torch.stack([logit for logit, _ in trace[1:]], 1)
        forced = model.teacher_forced(hist, None, events, torch.from_numpy(last_pitch_before(events.numpy())), z, phrase)
    assert torch.allclose(forced, played, atol=1e-5)
    assert np.array_equal(events_of(answer[:, 0].numpy()), events.numpy())


def test_an_answer_is_a_melody_whose_cells_hold_the_chance_of_its_first_event():
    with torch.no_grad():
        answer = _model().play(_phrases(32), torch.randn(32, TINY.noise_size), torch.ones(32, 1))[:, 0].numpy()
    assert is_melody(answer).all()
    sounding = answer[answer > 0]
    assert sounding.size and sounding.min() >= 0.5 and sounding.max() <= 1.0


def test_the_same_noise_gives_the_same_answer():
    model = _model()
    hist, noise, t = _phrases(8), torch.randn(8, TINY.noise_size), torch.full((8, 1), 0.9)
    with torch.no_grad():
        assert torch.equal(model.play(hist, noise, t), model.play(hist, noise, t))


def test_a_decoder_that_ignores_the_bars_heard_or_z_fails_the_context_test():
    model = _model(1)
    hist = _phrases(64, seed=3)
    heard = listens(model, hist, seed=0)
    assert heard["bars"] > 0.5 and heard["z"] > 0.5
    deaf = _model(1)
    with torch.no_grad():
        for p in (*deaf.encoder.parameters(), deaf.generator.context.weight, deaf.generator.copy.weight,
                  deaf.generator.copy.bias):
            p.zero_()
    assert listens(deaf, hist, seed=0)["bars"] == 0.0
    blind = _model(1)
    with torch.no_grad():
        blind.generator.init.weight[:, : TINY.latent].zero_()
        first_z = TINY.event_embed + TINY.context_embed + 16
        blind.generator.gru.weight_ih_l0[:, first_z : first_z + TINY.latent].zero_()
    assert listens(blind, hist, seed=0)["z"] == 0.0


def test_phrase_batches_hear_the_bars_1_2_4_and_8_back_within_the_tune():
    corpus = tiny_corpus(n_tunes=10, bars=10)
    targets, sources = phrase_index(corpus, "train", (1, 2, 4, 8))
    assert len(targets)
    for t, src in zip(targets, sources):
        for k, s in zip((1, 2, 4, 8), src):
            if s >= 0:
                assert s == t - k and corpus.tune[s] == corpus.tune[t]
            else:
                assert t - k < 0 or corpus.tune[t - k] != corpus.tune[t]
    batch = fixed_batches(corpus, "train", (1, 2, 4, 8), 32)[0]
    assert np.array_equal(roll_of_events(batch.events), batch.target)
    # without transposition the bar heard is the real bar before
    assert np.array_equal(batch.history[:, 0] > 0, corpus.rolls(targets[np.sort(np.random.default_rng(0).permutation(len(targets))[:32])] - 1) > 0)


def test_training_lowers_the_events_cross_entropy_and_resumes(tmp_path):
    corpus = tiny_corpus(n_tunes=24, bars=10)
    tc = PhraseTraining(batch_size=16, val_every=20, val_bars=64, kl_warmup=10)
    first = run_phrase_training(corpus, TINY, tmp_path, tc, minutes=None, steps=20, progress=False)
    later = run_phrase_training(corpus, TINY, tmp_path, tc, minutes=None, steps=80, resume=True, progress=False)
    assert later["val_ce"] < first["val_ce"]
    model, ckpt = load_phrase_checkpoint(tmp_path / "last.pt")
    assert ckpt["step"] == 80 and model.config == TINY
    assert (tmp_path / "loss_curves.png").stat().st_size > 0


def test_a_stream_resumes_where_it_was():
    corpus = tiny_corpus(n_tunes=12, bars=8)
    a = PhraseStream(corpus, "train", (1, 2, 4, 8), 8, seed=1)
    for _ in range(5):
        a.next()
    b = PhraseStream(corpus, "train", (1, 2, 4, 8), 8, seed=1)
    b.restore(a.position)
    assert np.array_equal(a.next().events, b.next().events)


def test_a_critic_asked_of_a_file_that_is_no_model_is_one_line(tmp_path, capsys):
    from srlive_training import critic

    bad = tmp_path / "corpus.npz"
    bad.write_bytes(b"not a model")
    assert critic.main(["--model", str(bad), "--data", str(bad), "--out", str(tmp_path / "c"), "--steps", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "not a readable ONNX model" in err and "\n" not in err
