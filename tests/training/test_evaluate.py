"""srlive-eval on a tiny corpus and a random-init checkpoint: every row and column, baselines
that behave as they must."""

import json
import math

import numpy as np
import pytest
from tiny_corpus import random_checkpoint, tiny_corpus

from srlive_training import evaluate
from srlive_training import metrics

N = 40


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    d = tmp_path_factory.mktemp("eval")
    tiny_corpus().save(d / "corpus.npz")
    random_checkpoint(d / "rand.pt")
    md, js = d / "eval.md", d / "eval.json"
    rc = evaluate.main(["--data", str(d / "corpus.npz"), "--checkpoint", str(d / "rand.pt"), "--name", "randinit",
                 "--samples", str(N), "--from-noise", "--out-md", str(md), "--out-json", str(js), "--quiet"])
    assert rc == 0
    return md.read_text(), json.loads(js.read_text())


def test_table_has_every_row_and_column(result):
    md, js = result
    names = [r["name"] for r in js["rows"]]
    assert names == ["held-out real music", "randinit (from a real bar)", "randinit (from noise)",
                     "baseline: random training bar", "baseline: repeat previous bar"]
    header = next(line for line in md.splitlines() if line.startswith("| row |"))
    for _, title, _ in evaluate.COLUMNS:
        assert title in header
    for name in names + ["*paper (published)*"]:
        assert f"| {name} |" in md
    for key in metrics.PAPER_MEASURES + metrics.MUSEGAN_MEASURES + ("key_fit", "empty_answers", "context_sensitivity"):
        assert js["rows"][1][key] is not None, key
    assert "C-RNN-GAN" in md and "ORGAN 0.551" in md
    assert js["settings"]["samples"] == N


def test_real_music_and_baselines_behave(result):
    rows = {r["name"]: r for r in result[1]["rows"]}
    real, rand = rows["held-out real music"], rows["baseline: random training bar"]
    repeat = rows["baseline: repeat previous bar"]
    # every tune of the tiny corpus is in one major scale (4 context bars may not show all seven
    # pitch classes, so other scales can tie with it and the key fit falls a little short of 1)
    assert real["scale_consistency"] == 1.0 and real["key_fit"] > 0.9
    assert real["empty_bars"] == 0.0 and real["empty_answers"] == 0.0
    # the real continuation of another tune, in another key, does not fit
    assert real["context_sensitivity"] > 0.25
    # repeating the previous bar is as sensitive to it as can be; a random bar is not at all
    assert repeat["key_fit"] == 1.0 and repeat["context_sensitivity"] > 0.25
    assert rand["context_sensitivity"] == 0.0 and rand["key_fit"] < 0.8
    assert repeat["recurrence"] > real["recurrence"] and repeat["uniqueness"] < real["uniqueness"]
    # the bar repeated has the notes of the bar heard; a five-bar repeat keeps its pace exactly
    assert repeat["notes_follow"] == pytest.approx(1.0) and repeat["pace_kept"] == pytest.approx(1.0)
    assert abs(rand["notes_follow"]) < 0.5


PHRASE_CHECKS = {"sounding_steps", "kept_cells", "new_pitches", "profile_distance", "downbeat", "odd_steps"}


def test_verdict_checks_the_phrase_targets_against_the_music(result):
    _, js = result
    real = js["rows"][0]
    fake = dict(real, kind="model", key_fit=0.95, context_sensitivity=0.3, sounding_steps=0.9)
    assert all(evaluate.verdict(fake, real)[k]["ok"] for k in PHRASE_CHECKS)
    for key, value in (("sounding_steps", 0.84), ("kept_cells", real["kept_cells"] + 0.11),
                       ("new_pitches", real["new_pitches"] - 0.11), ("profile_distance", 0.11),
                       ("downbeat", real["downbeat"] * 0.79), ("odd_steps", real["odd_steps"] + 0.06),
                       ("notes", real["notes"] * 1.11)):
        assert not evaluate.verdict(dict(fake, **{key: value}), real)[key]["ok"], key
    md, _ = result
    assert "| profile TV |" in md and "| downbeat % |" in md and "| notes |" in md


def test_verdict_checks_the_targets(result):
    md, js = result
    v = js["verdicts"]["randinit (from a real bar)"]
    assert set(v) == set(evaluate.RELATIVE_CHECKS) | {"empty_bars", "key_fit", "context_sensitivity"} | PHRASE_CHECKS
    assert not v["key_fit"]["ok"] and not v["context_sensitivity"]["ok"]  # a random model can't pass
    assert "key_fit" not in js["verdicts"]["randinit (from noise)"]
    assert "Targets for randinit (from a real bar)" in md
    real = js["rows"][0]
    fake = dict(real, kind="model", key_fit=0.95, context_sensitivity=0.3, sounding_steps=0.9)
    fake["tone_span"] = real["tone_span"] * 1.09
    fake["empty_bars"] = real["empty_bars"] + 0.049
    assert all(c["ok"] for c in evaluate.verdict(fake, real).values())
    fake["uniqueness"] = real["uniqueness"] * 0.89
    fake["key_fit"] = math.nan
    checks = evaluate.verdict(fake, real)
    assert not checks["uniqueness"]["ok"] and not checks["key_fit"]["ok"]


