"""srlive-eval's listening table and solo check on a tiny corpus, with runners whose answers are
known: one that plays back the bar it heard 8 bars before, one that stays silent."""

import json
import math

import numpy as np
import pytest
from tiny_corpus import tiny_corpus

from srlive_training import evaluate, phrase_eval, solo_check


class Memory:
    """An answerer that remembers every bar given to `hear`, in order."""

    def __init__(self):
        self.heard, self.played = [], []

    def hear(self, heard=None, played=None):
        if heard is not None:
            self.heard.append(np.array(heard))
        if played is not None:
            self.played.append(np.array(played))


class EightBack:
    """Answers every bar with the first bar it heard: for an item, its real bar t-8."""

    name, temperature = "eightback", 1.0

    def __init__(self):
        self.memories = []

    def answerers(self, n, threshold):
        self.memories = [Memory() for _ in range(n)]
        return self.memories

    def answer(self, prev, rng, temperature=1.0, answerers=None, threshold=0.5):
        return np.stack([a.heard[0] for a in answerers])


class Silent:
    """No answerers; answers every bar with silence."""

    name, temperature = "silent", 1.0

    def answer(self, prev, rng, temperature=1.0):
        return np.zeros_like(np.asarray(prev, np.float32))


@pytest.fixture(scope="module")
def result():
    return evaluate.evaluate(tiny_corpus(n_tunes=24, bars=12), [EightBack(), Silent()], n_samples=60, seed=0,
                             solo=True, solo_tunes=3)


def rows(table):
    return {r["name"]: r for r in table["rows"]}


def test_the_listening_table_has_its_rows_and_the_model_heard_eight_bars(result):
    table = rows(result["phrase"])
    assert list(table) == ["held-out real music (control)", "eightback (from a real bar)", "silent (from a real bar)",
                           "baseline: random training bar", "baseline: repeat previous bar"]
    assert result["phrase"]["info"] == {"phrase_tunes": 6, "phrase_skipped": 0, "phrase_items": 60}
    back = table["eightback (from a real bar)"]
    # an answer that is bar t-8 shares every onset with it; repeating bar t-1 shares all of t-1
    assert back["returns_8"] == 1.0 and back["returns_1"] < 1.0
    assert table["baseline: repeat previous bar"]["returns_1"] == 1.0
    # srlive alone, always playing back the same bar: its bars 4 and 8 before are the same bar
    assert back["solo_returns_4"] == 1.0 and back["solo_returns_8"] == 1.0
    music = table["held-out real music (control)"]
    assert 0 < music["returns_4"] < 1 and 0 <= music["classifier_logistic"] <= 1
    # the tiny corpus's tunes put one note on each beat: every context is even, and so is the music
    assert music["even_contexts"] == 60 and music["odd_after_even"] == 0.0
    silent = table["silent (from a real bar)"]
    assert silent["classifier_logistic"] > 0.95 and silent["classifier_boosted"] > 0.95
    assert math.isnan(silent["returns_4"]) and math.isnan(silent["odd_after_even"])


def test_the_listening_targets(result):
    v = result["phrase"]["verdicts"]
    assert set(v) == {"eightback (from a real bar)", "silent (from a real bar)"}
    assert set(v["silent (from a real bar)"]) == {"classifier_logistic", "classifier_boosted", "odd_after_even",
                                                  "returns_4", "returns_8", "solo_returns_4", "solo_returns_8"}
    assert not any(c["ok"] for c in v["silent (from a real bar)"].values())
    back = v["eightback (from a real bar)"]
    assert back["odd_after_even"]["ok"] and not back["returns_8"]["ok"]  # 1.0 is too much of a return
    music = rows(result["phrase"])["held-out real music (control)"]
    fake = dict(music, returns_4=music["returns_4"] * 1.19, returns_8=music["returns_8"] * 0.81,
                solo_returns_4=music["returns_4"], solo_returns_8=music["returns_8"], classifier_logistic=0.65,
                classifier_boosted=0.6, odd_after_even=0.02)
    assert all(c["ok"] for c in phrase_eval.verdict(fake, music, 16).values())
    assert not phrase_eval.verdict(dict(fake, odd_after_even=0.021), music, 16)["odd_after_even"]["ok"]
    assert not phrase_eval.verdict(dict(fake, classifier_boosted=0.7), music, 16)["classifier_boosted"]["ok"]
    assert phrase_eval.verdict(dict(fake, classifier_boosted=0.7), music, 12)["classifier_boosted"]["ok"]


