"""Corpus preparation: bars exactly as docs/design.md's roll, meters, chords, splits, cache, CLI.

Tiny inputs only: ABC tunes written to tmp_path, .mid files made with pretty_midi, and the
two-tune nottingham-dataset file of music21's corpus.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from srlive.roll import LOWEST_PITCH
from srlive_training import bar_cutting, prepare
from srlive_training.abc import split_abc
from srlive_training.chords import chord_track, voice_chord
from srlive_training.corpus import BarCorpus
from srlive_training.tune_parsing import SourceFile

pretty_midi = pytest.importorskip("pretty_midi")
pytest.importorskip("music21")

# Pickup G (skipped), then two 4/4 bars with chord symbols and a tie across the bar line.
HAND_TUNE = """X:1
T:Hand checked
M:4/4
L:1/8
K:C
G|"C"c2 e2 g4-|"G7"g2 d2 B2 G2|]
"""


def row(pitch: int) -> int:
    return pitch - LOWEST_PITCH


def abc_file(tmp_path, text: str, name: str = "t.abc", collection: str = "test") -> SourceFile:
    path = tmp_path / name
    path.write_text(text)
    return SourceFile(collection, name, path, "abc")


def build(files, seed: int = 0, workers: int = 1) -> BarCorpus:
    settings = prepare.settings_dict(["test"], None, seed)
    return prepare.build_corpus(files, settings, key="test", workers=workers, progress=False)


def write_midi(path, notes, tempo=120.0, time_signature=None):
    """notes: (pitch, start quarter, end quarter, velocity)."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    if time_signature:
        pm.time_signature_changes.append(pretty_midi.TimeSignature(*time_signature, 0.0))
    inst = pretty_midi.Instrument(program=0)
    spq = 60.0 / tempo
    for p, s, e, v in notes:
        inst.notes.append(pretty_midi.Note(velocity=v, pitch=p, start=s * spq, end=e * spq))
    pm.instruments.append(inst)
    pm.write(str(path))


# ------------------------------------------------------------------ rolls, chords, meters


def test_hand_checked_tune_gives_exact_rolls(tmp_path):
    corpus = build([abc_file(tmp_path, HAND_TUNE)])
    expected = np.zeros((2, 88, 16), dtype=np.uint8)
    # bar 0: c e g(tied on) over a C chord; the pickup G is not in any bar
    expected[0, row(72), 0:4] = 90
    expected[0, row(76), 4:8] = 90
    expected[0, row(79), 8:16] = 90
    for p in (48, 52, 55):
        expected[0, row(p), :] = 70
    # bar 1: the tied g sounds on from step 0, then d B G, over G7 = G3 B3 D4 F4
    expected[1, row(79), 0:4] = 90
    expected[1, row(74), 4:8] = 90
    expected[1, row(71), 8:12] = 90
    expected[1, row(67), 12:16] = 90
    for p in (55, 59, 62, 65):
        expected[1, row(p), :] = np.maximum(expected[1, row(p), :], 70)
    assert corpus.names == ["test/t.abc#1"]
    np.testing.assert_array_equal(corpus.bars, expected)
    rolls = corpus.rolls(np.arange(2))
    assert rolls.dtype == np.float32 and rolls.max() == pytest.approx(90 / 127)
    s = corpus.summary
    assert s["velocities"]["melody"] == 90 and s["velocities"]["chords"] == 70
    assert s["per_collection"]["test"]["chord_symbols"] == 2
    assert s["per_collection"]["test"]["tunes_with_chords"] == 1


def test_voicing_is_closed_root_position_around_c3():
    assert voice_chord(2, [2, 6, 9]) == [50, 54, 57]  # D
    assert voice_chord(9, [0, 4, 9]) == [57, 60, 64]  # Am/c voiced from its root
    assert voice_chord(7, [7, 11, 2, 5]) == [55, 59, 62, 65]  # G7
    assert all(48 <= v[0] <= 59 for v in (voice_chord(r, [r]) for r in range(12)))


def test_chord_lasts_until_next_symbol_or_no_chord_or_end():
    notes = chord_track([(4.0, 7, (7, 11, 2)), (0.0, 0, (0, 4, 7)), (2.0, None, ()), (3.0, 0, (0, 4, 7))], 6.0, 70)
    spans = sorted({(s, e) for _, s, e, _ in notes})
    assert spans == [(0.0, 2.0), (3.0, 4.0), (4.0, 6.0)]  # nothing sounds during the N.C.
    assert {v for *_, v in notes} == {70}