def test_protocol_transposes_and_never_borrows_from_the_same_tune():
    corpus = tiny_corpus()
    proto = evaluate.build_protocol(corpus, 20, 30, np.random.default_rng(0))
    assert proto.samples.shape == (20, 5, 88, 16) and proto.context.shape == (30, 4, 88, 16)
    # the previous bar fed in the true case is the last context bar; contexts come in many keys
    roots = {int(np.argmax(p @ metrics.SCALE_MASKS.T)) for p in proto.profiles}
    assert len(roots) > 3
    # the foreign bars and their continuations are real consecutive bars (notes, not silence)
    assert proto.foreign_prev.reshape(30, -1).any(1).all() and proto.foreign_next.reshape(30, -1).any(1).all()


def test_missing_data_is_one_line(tmp_path, capsys):
    assert evaluate.main(["--data", str(tmp_path / "nope.npz"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("srlive-eval: ") and err.count("\n") == 1


def test_a_model_of_another_bar_width_is_one_line(tmp_path, capsys):
    from srlive.model.runtime import default_model_path

    tiny_corpus().save(tmp_path / "corpus.npz")
    triple = default_model_path().parent / "triple"
    assert evaluate.main(["--data", str(tmp_path / "corpus.npz"), "--checkpoint", str(triple), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "answers bars of 12 steps, the corpus holds bars of 16 steps" in err


def test_rows_do_not_depend_on_the_other_rows(result):
    with_models = {r["name"]: r for r in result[1]["rows"]}
    alone = {r["name"]: r for r in evaluate.evaluate(tiny_corpus(), [], n_samples=N, seed=0)["rows"]}
    assert list(alone) == ["held-out real music", "baseline: random training bar", "baseline: repeat previous bar"]
    for name, row in alone.items():
        for key in metrics.PAPER_MEASURES + metrics.MUSEGAN_MEASURES + ("key_fit", "context_sensitivity"):
            assert row[key] == pytest.approx(with_models[name][key], nan_ok=True), (name, key)
    other = evaluate.evaluate(tiny_corpus(), [], n_samples=N, seed=5)["rows"][0]
    assert other["diversity"] != alone["held-out real music"]["diversity"]


def test_each_model_is_measured_at_its_own_temperature_unless_one_is_given():
    """A runner whose answer records the temperature it was asked for: the table uses the model's
    own (an exported model's srlive.temperature) by default, and --temperature over it."""

    class Recording:
        def __init__(self, name, temperature):
            self.name, self.temperature, self.asked = name, temperature, set()

        def answer(self, prev, rng, temperature=1.0):
            self.asked.add(temperature)
            return np.asarray(prev, np.float32)

    warm, plain = Recording("warm", 1.35), Recording("plain", 1.0)
    res = evaluate.evaluate(tiny_corpus(), [warm, plain], n_samples=8, seed=0)
    assert warm.asked == {1.35} and plain.asked == {1.0}
    assert res["settings"]["temperature"] == "each model's own"
    assert {r["name"]: r["temperature"] for r in res["rows"] if r["kind"] == "model"} == {
        "warm (from a real bar)": 1.35, "plain (from a real bar)": 1.0}
    warm.asked.clear()
    res = evaluate.evaluate(tiny_corpus(), [warm], n_samples=8, seed=0, temperature=0.5)
    assert warm.asked == {0.5} and res["settings"]["temperature"] == 0.5



def test_lever_rows_choose_among_candidates_and_say_how(tmp_path, capsys):
    tiny_corpus().save(tmp_path / "corpus.npz")
    random_checkpoint(tmp_path / "rand.pt")
    js = tmp_path / "eval.json"
    rc = evaluate.main(["--data", str(tmp_path / "corpus.npz"), "--checkpoint", str(tmp_path / "rand.pt"), "--name", "r",
                        "--samples", "12", "--levers", "--selection", "copy=2", "--out-json", str(js), "--quiet"])
    assert rc == 0
    rows = {r["name"]: r for r in json.loads(js.read_text())["rows"] if r["kind"] == "model"}
    assert list(rows) == [f"r [{lever}] (from a real bar)" for lever in ("one candidate", "critic only", "motif only",
                                                                          "all terms")]
    assert rows["r [one candidate] (from a real bar)"]["candidates"] == 1
    critic = rows["r [critic only] (from a real bar)"]
    assert critic["candidates"] == evaluate.LEVER_CANDIDATES
    assert critic["selection"] == {"critic": 1.0, "motif": 0.0, "density": 0.0, "length": 0.0, "copy": 2.0}
    assert rows["r [all terms] (from a real bar)"]["selection"]["motif"] == 1.0
    # the rows differ because the choices do: the same model, noise and bars
    assert rows["r [one candidate] (from a real bar)"]["notes"] != rows["r [critic only] (from a real bar)"]["notes"]
    for bad, says in ((["--candidates", "0"], "--candidates 0"), (["--selection", "groove=1"], "unknown weight")):
        rc = evaluate.main(["--data", str(tmp_path / "corpus.npz"), "--checkpoint", str(tmp_path / "rand.pt"),
                            "--samples", "4", "--quiet", *bad])
        err = capsys.readouterr().err.strip()
        assert rc == 2 and says in err and "\n" not in err
