"""srlive-sample: bars that start from a real bar or from noise, to a .mid and a PNG."""

import mido
import numpy as np
import pretty_midi
import pytest
from tiny_corpus import random_checkpoint, tiny_corpus

from srlive.roll import notes_to_roll
from srlive_training import sample
from srlive_training.runner import as_heard, generate, load_runner


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("sample")
    tiny_corpus().save(d / "corpus.npz")
    random_checkpoint(d / "rand.pt")
    return d


def _bars_in(path):
    mid = mido.MidiFile(str(path))
    return mid.length / 2.0  # 120 BPM, 4/4: two seconds a bar


@pytest.mark.parametrize("start", [["--start", "heard"], ["--start", "noise"], ["--framework", "2"]])
def test_sample_writes_a_midi_of_n_bars_and_a_png(files, start, capsys):
    out = files / f"take-{start[1]}.mid"
    rc = sample.main(["--checkpoint", str(files / "rand.pt"), *start, "--bars", "3",
                      "--data", str(files / "corpus.npz"), "--out", str(out), "--seed", "1"])
    assert rc == 0
    assert _bars_in(out) == pytest.approx(3)
    pm = pretty_midi.PrettyMIDI(str(out))
    assert pm.instruments and pm.instruments[0].notes
    assert max(n.end for n in pm.instruments[0].notes) <= 6.0 + 1e-6
    png = out.with_suffix(".png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "wrote" in capsys.readouterr().out


def test_seed_file_and_with_seed_put_the_seed_bar_first(files):
    seed = files / "seed.mid"
    sample.rolls_to_midi(np.stack([notes_to_roll([(60, 0, 4, 100), (64, 4, 8, 60)]),
                                   notes_to_roll([(72, 0, 16, 100)])]), seed)
    roll = sample.first_bar_of_midi(seed)
    assert roll[60 - 21, 0:4].min() > 0.7 and roll[64 - 21, 4:8].min() > 0.4 and roll[72 - 21].max() == 0
    out = files / "seeded.mid"
    rc = sample.main(["--checkpoint", str(files / "rand.pt"), "--seed-file", str(seed), "--with-seed",
                      "--bars", "2", "--out", str(out), "--threshold", "0.9"])  # the real seed bar still sounds
    assert rc == 0 and _bars_in(out) == pytest.approx(3)
    first = [n for n in pretty_midi.PrettyMIDI(str(out)).instruments[0].notes if n.start < 2.0]
    assert {(n.pitch, n.start, n.end) for n in first} >= {(60, 0.0, 0.5), (64, 0.5, 1.0)}


def test_same_seed_same_sample_and_the_model_listens(files):
    runner = load_runner(files / "rand.pt")
    seeds = np.stack([tiny_corpus().rolls(0), tiny_corpus().rolls(5)])
    a = generate(runner, "heard", 2, np.random.default_rng(7), seeds=seeds)
    b = generate(runner, "heard", 2, np.random.default_rng(7), seeds=seeds)
    assert a.shape == (2, 2, 88, 16) and np.array_equal(a, b)
    # with no noise the answer depends only on the bar before it
    same = runner.answer(np.stack([seeds[0], seeds[0]]), np.random.default_rng(0), temperature=0.0)
    assert np.array_equal(same[0], same[1])
    other = runner.answer(seeds, np.random.default_rng(0), temperature=0.0)
    assert not np.array_equal(other[0], other[1])
    # fed back as it sounds: one note from the first cell over the threshold, at that cell's velocity
    assert np.array_equal(as_heard(np.array([0.2, 0.5, 0.9], np.float32)), np.array([0, 64 / 127, 64 / 127], np.float32))


@pytest.mark.parametrize("bad", ["missing.pt", "corrupt.pt"])
def test_missing_or_corrupt_checkpoint_is_one_line(files, bad, capsys):
    (files / "corrupt.pt").write_bytes(b"not a checkpoint at all")
    rc = sample.main(["--checkpoint", str(files / bad), "--start", "noise", "--out", str(files / "x.mid")])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("srlive-sample: ") and err.count("\n") == 1 and "Traceback" not in err


def test_starting_from_a_heard_bar_needs_a_real_bar(files, capsys):
    rc = sample.main(["--checkpoint", str(files / "rand.pt"), "--out", str(files / "y.mid")])
    assert rc == 2 and "--data" in capsys.readouterr().err


@pytest.mark.slow
def test_onnx_export_runs_like_the_checkpoint(files):
    pytest.importorskip("srlive.model.runtime")
    export_cli = pytest.importorskip("srlive_export.cli")
    onnx_dir = files / "onnx"
    assert export_cli.main([str(files / "rand.pt"), "--out", str(onnx_dir), "--n-real", "0", "--n-random", "8"]) == 0
    torch_runner, onnx_runner = load_runner(files / "rand.pt"), load_runner(onnx_dir)
    bars = tiny_corpus().rolls(np.arange(6))
    a = torch_runner.answer(bars, np.random.default_rng(3), 0.8)
    b = onnx_runner.answer(bars, np.random.default_rng(3), 0.8)
    assert np.abs(a - b).max() < 1e-4
    a = torch_runner.from_noise(4, np.random.default_rng(3))
    assert np.abs(a - onnx_runner.from_noise(4, np.random.default_rng(3))).max() < 1e-4