def test_chord_restruck_at_each_bar_start(tmp_path):
    tune = 'X:1\nT:x\nM:2/4\nL:1/8\nK:C\n"F"c2 c2|c2 c2|c2 c2|c2 c2|]\n'
    corpus = build([abc_file(tmp_path, tune)])
    assert len(corpus.bars) == 2  # 2/4 tune: two measures per bar
    for b in corpus.bars:  # F chord (F3 A3 C4) from step 0 to the end of each bar
        for p in (53, 57, 60):
            assert (b[row(p)] == 70).all()


@pytest.mark.parametrize(
    "meter, reason",
    [("6/8", "meter 6/8"), ("3/4", "meter 3/4"), ("none", "no meter")],
)
def test_odd_meters_are_dropped_and_counted(tmp_path, meter, reason):
    body = "c2 d2 e2|f2 g2 a2|b2 c'2 d'2|e'6|]\n"
    tunes = f"X:1\nT:odd\nM:{meter}\nL:1/8\nK:C\n{body}\nX:2\nT:even\nM:2/4\nL:1/8\nK:C\ncdef|gabc'|d'e'f'g'|]\n"
    corpus = build([abc_file(tmp_path, tunes)])
    assert corpus.names == ["test/t.abc#2"]
    assert corpus.summary["per_collection"]["test"]["dropped"] == {reason: 1}


def test_tune_without_a_full_measure_is_dropped_not_failed(tmp_path):
    # no L: in 2/4 means sixteenths (ABC's default), so every measure is half a 2/4 bar
    tune = "X:1\nT:x\nM:2/4\nK:D\nA|dd/f/ e/d/c/B/|AA AF|D/F/A/F/ D/F/A/F/|GF/G/ EA|]\n"
    corpus = build([abc_file(tmp_path, tune)])
    assert corpus.n_tunes == 0 and corpus.summary["failed"] == 0
    assert corpus.summary["per_collection"]["test"]["dropped"] == {"no full measure": 1}


def test_long_meter_measures_split_into_two_bars(tmp_path):
    tune = "X:1\nT:x\nM:4/2\nL:1/4\nK:C\nc2 d2 e2 f2|g8|]\n"  # 8 quarters per measure
    corpus = build([abc_file(tmp_path, tune)])
    assert len(corpus.bars) == 4
    assert (corpus.bars[3, row(79)] == 90).all() and (corpus.bars[2, row(79)] == 90).all()
    assert (corpus.bars[0, row(72), :8] == 90).all() and (corpus.bars[1, row(76), :8] == 90).all()


def test_windows_follow_bar_lines_through_endings_and_pickups():
    # pickup, 2 bars, a 3-beat first ending, a full second ending, one more bar
    ms = [(0, 1, 4), (1, 4, 4), (5, 4, 4), (9, 3, 4), (12, 4, 4), (16, 4, 4)]
    assert bar_cutting.window_starts(ms, 20) == [1, 5, 9, 16]
    # an end-of-part 3-beat measure plus the next part's 1-beat pickup make one bar
    ms = [(0, 1, 4), (1, 4, 4), (5, 3, 4), (8, 1, 4), (9, 4, 4)]
    assert bar_cutting.window_starts(ms, 13) == [1, 5, 9]
    assert bar_cutting.window_starts([(0, 8, 8), (8, 8, 8)], 16) == [0, 4, 8, 12]
    assert bar_cutting.window_starts([(0, 2, 2), (2, 2, 2), (4, 2, 2), (6, 2, 2)], 8) == [0, 4]
    assert bar_cutting.window_starts([(0, 3, 3), (3, 3, 3)], 6) == []  # no bar of an allowed meter


def test_split_abc_keeps_every_tune_whole():
    text = "%abc\nL:1/8\n\nX:1\nT:a\nK:C\nCDEF|\n\nX:2\nT:b\nL:1/4\nK:G\nGABc|\n"
    tunes = split_abc(text)
    assert len(tunes) == 2
    assert tunes[0].startswith("X:1\nL:1/8\nT:a") and "CDEF|" in tunes[0] and "GABc" not in tunes[0]
    assert tunes[1].startswith("X:2\nL:1/8") and tunes[1].rstrip().endswith("GABc|")


def test_midi_note_across_bar_line_sounds_in_both_bars(tmp_path):
    path = tmp_path / "m.mid"
    # quantised to the nearest sixteenth: 0.1 -> step 0, 2.95 -> step 12
    write_midi(path, [(60, 0.1, 1.0, 100), (64, 2.95, 5.0, 50), (67, 6.0, 8.0, 127)], tempo=97)
    f = SourceFile("midi:x", "m.mid", path, "midi")
    corpus = build([f])
    expected = np.zeros((2, 88, 16), dtype=np.uint8)
    expected[0, row(60), 0:4] = 100
    expected[0, row(64), 12:16] = 50
    expected[1, row(64), 0:4] = 50
    expected[1, row(67), 8:16] = 127
    np.testing.assert_array_equal(corpus.bars, expected)


