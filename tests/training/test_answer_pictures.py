"""Piano rolls of srlive answering held-out tunes, before (1 candidate) and after (8)."""

import numpy as np
import pytest
from tiny_corpus import tiny_corpus

from srlive.model.answer import Answerer
from srlive.model.runtime import default_model_path
from srlive.roll import notes_to_roll
from srlive_training import answer_pictures as ap
from srlive_training.corpus import BarCorpus
from srlive_training.runner import load_runner


@pytest.fixture(scope="module")
def runner():
    return load_runner(default_model_path())


@pytest.fixture(scope="module")
def tunes():
    corpus = tiny_corpus()
    return np.stack([corpus.rolls(idx[:ap.HEARD]) for _, idx in ap.pick_tunes(corpus)])


def _marked(n: int, base: int) -> np.ndarray:
    """n bars, bar b one note at pitch base + b (so a bar names itself)."""
    return np.stack([notes_to_roll([(base + b, 0, 4, 100)]) for b in range(n)])


def _pitch(bar: np.ndarray) -> int:
    return int(np.nonzero(bar.max(1))[0][0]) + 21


def test_each_answer_sits_under_the_bar_it_plays_in_the_one_after_the_bar_it_answers():
    tune, answers = _marked(8, 60), _marked(8, 80)  # answers[b] answers tune[b]
    heard, played = ap.aligned(tune, answers, 4, 4)
    assert heard.shape == played.shape == (4, 88, 16)
    assert [_pitch(b) for b in heard] == [64, 65, 66, 67]
    assert [_pitch(b) for b in played] == [83, 84, 85, 86]  # the answers to bars 3..6, played in bars 4..7
    with pytest.raises(ValueError):
        ap.aligned(tune, answers, 0, 4)  # bar 0 has no answer under it
    with pytest.raises(ValueError):
        ap.aligned(tune, answers, 5, 4)  # past the tune's end


def test_tunes_are_the_first_test_tunes_long_enough_and_sounding_in_split_order():
    lengths = [9, 8, 12, 7, 8, 9, 10, 8]  # tunes 0-1 train, 2-7 test
    split = [0, 0, 2, 2, 2, 2, 2, 2]
    tune = np.repeat(np.arange(len(lengths)), lengths)
    bars = np.full((len(tune), 88, 16), 90, np.uint8)
    bars[np.nonzero(tune == 5)[0][3]] = 0  # tune 5 has a silent bar among its first 8
    bars[np.nonzero(tune == 6)[0][8]] = 0  # tune 6's is past them
    corpus = BarCorpus(bars, tune, split, [f"t{i}" for i in range(len(lengths))])
    picked = ap.pick_tunes(corpus, n=3, min_bars=8)
    assert [name for name, _ in picked] == ["t2", "t4", "t6"]
    assert all(np.all(corpus.tune[idx] == int(name[1:])) for name, idx in picked)


def test_row_figures_count_notes_and_onsets_on_the_beat():
    bar = notes_to_roll([(60, 0, 2, 90), (62, 4, 6, 90), (64, 6, 7, 90), (65, 8, 12, 90), (67, 13, 16, 90)])
    f = ap.row_figures(np.stack([bar, notes_to_roll([(60, 0, 16, 90)])]), 0.5)
    assert f["notes_per_bar"] == 3.0  # 5 notes and 1
    assert f["on_beat"] == pytest.approx(4 / 6)  # steps 0, 4, 8 and 0 of six onsets
    assert np.isnan(ap.row_figures(np.zeros((2, 88, 16), np.float32), 0.5)["on_beat"])


@pytest.mark.parametrize("n", [1, 8])
def test_answers_are_srlives_own_as_the_engine_answers_in_accompany_mode(runner, tunes, n):
    runner.candidates = n
    got = ap.accompany(runner, tunes[:1], np.random.default_rng(3), runner.temperature)
    # the engine's order: hear bar b and its own bar b (its answer to b - 1), then answer bar b
    answerer, rng, played = Answerer(runner, n, runner.selection), np.random.default_rng(3), None
    for b, bar in enumerate(tunes[0]):
        answerer.hear(heard=bar, played=played)
        played = answerer.answer(bar, rng, runner.temperature).heard
        np.testing.assert_array_equal(got[0, b], played)


