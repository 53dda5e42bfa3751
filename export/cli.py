"""srlive-export: a training checkpoint → encoder.onnx, generator.onnx, step.onnx (+ export.json).

    python -m srlive_export.cli runs/live/best.pt --data cache/bars.npz --out srlive/models/default
    python -m srlive_export.cli --untrained live --out /tmp/model      # seed-0 untrained weights

Steps: rebuild the model from the checkpoint, export the three graphs (srlive_export.onnx_export), stamp
the srlive metadata (srlive_export.metadata), run onnx.checker on each, check parity against torch on
1,000 real + 1,000 random bars (srlive_export.parity) and only then write — into a temporary folder beside
the destination, renamed into place, so a failed export leaves no partial file. A model that fails
parity is refused in one line saying by how much (exit 1).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from srlive.errors import UserError
from srlive_training.tool import run_tool

PROG = "srlive-export"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Export a trained srlive checkpoint to ONNX, checked against torch.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("checkpoint", nargs="?", help="training checkpoint (.pt) written by srlive-train")
    src.add_argument("--untrained", metavar="CONFIG", help="export untrained seed-0 weights of a model config (paper|live) instead")
    p.add_argument("--out", default=None, help="destination folder (default: the package's shipped model, srlive/models/default)")
    p.add_argument("--data", metavar="NPZ", help="prepared BarCorpus (.npz) whose test bars are the parity check's real bars")
    p.add_argument("--n-real", type=int, default=1000, help="real bars in the parity check (default 1000)")
    p.add_argument("--n-random", type=int, default=1000, help="random bars in the parity check (default 1000)")
    p.add_argument("--tolerance", type=float, default=1e-4, help="largest allowed |torch - onnx| (default 1e-4)")
    p.add_argument("--plain", action="store_true", help="skip the exact speed rewrites of srlive_export.optimize (ELU as one op)")
    p.add_argument("--seed", type=int, default=0, help="seed of the untrained weights and the parity inputs")
    p.add_argument("--temperature", type=float, default=1.0,
                   help="the temperature the model plays at when the performer gives none (srlive.temperature; "
                        "choose it on the validation tunes with srlive-eval --split val --temperature T; default 1)")
    p.add_argument("--candidates", type=int, default=None, metavar="N",
                   help="answers the model draws each bar to choose from by default (srlive.candidates; default: "
                        "not written, so srlive draws 1); choose it on the validation tunes with srlive-eval")
    p.add_argument("--selection", default=None, metavar="NAME=W,...",
                   help="the selection weights it plays with by default (srlive.selection), e.g. critic=1,motif=2")
    return p


def _load(args) -> tuple[object, dict]:
    """(model, checkpoint-like dict with data_summary / step)."""
    import torch

    from srlive_training.checkpoint import load_checkpoint
    from srlive_training.config import get_config
    from srlive_training.model import VAEGAN

    if args.untrained:
        try:
            cfg = get_config(args.untrained)
        except ValueError as e:
            raise UserError(str(e)) from None
        torch.manual_seed(args.seed)
        return VAEGAN(cfg).eval(), {"data_summary": "untrained placeholder", "step": 0}
    path = Path(args.checkpoint)
    if not path.is_file():
        raise UserError(f"{path}: checkpoint not found")
    try:
        model, ckpt = load_checkpoint(path)
    except UserError:  # refused or unreadable, said in one line by srlive_training.checkpoint
        raise
    except Exception as e:  # torch.load / state_dict mismatch: one line, not a traceback
        raise UserError(f"{path}: not a readable srlive checkpoint: {' '.join(str(e).split())[:200]}") from None
    return model.eval(), ckpt


def _is_step_decoder(args) -> bool:
    """Whether the checkpoint (or --untrained config) is the step decoder's (srlive_training.phrase_model)."""
    from srlive_training.phrase_model import PHRASE_CONFIGS

    if args.untrained:
        return args.untrained in PHRASE_CONFIGS
    from srlive_training.checkpoint import read_checkpoint

    path = Path(args.checkpoint)
    if not path.is_file():
        raise UserError(f"{path}: checkpoint not found")
    ckpt = read_checkpoint(path)
    return isinstance(ckpt, dict) and isinstance(ckpt.get("config"), dict) and ckpt["config"].get("kind") == "phrase"