def test_midi_in_three_four_is_dropped(tmp_path):
    path = tmp_path / "w.mid"
    write_midi(path, [(60 + k, k, k + 1, 80) for k in range(12)], time_signature=(3, 4))
    corpus = build([SourceFile("midi:x", "w.mid", path, "midi")])
    assert corpus.n_tunes == 0
    assert corpus.summary["per_collection"]["midi:x"]["dropped"] == {"meter 3/4": 1}


# ------------------------------------------------------------------ tunes, pairs, splits


def many_tunes_text(n: int) -> str:
    """n different 2/4 tunes of 5 to 9 measures."""
    out = []
    for i in range(n):
        letters = np.random.default_rng(i).choice(list("CDEFGABcdefg"), size=(4 + i % 5, 4))
        body = "|".join("".join(m) for m in letters)
        out.append(f"X:{i + 1}\nT:t{i}\nM:2/4\nL:1/8\nK:C\n{body}|z2 c2|]\n")
    return "\n".join(out)


def test_pairs_stay_within_one_tune_and_no_tune_in_two_splits(tmp_path):
    corpus = build([abc_file(tmp_path, many_tunes_text(40))])
    assert corpus.n_tunes > 20 and len(set(corpus.names)) == corpus.n_tunes
    all_pairs = []
    for split in ("train", "val", "test"):
        p = corpus.pairs(split)
        assert (corpus.tune[p] == corpus.tune[p + 1]).all()
        assert (corpus.split[corpus.tune[p]] == prepare.SPLITS[split]).all()
        all_pairs.append(p)
    joined = np.concatenate(all_pairs)
    assert len(joined) == len(set(joined.tolist())) == len(corpus.bars) - corpus.n_tunes
    # each tune's split depends on its name only
    assert corpus.split.tolist() == [bar_cutting.split_of(n) for n in corpus.names]
    assert set(corpus.split.tolist()) <= {0, 1, 2}


def test_split_is_roughly_90_5_5_and_salted_by_seed():
    names = [f"c/f.abc#{i}" for i in range(4000)]
    splits = np.array([bar_cutting.split_of(n) for n in names])
    share = np.bincount(splits, minlength=3) / len(names)
    assert abs(share[0] - 0.90) < 0.02 and abs(share[1] - 0.05) < 0.015 and abs(share[2] - 0.05) < 0.015
    assert [bar_cutting.split_of(n, seed=1) for n in names] != splits.tolist()


def test_duplicate_tunes_across_collections_are_kept_once(tmp_path):
    tune = "X:1\nT:a\nM:4/4\nL:1/8\nK:C\ncdef gabc'|c'bag fedc|]\n"
    transposed = "X:1\nT:a in D\nM:4/4\nL:1/8\nK:D\ndefg abc'd'|d'c'ba gfed|]\n"  # F#, C# from K:D
    other = "X:1\nT:b\nM:4/4\nL:1/8\nK:C\nc2c2 c2c2|e2e2 e2e2|]\n"
    files = [abc_file(tmp_path, tune, "a.abc", "one"), abc_file(tmp_path, transposed + "\n" + other.replace("X:1", "X:2"), "b.abc", "two")]
    corpus = build(files)
    assert corpus.names == ["one/a.abc#1", "two/b.abc#2"]
    assert corpus.summary["per_collection"]["two"]["dropped"] == {"duplicate": 1}
    assert corpus.summary["duplicate_examples"] == [["two/b.abc#1", "one/a.abc#1"]]


def test_a_tune_that_fails_to_parse_is_skipped_and_named(tmp_path, monkeypatch):
    import srlive_training.abc as abc

    real = abc.parse_abc_tune

    def flaky(text):
        if "T:bad" in text:
            raise ValueError("cannot read this")
        return real(text)

    monkeypatch.setattr(abc, "parse_abc_tune", flaky)
    text = many_tunes_text(3).replace("T:t1\n", "T:bad\n")
    corpus = build([abc_file(tmp_path, text)])
    assert corpus.names == ["test/t.abc#1", "test/t.abc#3"]
    s = corpus.summary
    assert s["failed"] == 1 and s["per_collection"]["test"]["failed"] == 1
    assert s["failures"] == [{"name": "test/t.abc#2", "error": "ValueError: cannot read this"}]


# ------------------------------------------------------------------ prepare, cache, CLI


@pytest.fixture
def midi_dir(tmp_path):
    d = tmp_path / "midi"
    (d / "sub").mkdir(parents=True)
    write_midi(d / "one.mid", [(60 + (k % 7), k * 0.5, k * 0.5 + 0.5, 60 + k) for k in range(20)])
    write_midi(d / "sub" / "two.MID", [(48 + (k % 5), k, k + 2, 90) for k in range(10)])
    (d / "broken.mid").write_bytes(b"MThd this is not a midi file")
    (d / "notes.txt").write_text("ignored")
    return d