def test_an_answer_hears_only_the_bars_before_it(runner, tunes):
    runner.candidates = 8
    a = ap.accompany(runner, tunes, np.random.default_rng(0), runner.temperature)
    changed = tunes.copy()
    changed[:, 5:] = tunes[:, 5:, ::-1]  # other bars from bar 5 on
    b = ap.accompany(runner, changed, np.random.default_rng(0), runner.temperature)
    np.testing.assert_array_equal(a[:, :5], b[:, :5])
    assert not np.array_equal(a[:, 5:], b[:, 5:])


def test_picture_of_a_tiny_corpus_with_the_shipped_model(tmp_path, capsys):
    tiny_corpus().save(tmp_path / "corpus.npz")
    out = tmp_path / "pics" / "answers.png"
    rc = ap.main(["--data", str(tmp_path / "corpus.npz"), "--model", str(default_model_path()), "--out", str(out),
                  "--seed", "0"])
    assert rc == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = capsys.readouterr().out.splitlines()
    rows = [line.split(" | ") for line in lines if line.startswith("| tune1")]  # test tunes 12-15
    assert len(rows) == 3
    before = [r[2] for r in rows]
    after = [r[3].rstrip(" |") for r in rows]
    assert before != after  # the model's own candidates, chosen by its selection, play other bars than one


def test_before_and_after_differ_with_the_same_seed(runner, tunes):
    runner.candidates = 1
    before = ap.accompany(runner, tunes, np.random.default_rng(0), runner.temperature)
    runner.candidates = 8
    after = ap.accompany(runner, tunes, np.random.default_rng(0), runner.temperature)
    assert before.shape == after.shape == tunes.shape
    assert not np.array_equal(before, after)


@pytest.mark.parametrize("what", ["data", "model"])
def test_a_missing_cache_or_model_is_one_line(tmp_path, capsys, what):
    tiny_corpus().save(tmp_path / "corpus.npz")
    paths = {"data": str(tmp_path / "corpus.npz"), "model": str(default_model_path())}
    paths[what] = str(tmp_path / "missing")
    rc = ap.main(["--data", paths["data"], "--model", paths["model"], "--out", str(tmp_path / "a.png")])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert ("srlive-prepare" if what == "data" else "model not found") in err
    assert not (tmp_path / "a.png").exists()


def test_a_model_shipped_before_comes_first_and_the_shipped_models_rows_are_after(tmp_path, capsys):
    from srlive_export import cli as export_cli

    tiny_corpus().save(tmp_path / "corpus.npz")
    other = tmp_path / "other"
    assert export_cli.main(["--untrained", "live", "--out", str(other), "--n-real", "20", "--n-random", "20"]) == 0
    capsys.readouterr()
    out = tmp_path / "answers.png"
    rc = ap.main(["--data", str(tmp_path / "corpus.npz"), "--model", str(default_model_path()), "--out", str(out),
                  "--before", str(other)])
    assert rc == 0 and out.is_file()
    header = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| tune |"))
    own = load_runner(default_model_path()).candidates
    assert header.index("before (other), 1 candidate") < header.index("after, 1 candidate") < header.index(f"after, {own} candidates")


def test_a_model_of_another_bar_width_is_one_line(tmp_path, capsys):
    tiny_corpus().save(tmp_path / "corpus.npz")
    four, triple = str(default_model_path()), str(default_model_path().parent / "triple")
    for models in (["--model", triple], ["--model", four, "--before", triple]):
        assert ap.main(["--data", str(tmp_path / "corpus.npz"), "--out", str(tmp_path / "a.png"), *models]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "answers bars of 12 steps, the corpus holds bars of 16 steps" in err[0]