def export_step_decoder(args, out: Path, selection: dict | None) -> int:
    """The step decoder's step.onnx and critic.onnx (srlive_export.phrase_export), checked like the
    others: onnx.checker, then parity with torch on the same noise, then written atomically; the
    encoder + generator pair an older model left in the folder is removed (the runtime would use it)."""
    import torch
    from srlive_export.metadata import build_metadata, portable
    from srlive_export.onnx_export import OPSET
    from srlive_export.parity import default_real_bars
    from srlive_export.phrase_export import check_phrase_parity, export_phrase_protos, parity_histories, phrase_metadata
    from srlive_training.phrase_model import PHRASE_CONFIGS, PhraseVAE
    from srlive_training.phrase_train import load_phrase_checkpoint

    if args.untrained:
        torch.manual_seed(args.seed)
        model, ckpt = PhraseVAE(PHRASE_CONFIGS[args.untrained]), {"data": "untrained placeholder", "step": 0}
    else:
        model, ckpt = load_phrase_checkpoint(args.checkpoint)
    model.eval()
    cfg = model.config
    try:
        real, source = default_real_bars(args.data, args.n_real, args.seed, cfg.steps)
    except (OSError, ValueError, KeyError) as e:
        raise UserError(f"--data {args.data}: can't read bars: {' '.join(str(e).split())[:200]}") from None
    props = phrase_metadata(build_metadata(cfg.to_dict(), ckpt.get("data_summary", ckpt.get("data")), ckpt.get("step"),
                                           temperature=args.temperature, candidates=args.candidates,
                                           selection=selection), model)
    protos = export_phrase_protos(model, rewrite=not args.plain)
    if not _checked(protos, props):
        return 1
    report = check_phrase_parity(model, protos["step.onnx"], parity_histories(real, args.n_random, cfg.context, args.seed),
                                 args.seed, args.tolerance)
    if not report.ok:
        print(f"{PROG}: parity check failed: {report.summary()} (tolerance {args.tolerance:.0e}); nothing written",
              file=sys.stderr)
        return 1
    record = {"metadata": props, "opset": OPSET, "rewrites": [] if args.plain else ["elu"],
              "source": "untrained:" + args.untrained if args.untrained else portable(str(args.checkpoint)),
              "parity": {"summary": report.summary(), "max_abs_diff": report.max_abs_diff,
                         "event_flips": report.event_flips, "bars": report.bars, "real_source": source}}
    files = {name: p.SerializeToString() for name, p in protos.items()}
    files["export.json"] = (json.dumps(record, indent=2, sort_keys=True) + "\n").encode()
    return _written(files, out, cfg.name, args.temperature, report, stale=("encoder.onnx", "generator.onnx"))