def test_prepare_caches_skips_corrupt_files_and_is_deterministic(tmp_path, midi_dir):
    kw = dict(sources=["nottingham"], midi_dirs=[midi_dir], workers=1, progress=False)
    a = prepare.prepare(cache_dir=tmp_path / "c1", **kw)
    b = prepare.prepare(cache_dir=tmp_path / "c2", **{**kw, "workers": 2})  # the process pool path
    assert a.summary["key"] == b.summary["key"]
    for field in ("bars", "tune", "split"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert a.names == b.names
    s = a.summary
    assert s["sources"] == ["nottingham-dataset", "midi:midi"]
    assert s["per_collection"]["nottingham-dataset"]["tunes_kept"] == 2
    assert s["per_collection"]["nottingham-dataset"]["chord_symbols"] > 10
    assert s["per_collection"]["midi:midi"]["files"] == 3
    assert s["failed"] == 1 and s["failures"][0]["name"] == "midi:midi/broken.mid"
    assert a.names[-2:] == ["midi:midi/one.mid", "midi:midi/sub/two.MID"]
    assert sum(v["tunes"] for v in s["per_split"].values()) == a.n_tunes == s["tunes"]
    path = prepare.cache_path(tmp_path / "c1", s["key"])
    assert path.exists() and json.loads(path.with_suffix(".json").read_text())["key"] == s["key"]
    splits = json.loads(path.with_suffix(".splits.json").read_text())
    assert sorted(sum(splits.values(), [])) == sorted(a.names)
    loaded = BarCorpus.load(path)
    np.testing.assert_array_equal(loaded.bars, a.bars)
    # settings are part of the key
    c = prepare.load_corpus(cache_dir=tmp_path / "c1", **{**kw, "seed": 1})
    assert c.summary["key"] != s["key"]


def test_load_corpus_reuses_the_cache_without_parsing(tmp_path, midi_dir, monkeypatch):
    kw = dict(sources=(), midi_dirs=[midi_dir], cache_dir=tmp_path, workers=1, progress=False)
    first = prepare.load_corpus(**kw)

    def no_parsing(*a, **k):
        raise AssertionError("parsed again")

    monkeypatch.setattr(prepare, "parse_all", no_parsing)
    again = prepare.load_corpus(**kw)
    np.testing.assert_array_equal(again.bars, first.bars)
    assert again.summary["key"] == first.summary["key"]
    with pytest.raises(AssertionError, match="parsed again"):  # prepare (srlive-prepare --force) always parses
        prepare.prepare(**kw)
    (midi_dir / "one.mid").write_bytes((midi_dir / "sub" / "two.MID").read_bytes())  # an input changed
    with pytest.raises(AssertionError, match="parsed again"):
        prepare.load_corpus(**kw)


def test_max_tunes_limits_each_collection(tmp_path):
    corpus = prepare.build_corpus([abc_file(tmp_path, many_tunes_text(10))],
                               prepare.settings_dict(["test"], 3, 0), "k", workers=1)
    assert corpus.summary["per_collection"]["test"]["tunes_found"] == 3


def test_cli_prints_counts_and_user_mistakes_exit_2(tmp_path, midi_dir, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert prepare.main(["--sources", "--midi-dir", str(midi_dir), "--cache-dir", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "midi:midi" in out and "split train" in out and str(tmp_path) in out
    for argv, word in [(["--sources", "bogus"], "bogus"), (["--midi-dir", str(tmp_path / "nope")], "nope"),
                       (["--sources", "--midi-dir", str(empty)], "no .mid files")]:
        assert prepare.main(argv + ["--cache-dir", str(tmp_path), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("srlive-prepare: ") and word in err and err.count("\n") == 1


def test_preview_draws_one_png_per_collection(tmp_path, midi_dir):
    pytest.importorskip("srlive_training.plots")
    argv = ["--sources", "--midi-dir", str(midi_dir), "--cache-dir", str(tmp_path), "--quiet"]
    assert prepare.main(argv + ["--preview", str(tmp_path / "png")]) == 0
    assert [p.name for p in (tmp_path / "png").iterdir()] == ["midi_midi.png"]
    assert (tmp_path / "png" / "midi_midi.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cache_dir_defaults_to_env(monkeypatch, tmp_path):
    monkeypatch.setenv("SRLIVE_CACHE", str(tmp_path))
    assert prepare.default_cache_dir() == tmp_path
    monkeypatch.delenv("SRLIVE_CACHE")
    assert prepare.default_cache_dir().parts[-2:] == (".cache", "srlive")
