"""srlive-train, the command line (training/train.py), on a tiny synthetic corpus, CPU only."""

import csv
import re

import pytest
import torch

from run_helpers import corpus, one_thread, small  # noqa: F401 - one_thread is an autouse fixture
from srlive_training.checkpoint import load_checkpoint
from srlive_training.loop import run_training
from srlive_training.settings import TRAIN_PRESETS
from srlive_training.train import main


def _train_cli(tmp_path, steps: int, *extra: str):
    """srlive-train on the tiny corpus, validating every 2 steps: (exit code, output folder)."""
    data = tmp_path / "corpus.npz"
    corpus().save(data)
    out = tmp_path / "run"
    rc = main(["--config", "live", "--data", str(data), "--out", str(out), "--steps", str(steps), "--batch-size", "8",
                 "--val-every", "2", "--threads", "1", "--no-progress", *extra])
    return rc, out


def test_cli_trains_and_writes_log_png_and_checkpoints(tmp_path, capsys):
    rc, out = _train_cli(tmp_path, 4, "--seed", "1")
    assert rc == 0
    for name in ("last.pt", "best.pt", "train_log.csv", "loss_curves.png"):
        assert (out / name).stat().st_size > 0, name
    model, ckpt = load_checkpoint(out / "last.pt")
    assert ckpt["step"] == 4 and ckpt["config"]["name"] == "live"
    assert ckpt["train_config"] == TRAIN_PRESETS["live"].to_dict() | {"seed": 1, "batch_size": 8, "val_every": 2}
    assert ckpt["deviations"] == ["batch_size=8 (paper: 64)"]
    assert ckpt["data_summary"]["train_pairs"] > 0 and "deviations" in ckpt
    with open(out / "train_log.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["step"] for r in rows if r["val_key_fit"]] == ["2", "4"]
    assert all(float(r["bars_per_sec"]) > 0 for r in rows)
    assert "bars/s" in capsys.readouterr().err
    assert not list(out.glob("step-*.pt"))  # snapshots only when asked


def test_keep_every_keeps_snapshots_at_those_validations(tmp_path):
    rc, out = _train_cli(tmp_path, 6, "--keep-every", "4")
    assert rc == 0
    assert sorted(p.name for p in out.glob("step-*.pt")) == ["step-000004.pt"]
    model, ckpt = load_checkpoint(out / "step-000004.pt")
    assert ckpt["step"] == 4 and "val_score" in ckpt["val"]


@pytest.mark.parametrize("args, words", [
    (["--config", "nope"], "unknown preset"),
    (["--preset", "nope"], "unknown preset"),
    (["--data", "{tmp}/missing.npz"], "no corpus"),
    (["--out", "{tmp}/afile/sub"], "cannot write"),
    (["--steps", None], "how long"),
    (["--keep-every", "-1"], "--keep-every"),
])
def test_cli_user_mistakes_are_one_line_and_exit_2(tmp_path, capsys, args, words):
    data = tmp_path / "corpus.npz"
    corpus().save(data)
    (tmp_path / "afile").write_text("not a folder")
    argv = {"--config": "live", "--data": str(data), "--out": str(tmp_path / "o"), "--steps": "1"}
    for k, v in zip(args[::2], args[1::2]):
        argv[k] = v.format(tmp=tmp_path) if v is not None else None
    flat = [x for k, v in argv.items() if v is not None for x in (k, v)]
    assert main(flat + ["--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err and err.startswith("srlive-train:")


def test_resume_without_a_checkpoint_is_a_user_error(tmp_path, capsys):
    data = tmp_path / "corpus.npz"
    corpus().save(data)
    rc = main(["--data", str(data), "--out", str(tmp_path / "o"), "--steps", "1", "--resume", "--batch-size", "8",
                 "--no-progress"])
    assert rc == 2 and "nothing to resume" in capsys.readouterr().err


@pytest.mark.parametrize("make, words", [
    (lambda p: p / "nope.pt", "no such checkpoint"),
    (lambda p: (p / "junk.pt").write_bytes(b"not a checkpoint") and p / "junk.pt", "not a readable checkpoint"),
    (lambda p: torch.save({"model": {}}, p / "bare.pt") or p / "bare.pt", "not a training checkpoint"),
])
def test_init_from_a_bad_checkpoint_is_one_line_and_exit_2(tmp_path, capsys, make, words):
    rc, _ = _train_cli(tmp_path, 2, "--init-from", str(make(tmp_path)))
    err = capsys.readouterr().err
    assert rc == 2 and words in err and "Traceback" not in err


def test_init_from_a_checkpoint_of_another_model_config_names_the_config_to_use(tmp_path, capsys):
    paper = run_training(corpus(), small(config="paper", batch_size=4), tmp_path / "paper", steps=1, progress=False)
    assert paper.step == 1
    rc, _ = _train_cli(tmp_path, 2, "--init-from", str(tmp_path / "paper" / "last.pt"))
    err = capsys.readouterr().err
    assert rc == 2 and "use --preset paper" in err


def test_help_lists_every_preset_the_step_decoders_and_the_papers(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    words = re.sub(r"-\s+", "-", " ".join(capsys.readouterr().out.split()))  # argparse wraps at hyphens
    for name in ("phrase", "phrase-triple", "paper", "live"):
        assert name in words


def test_a_setting_of_a_retired_experiment_is_one_line_naming_the_settings_there_are(tmp_path, capsys):
    rc, _ = _train_cli(tmp_path, 1, "--set", "structure_weight=30")
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "structure_weight" in err and "feature_weight" in err