def test_the_solo_check_counts_stuck_and_silent_chains(result):
    table = rows(result["solo"])
    back, silent = table["eightback"], table["silent"]
    bars = 3 * solo_check.SEEDS * solo_check.SOLO_BARS
    assert back["bars"] == bars and back["chains"] == 3 * solo_check.SEEDS
    assert back["empty_bars"] == 0 and back["longest_run"] == solo_check.SOLO_BARS and back["returns_8"] == 1.0
    assert silent["empty_bars"] == bars and silent["bars_outside"] == 1.0 and silent["phrases_outside"] == 1.0
    v = result["solo"]["verdicts"]
    assert not v["eightback"]["longest_run"]["ok"] and v["eightback"]["empty_bars"]["ok"]
    assert not any(c["ok"] for c in v["silent"].values())
    music = table["held-out real music (the tunes whole)"]
    assert music["chains"] == 6 and music["bars"] == 6 * 12 and music["empty_bars"] == 0  # the 6 test tunes
    assert music["longest_run"] == 1  # random notes: no bar repeats the one before


def test_answers_after_hears_every_bar_in_order_and_answers_the_last():
    runner = EightBack()
    history = np.random.default_rng(0).random((3, 8, 88, 16)).astype(np.float32)
    answers = phrase_eval.answers_after(runner, history, None, 1.0, 0.5)
    assert np.array_equal(answers, history[:, 0])
    for memory, bars in zip(runner.memories, history):
        assert len(memory.heard) == 8 and all(np.array_equal(a, b) for a, b in zip(memory.heard, bars))


def test_a_solo_chain_hears_its_own_answers_as_played():
    runner = EightBack()
    history = np.random.default_rng(1).random((2, 8, 88, 16)).astype(np.float32)
    chain = phrase_eval.solo_chain(runner, history, 5, None, 1.0, 0.5)
    assert chain.shape == (2, 5, 88, 16)
    assert all(len(m.heard) == 8 and len(m.played) == 5 for m in runner.memories)


def test_tunes_too_short_for_eight_bars_before_are_skipped_and_said(tmp_path):
    tiny_corpus().save(tmp_path / "corpus.npz")  # 8 bars a tune
    md, js = tmp_path / "eval.md", tmp_path / "eval.json"
    assert evaluate.main(["--data", str(tmp_path / "corpus.npz"), "--samples", "10", "--quiet", "--out-md", str(md),
                          "--out-json", str(js)]) == 0
    assert "0 bars t with their 8 real bars before, from 0 held-out tunes (4 tunes shorter than 9 bars skipped)" \
        in md.read_text()
    phrase = json.loads(js.read_text())["phrase"]
    assert phrase["info"]["phrase_items"] == 0 and phrase["rows"][0]["returns_4"] is None


def test_solo_check_flag_and_a_bad_count(tmp_path, capsys):
    tiny_corpus(bars=10).save(tmp_path / "corpus.npz")
    md = tmp_path / "eval.md"
    assert evaluate.main(["--data", str(tmp_path / "corpus.npz"), "--samples", "10", "--quiet", "--solo-check",
                          "--out-md", str(md)]) == 0
    text = md.read_text()
    assert "### Solo check" in text and "| longest identical run |" in text and "### Listening" in text
    capsys.readouterr()
    assert evaluate.main(["--data", str(tmp_path / "corpus.npz"), "--quiet", "--solo-tunes", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("srlive-eval: --solo-tunes") and err.count("\n") == 1


def _notes(*triples):
    return np.array([(p, s, e, 100) for p, s, e in triples], np.int64).reshape(-1, 4)


def test_rhythm_follows_counts_only_the_contexts_without_odd_onsets():
    even = [_notes((60, 0, 2), (62, 2, 4))] * 4
    odd = [_notes((60, 0, 1), (62, 1, 4))] + [_notes()] * 3
    answers = [_notes((60, 0, 1), (62, 1, 2), (64, 2, 4)),  # one of three onsets odd
               _notes((60, 1, 2)),  # all odd, after an odd context: left out
               _notes((60, 0, 4))]
    out = phrase_eval.rhythm_follows(answers, [even, odd, even])
    assert out == {"odd_after_even": pytest.approx(1 / 4), "even_contexts": 2}


def test_solo_returns_of_a_chain_that_comes_back_every_four_bars():
    from srlive.roll import notes_to_roll

    motifs = [notes_to_roll([(60 + 2 * k, 4 * j, 4 * j + 4, 100) for j in range(4)]) for k in range(4)]
    chain = np.stack([motifs[t % 4] for t in range(phrase_eval.SOLO_ANSWERS)])[None]
    out = phrase_eval.solo_returns(chain, 0.5)
    assert out == {"solo_returns_1": 0.0, "solo_returns_2": 0.0, "solo_returns_4": 1.0, "solo_returns_8": 1.0}
