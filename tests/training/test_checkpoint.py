"""Checkpoints hold plain data only (training/checkpoint.py): a file holding any other Python object
is refused by every command that opens one, before the object can run; the older format (the
config dataclasses pickled) still loads, and converts to plain data."""

import os

import pytest
import torch

from run_helpers import corpus, one_thread  # noqa: F401 - one_thread is an autouse fixture
from tiny_corpus import tiny_corpus
from srlive_training import checkpoint, evaluate, sample, train
from srlive_training.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from srlive_training.config import LIVE
from srlive_training.model import VAEGAN
from srlive_training.settings import TRAIN_PRESETS


class MakesAFolder:
    """Unpickled with weights_only=False this would create a folder: code run by opening a file."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (os.mkdir, (self.path,))


@pytest.fixture
def files(tmp_path):
    """(tmp_path, a checkpoint holding a MakesAFolder object, the folder it would make, a corpus)."""
    torch.manual_seed(0)
    model = VAEGAN(LIVE)
    marker = tmp_path / "code-ran"
    bad = tmp_path / "bad.pt"
    torch.save({"config": LIVE.to_dict(), "model": model.state_dict(), "optimizers": {}, "step": 1,
                "extra": MakesAFolder(marker)}, bad)
    data = tmp_path / "corpus.npz"
    corpus().save(data)
    return tmp_path, bad, marker, data


def _one_line_exit_2(rc, capsys, prog):
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert err and err[-1].startswith(f"{prog}: ") and "refused" in err[-1] and "Traceback" not in "\n".join(err)
    return err


def test_every_command_refuses_a_checkpoint_holding_a_python_object(files, capsys):
    tmp, bad, marker, data = files
    export_cli = pytest.importorskip("srlive_export.cli")
    rc = export_cli.main([str(bad), "--out", str(tmp / "exported"), "--n-real", "0", "--n-random", "8"])
    assert len(_one_line_exit_2(rc, capsys, "srlive-export")) == 1
    rc = evaluate.main(["--data", str(data), "--checkpoint", str(bad), "--samples", "4", "--quiet"])
    assert len(_one_line_exit_2(rc, capsys, "srlive-eval")) == 1
    rc = sample.main(["--checkpoint", str(bad), "--start", "noise", "--out", str(tmp / "x.mid")])
    assert len(_one_line_exit_2(rc, capsys, "srlive-sample")) == 1
    common = ["--data", str(data), "--steps", "2", "--batch-size", "8", "--threads", "1", "--no-progress"]
    rc = train.main(common + ["--out", str(tmp / "tuned"), "--init-from", str(bad)])
    err = _one_line_exit_2(rc, capsys, "srlive-train")
    assert "--init-from" in err[-1]
    (tmp / "run").mkdir()
    (tmp / "run" / "last.pt").write_bytes(bad.read_bytes())
    rc = train.main(common + ["--out", str(tmp / "run"), "--resume"])
    err = _one_line_exit_2(rc, capsys, "srlive-train")  # after the line that says what the run is
    assert "last.pt" in err[-1] and len(err) == 2 and "refused" not in err[0]
    assert not marker.exists()  # nothing of the file ran
    assert not (tmp / "exported").exists()


def _old_format(path, seed=0):
    """A checkpoint as this project wrote it before: the ModelConfig and TrainConfig pickled whole."""
    torch.manual_seed(seed)
    model = VAEGAN(LIVE)
    torch.save({"config": LIVE, "model": model.state_dict(), "train_config": TRAIN_PRESETS["live"], "step": 3,
                "val": {"val_score": 0.5}}, path)
    return model


def test_an_old_format_checkpoint_still_loads_and_converts_to_plain_data(tmp_path, capsys):
    model = _old_format(tmp_path / "old.pt")
    loaded, ckpt = load_checkpoint(tmp_path / "old.pt")
    assert ckpt["config"] == LIVE.to_dict() and ckpt["train_config"] == TRAIN_PRESETS["live"].to_dict()
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in model.state_dict().items())
    with pytest.raises(Exception):  # plain torch.load with weights_only refuses the dataclasses
        torch.load(tmp_path / "old.pt", weights_only=True)
    assert checkpoint.main(["convert", str(tmp_path / "old.pt"), str(tmp_path / "new.pt")]) == 0
    plain = torch.load(tmp_path / "new.pt", weights_only=True)  # no project class needed any more
    assert plain["config"] == LIVE.to_dict() and plain["step"] == 3 and plain["val"] == {"val_score": 0.5}
    assert all(torch.equal(v, plain["model"][k]) for k, v in model.state_dict().items())


def test_an_old_format_checkpoint_samples(tmp_path, capsys):
    _old_format(tmp_path / "old.pt")
    data = tmp_path / "corpus.npz"
    tiny_corpus().save(data)
    assert sample.main(["--checkpoint", str(tmp_path / "old.pt"), "--data", str(data), "--bars", "2",
                        "--out", str(tmp_path / "take.mid")]) == 0


def test_written_checkpoints_are_plain_data(tmp_path):
    save_checkpoint(tmp_path / "c.pt", VAEGAN(LIVE), step=2, train_config=TRAIN_PRESETS["live"].to_dict())
    plain = torch.load(tmp_path / "c.pt", weights_only=True)
    assert isinstance(plain["config"], dict) and plain["train_config"]["config"] == "live"
    assert read_checkpoint(tmp_path / "c.pt")["step"] == 2


def test_converting_a_missing_or_foreign_file_is_one_line(tmp_path, capsys):
    assert checkpoint.main(["convert", str(tmp_path / "nope.pt"), str(tmp_path / "new.pt")]) == 2
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    assert checkpoint.main(["convert", str(tmp_path / "junk.pt"), str(tmp_path / "new.pt")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "no such checkpoint" in err[0] and "not a readable checkpoint" in err[1]
    assert not (tmp_path / "new.pt").exists()