def write_atomically(files: dict[str, bytes], out: Path) -> None:
    """Write all files into a temp folder beside `out`, then move them into place.

    A fresh `out` is one directory rename; into an existing folder each file is one os.replace (its
    other files are left alone). Either way no reader ever sees a half-written file.
    """
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    os.chmod(tmp, 0o755)  # mkdtemp makes it private; a model folder is an ordinary one
    try:
        for name, data in files.items():
            with open(tmp / name, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        if not out.exists():
            os.replace(tmp, out)
            return
        for name in files:
            os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def export(args) -> int:
    from srlive.contract import MAX_CANDIDATES, TEMPERATURE_RANGE
    from srlive.errors import BadValue
    from srlive.model.runtime import default_model_path
    from srlive.model.selection import BadWeights, parse_weights
    from srlive.options import parse_temperature
    from srlive_export.metadata import build_metadata, portable
    from srlive_export.onnx_export import OPSET, export_protos
    from srlive_export.parity import check_parity, default_real_bars, parity_inputs
    from tqdm import tqdm

    try:
        parse_temperature(args.temperature)
    except BadValue:
        lo, hi = TEMPERATURE_RANGE
        raise UserError(f"--temperature {args.temperature:g}: give a number from {lo:g} to {hi:g}") from None
    if args.candidates is not None and not 1 <= args.candidates <= MAX_CANDIDATES:
        raise UserError(f"--candidates {args.candidates}: give a whole number from 1 to {MAX_CANDIDATES}")
    selection = None
    if args.selection is not None:
        try:
            selection = asdict(parse_weights(args.selection, where=f"--selection {args.selection}"))
        except BadWeights as e:
            raise UserError(str(e)) from None
    out = Path(args.out) if args.out else default_model_path()
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: is a file; give a folder")
    if _is_step_decoder(args):
        return export_step_decoder(args, out, selection)
    model, ckpt = _load(args)
    cfg = model.config
    try:  # read the real bars first: a bad --data fails before the slow export
        real, source = default_real_bars(args.data, args.n_real, args.seed, cfg.steps)
    except (OSError, ValueError, KeyError) as e:
        raise UserError(f"--data {args.data}: can't read bars: {' '.join(str(e).split())[:200]}") from None
    props = build_metadata(cfg.to_dict(), ckpt.get("data_summary"), ckpt.get("step"), temperature=args.temperature,
                           candidates=args.candidates, selection=selection)
    with tqdm(total=5, desc="export", unit="stage", leave=False, disable=not sys.stderr.isatty()) as bar:
        protos = export_protos(model, rewrite=not args.plain,
                               progress=lambda name: (bar.set_postfix_str(name), bar.update()))
        if not _checked(protos, props):
            return 1
        bar.set_postfix_str("parity vs torch")
        bars, noise, temperature = parity_inputs(real, args.n_random, cfg.latent, args.seed, cfg.steps)
        report = check_parity(model, protos, bars, noise, temperature, n_real=len(real), real_source=source,
                              tolerance=args.tolerance)
        bar.update()
    if not report.ok:
        print(f"{PROG}: {report.failure()}", file=sys.stderr)
        return 1
    record = {
        "metadata": props,
        "opset": OPSET,
        "rewrites": [] if args.plain else ["elu"],
        "source": "untrained:" + args.untrained if args.untrained else portable(str(args.checkpoint)),
        "parity": {"summary": report.summary(), "max_abs_diff": report.max_abs_diff, "flips": report.flips,
                   "n_real": report.n_real, "n_random": report.n_random, "real_source": report.real_source,
                   "files": {n: vars(f) for n, f in report.files.items()}},
    }
    files = {name: p.SerializeToString() for name, p in protos.items()}
    files["export.json"] = (json.dumps(record, indent=2, sort_keys=True) + "\n").encode()
    return _written(files, out, cfg.name, args.temperature, report)


def _written(files: dict[str, bytes], out: Path, name: str, temperature: float, report, stale=()) -> int:
    """The model's files written atomically (and ``stale`` files an older model left removed), then
    what was written and the parity report said."""
    from srlive_export.onnx_export import OPSET

    try:
        write_atomically(files, out)
        for old in stale:
            (out / old).unlink(missing_ok=True)
    except OSError as e:
        raise UserError(f"--out {out}: can't write the model: {e.strerror or e}") from None
    size = sum(len(b) for b in files.values()) / 1e6
    print(f"{name} model → {out} ({', '.join(files)}; {size:.2f} MB, opset {OPSET}; plays at temperature "
          f"{temperature:g} unless told otherwise)")
    print(report.summary())
    return 0


def _checked(protos: dict, props: dict) -> bool:
    """Each file given the model's metadata and passed by onnx.checker; else one line, and False."""
    import onnx

    from srlive_export.metadata import set_metadata

    for name, proto in protos.items():
        set_metadata(proto, props)
        try:
            onnx.checker.check_model(proto, full_check=True)
        except onnx.checker.ValidationError as e:
            print(f"{PROG}: {name} fails onnx.checker: {' '.join(str(e).split())[:200]}; nothing written", file=sys.stderr)
            return False
    return True


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return run_tool(PROG, lambda: export(args))


if __name__ == "__main__":
    sys.exit(main())
