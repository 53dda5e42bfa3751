"""A take, an answer or a stats file never replaces one that is there, unless --overwrite."""

from pathlib import Path

import mido

from srlive.cli import main
from srlive.takes.recorder import Recorder
from srlive.takes.takepath import claim, next_free

REPO = Path(__file__).resolve().parents[3]
TAKE = REPO / "srlive" / "data" / "example_take.mid"


def test_next_free_name_counts_on_from_2():
    there = {Path("take.mid"), Path("take-2.mid")}
    assert next_free("new.mid", there.__contains__) == Path("new.mid")
    assert next_free("take.mid", {Path("take.mid")}.__contains__) == Path("take-2.mid")
    assert next_free("take.mid", there.__contains__) == Path("take-3.mid")
    assert next_free("dir/s.json", {Path("dir/s.json")}.__contains__) == Path("dir/s-2.json")


def test_claim_says_where_it_goes_and_overwrite_keeps_the_name():
    said = []
    there = {Path("take.mid")}.__contains__
    assert claim("take.mid", False, "recording to", said.append, there) == Path("take-2.mid")
    assert said == ["take.mid exists; recording to take-2.mid (use --overwrite to replace it)"]
    assert claim("take.mid", True, "recording to", said.append, there) == Path("take.mid") and len(said) == 1
    assert claim("free.mid", False, "recording to", said.append, there) == Path("free.mid") and len(said) == 1


def test_a_file_that_appears_before_the_first_write_is_kept(tmp_path):
    said = []
    rec = Recorder(tmp_path / "take.mid", origin=0.0, log=said.append)
    (tmp_path / "take.mid").write_bytes(b"last night's take")
    rec.add("performer", 0.1, b"\x90\x3c\x40")
    rec.write(1.0)
    rec.write(2.0)  # its own file from then on: rewritten in place
    assert (tmp_path / "take.mid").read_bytes() == b"last night's take"
    assert rec.path == tmp_path / "take-2.mid" and mido.MidiFile(rec.path).tracks[1].name == "performer"
    assert said == [f"{tmp_path / 'take.mid'} appeared meanwhile; recording to {tmp_path / 'take-2.mid'}"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take-2.mid", "take.mid"]


def test_file_mode_twice_keeps_both_answers_and_stats_overwrite_replaces(tmp_path, capsys):
    out, stats = tmp_path / "answer.mid", tmp_path / "s.json"
    args = ["--in", str(TAKE), "--out", str(out), "--stats", str(stats), "--bars", "2", "--seed", "1"]
    assert main(args) == 0
    first = out.read_bytes()
    capsys.readouterr()
    assert main(args) == 0
    stdout, err = capsys.readouterr()
    assert out.read_bytes() == first and (tmp_path / "answer-2.mid").exists() and (tmp_path / "s-2.json").exists()
    assert f"srlive: {out} exists; writing the answer to {tmp_path / 'answer-2.mid'} (use --overwrite to replace it)" in err
    assert f"srlive: {stats} exists; writing the stats to {tmp_path / 's-2.json'}" in err
    assert f"wrote {tmp_path / 'answer-2.mid'}" in stdout
    assert main([*args, "--bars", "3", "--overwrite"]) == 0
    stdout, err = capsys.readouterr()
    assert "exists" not in err and f"wrote {out}" in stdout and out.read_bytes() != first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answer-2.mid", "answer.mid", "s-2.json", "s.json"]
