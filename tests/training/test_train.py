"""srlive-train, the command line (training/train.py), on a tiny synthetic corpus, CPU only."""

import csv

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
    assert ckpt["train_config"]["recon_weight"] == TRAIN_PRESETS["live"].recon_weight
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


def test_a_checkpoint_of_one_pitch_a_step_does_not_fine_tune_back_into_cells_and_says_so(tmp_path, capsys):
    step = run_training(corpus(), small(config="live-step-pitch", batch_size=4), tmp_path / "step", steps=1,
                        progress=False)
    assert step.step == 1
    corpus().save(tmp_path / "corpus.npz")
    rc = main(["--preset", "live-steps", "--data", str(tmp_path / "corpus.npz"), "--out", str(tmp_path / "o"),
               "--steps", "2", "--batch-size", "8", "--threads", "1", "--no-progress",
               "--init-from", str(tmp_path / "step" / "last.pt")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and "use --preset live-step-pitch" in err[-1] and "Traceback" not in "\n".join(err)


@pytest.mark.parametrize("extra,says", [((), "--set context=2"),  # into one bar
                                        (("--set", "context=2", "--set", "memory=4"), "--set memory=0")])  # into memory
def test_a_checkpoint_hearing_the_bar_before_fine_tunes_only_into_that_and_says_what_to_set(tmp_path, capsys, extra,
                                                                                              says):
    two = run_training(corpus(), small(context=2, batch_size=4), tmp_path / "two", steps=1, progress=False)
    assert two.step == 1
    rc, _ = _train_cli(tmp_path, 2, *extra, "--init-from", str(tmp_path / "two" / "last.pt"))
    err = capsys.readouterr().err
    assert rc == 2 and says in err.strip().splitlines()[-1] and "Traceback" not in err


def test_context_other_than_one_or_two_bars_is_one_line(tmp_path, capsys):
    rc, _ = _train_cli(tmp_path, 1, "--set", "context=3")
    err = capsys.readouterr().err
    assert rc == 2 and "context=3" in err and "1 or 2" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("extra,says", [(("--set", "memory=9"), "1 to 8"),
                                        (("--set", "memory=4"), "--set context=2"),
                                        (("--set", "memory_kind=tune"), "bars or rhythm")])
def test_a_memory_srlive_cannot_hear_is_one_line(tmp_path, capsys, extra, says):
    rc, _ = _train_cli(tmp_path, 1, *extra)
    err = capsys.readouterr().err
    assert rc == 2 and says in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_an_own_answer_chain_longer_than_eight_is_one_line(tmp_path, capsys):
    rc, _ = _train_cli(tmp_path, 1, "--set", "own_prev_steps=9")
    err = capsys.readouterr().err
    assert rc == 2 and "own_prev_steps=9" in err and "1 to 8" in err and len(err.strip().splitlines()) == 1
