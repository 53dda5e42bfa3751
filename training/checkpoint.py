"""Training checkpoints: written and read as plain data only.

A checkpoint is one dict of tensors, numbers, strings, None, lists, tuples and dicts:
{"config": ModelConfig as a dict, "model": E, G and D's state_dict, **extra} (extra: the step,
the optimisers' state, the random states, the training settings as a dict, the data summary...).
It is read with `torch.load(..., weights_only=True)`, which builds nothing but such data, so a
`.pt` from anyone cannot run code when `srlive-export`, `srlive-eval`, `srlive-sample`,
`srlive-train --resume` or `--init-from` opens it; a file holding any other Python object is
refused with one line (CheckpointError).

Older checkpoints of this project held the ModelConfig and TrainConfig dataclasses themselves.
Those two classes, and only those, are allowed while reading (torch.serialization.safe_globals)
and turned into dicts, so old files load as they are. To rewrite one as plain data once:

    python -m srlive_training.checkpoint convert OLD.pt NEW.pt
"""

from __future__ import annotations

import argparse
import os
import pickle
import re
import sys

import torch

from srlive.errors import ModelError
from srlive_training.config import ModelConfig
from srlive_training.model import VAEGAN
from srlive_training.settings import TrainConfig
from srlive_training.tool import run_tool

#: The only classes a checkpoint may hold besides plain data: what older checkpoints pickled.
OWN_DATACLASSES = (ModelConfig, TrainConfig)


class CheckpointError(ModelError):
    """A checkpoint that is missing, unreadable, or holds more than plain data."""


def save_checkpoint(path, model: VAEGAN, **extra) -> None:
    """Write {"config": dict, "model": state_dict, **extra} atomically (a temp file, then a rename)."""
    state = {"config": model.config.to_dict(), "model": model.state_dict(), **extra}
    tmp = f"{path}.tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)


def _plain(value):
    """The value with every ModelConfig / TrainConfig (an older checkpoint's) turned into a dict."""
    if isinstance(value, OWN_DATACLASSES):
        return value.to_dict()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def read_checkpoint(path, map_location="cpu"):
    """The checkpoint's contents as plain data, read with weights_only=True (see the module doc).
    Raises CheckpointError (one line) for a missing or unreadable file, and for one that holds
    any Python object besides plain data and this project's two config dataclasses."""
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: no such checkpoint; give a .pt that srlive-train wrote")
    try:
        with torch.serialization.safe_globals(list(OWN_DATACLASSES)):
            state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        found = re.search(r"GLOBAL ([\w.]+)", str(err))
        if found:
            raise CheckpointError(
                f"{path}: refused: it holds a Python object ({found.group(1)}) besides tensors and plain data, "
                "and reading such an object can run code; give a .pt that srlive-train wrote") from None
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(err).__name__}); "
                              "give a .pt that srlive-train wrote") from None
    except Exception as err:  # noqa: BLE001 - truncated or foreign files: one line, not a traceback
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(err).__name__}); "
                              "give a .pt that srlive-train wrote") from None
    return _plain(state)


def load_checkpoint(path, map_location="cpu") -> tuple[VAEGAN, dict]:
    """Rebuild the model from a checkpoint's config and weights; returns (model, whole checkpoint)."""
    ckpt = read_checkpoint(path, map_location)
    if not isinstance(ckpt, dict) or not {"config", "model"} <= ckpt.keys():
        raise CheckpointError(f"{path}: not a srlive checkpoint (no model config and weights)")
    try:
        cfg = ModelConfig.from_dict(ckpt["config"])
    except ValueError as e:  # a model of a retired configuration, or the step decoder's checkpoint
        raise CheckpointError(f"{path}: {e}") from None
    model = VAEGAN(cfg)
    model.load_state_dict(ckpt["model"])
    return model, ckpt


def convert(old, new) -> dict:
    """Rewrite a checkpoint of the older format (config dataclasses pickled) as plain data."""
    state = read_checkpoint(old)
    tmp = f"{new}.tmp"
    torch.save(state, tmp)
    os.replace(tmp, new)
    return state


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m srlive_training.checkpoint",
                                description="Rewrite an older srlive checkpoint as plain data.")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("convert", help="OLD.pt -> NEW.pt with the configs stored as dicts")
    c.add_argument("old")
    c.add_argument("new")
    args = p.parse_args(argv)

    def work() -> int:
        convert(args.old, args.new)
        print(f"wrote {args.new}")
        return 0

    return run_tool(p.prog, work, writing=args.new)


if __name__ == "__main__":
    sys.exit(main())
