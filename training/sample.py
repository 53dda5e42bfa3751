"""srlive-sample: N bars from a trained model to a .mid and a piano-roll PNG beside it.

    python -m srlive_training.sample --checkpoint runs/live/last.pt --start heard --data CACHE.npz \
        --bars 16 --out take.mid                  # writes take.mid and take.png

Where the bars start (the paper's two test frameworks, Akbari & Liang 2018, section 4):
- --start heard (default): from a real bar -- a random bar of the corpus's test split (--data)
  or the first bar with notes of --seed-file x.mid -- each next bar generated from the encoding
  of the last, as the live tool answers what it heard;
- --start noise: the first bar is G(z_p), then as with heard.
(--framework 1 / 2, the paper's numbering, is accepted for --start heard / noise.)
The .mid holds the generated bars (plus the seed bar first with --with-seed) at 120 BPM, 4/4.
training/results/sample_from_heard.{mid,png} is the shipped model's sample made with --start heard
(16 bars, seed 0). The step decoder answers "from noise" with silence (it writes what follows a
phrase, and there is none), so --start noise is for the paper's VAE-GAN.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from srlive.contract import METERS
from srlive.errors import UserError
from srlive.roll import DEFAULT_THRESHOLD, STEPS, STEPS_PER_BEAT, notes_to_roll
from srlive.takes import midifile
from srlive_training.metrics import REAL_THRESHOLD, as_bars, bar_notes
from srlive_training.plots import piano_roll_png
from srlive_training.runner import START, as_heard, generate, load_runner
from srlive_training.tool import run_tool

BPM = 120.0
TICKS_PER_BEAT = midifile.TICKS_PER_BEAT
TICKS_PER_STEP = TICKS_PER_BEAT // STEPS_PER_BEAT
FRAMEWORK_START = {1: "heard", 2: "noise"}  # the paper's framework numbers, for --framework


def rolls_to_midi(rolls: np.ndarray, path, threshold: float = REAL_THRESHOLD, bpm: float = BPM) -> None:
    """Write bars [T, 88, S] as one piano track (every cell >= threshold sounds; by default every
    non-zero cell); the file lasts exactly T bars: of 4/4 for bars of 16 steps, of 3/4 for 12."""
    bars = as_bars(rolls)
    steps = bars.shape[-1]
    meter = next(m for m in METERS.values() if m.steps == steps)
    track = midifile.Track("srlive sample", midifile.note_track(
        (int(pitch), int(b * steps + start) * TICKS_PER_STEP, int(b * steps + end) * TICKS_PER_STEP, int(velocity))
        for b, roll in enumerate(bars)
        for pitch, start, end, velocity in bar_notes(roll, threshold)))
    midifile.write(path, [track], bpm, end_tick=len(bars) * steps * TICKS_PER_STEP,
                   time_signature=(meter.numerator, meter.denominator), ticks_per_beat=TICKS_PER_BEAT)


def first_bar_of_midi(path, steps: int = STEPS) -> np.ndarray:
    """The first bar of `steps` sixteenths that has notes in a .mid file, as a roll [88, steps]
    (onsets and ends to the nearest sixteenth of the file's own quarter-note tick grid; drums left
    out)."""
    try:
        contents = midifile.read(path)
    except midifile.UnreadableMidi as err:
        raise UserError(f"cannot read seed file {path}: {err}") from None
    notes = [n for n in contents.notes() if n.channel != midifile.DRUM_CHANNEL]
    if not notes:
        raise UserError(f"seed file {path} has no notes")
    steps_per_tick = STEPS_PER_BEAT / contents.ticks_per_beat
    on = np.array([round(n.start * steps_per_tick) for n in notes])
    off = np.array([round(n.end * steps_per_tick) for n in notes])
    bar = max(int(np.floor(on.min() / steps)), 0)
    chosen = [(n.pitch, s - bar * steps, e - bar * steps, n.velocity) for n, s, e in zip(notes, on, off)
              if bar * steps <= s < (bar + 1) * steps]
    return notes_to_roll(chosen, steps)


def open_corpus(data):
    """BarCorpus.load with one-line errors for a missing or foreign file."""
    from srlive_training.corpus import BarCorpus

    if not Path(data).is_file():
        raise UserError(f"corpus cache not found: {data}; run srlive-prepare first")
    try:
        return BarCorpus.load(data)
    except Exception as err:  # noqa: BLE001 - a foreign or damaged file
        raise UserError(f"cannot read corpus cache {data}: not a corpus prepared by srlive-prepare "
                        f"({type(err).__name__})") from None


def seed_bar_from_corpus(data, rng: np.random.Generator, steps: int = STEPS) -> np.ndarray:
    """A random bar with notes from the test split of a prepared corpus cache of `steps`-step bars."""
    corpus = open_corpus(data)
    corpus.require_width(steps, "the model", "give the model's own corpus", where=f"corpus cache {data}")
    tunes = corpus.tunes("test") or corpus.tunes("val") or corpus.tunes("train")
    idx = np.concatenate(tunes) if tunes else np.zeros(0, dtype=np.int64)
    idx = idx[corpus.bars[idx].reshape(len(idx), -1).any(axis=1)] if len(idx) else idx
    if len(idx) == 0:
        raise UserError(f"corpus cache {data} has no bar with notes")
    return corpus.rolls(int(rng.choice(idx)))


def save_piano_roll(rolls: np.ndarray, path, title: str) -> None:
    """A piano-roll PNG of bars [T, 88, S]."""
    piano_roll_png(np.asarray(rolls), path, title)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="srlive-sample", description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", required=True, help="training checkpoint (.pt) or exported model directory")
    p.add_argument("--start", choices=tuple(START), default=None,
                   help="heard: start from a real bar and answer each bar (default); noise: start from noise")
    p.add_argument("--framework", type=int, choices=(1, 2), default=None, help=argparse.SUPPRESS)  # the paper's numbering
    p.add_argument("--bars", type=int, default=8, help="bars to generate (default 8)")
    p.add_argument("--temperature", type=float, default=None,
                   help="scale of the latent noise (default: the model's own: an exported model's srlive.temperature, "
                        "1 for a training checkpoint)")
    p.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, help="cell value that sounds (default 0.5)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--data", help="prepared corpus cache (.npz): the seed bar is a random test-split bar")
    p.add_argument("--seed-file", help=".mid whose first bar with notes is the seed bar (--start heard)")
    p.add_argument("--with-seed", action="store_true", help="put the seed bar first in the output (--start heard)")
    p.add_argument("--out", default="sample.mid", help="output .mid; the PNG goes beside it (default sample.mid)")
    args = p.parse_args(argv)
    if args.framework is not None:
        if args.start is not None and args.start != FRAMEWORK_START[args.framework]:
            raise UserError(f"--framework {args.framework} is --start {FRAMEWORK_START[args.framework]}; give only --start")
        args.start = FRAMEWORK_START[args.framework]
    args.start = args.start or "heard"
    return args


def run(args: argparse.Namespace) -> tuple[Path, Path, np.ndarray]:
    if args.bars < 1:
        raise UserError(f"--bars must be at least 1, got {args.bars}")
    out = Path(args.out)
    if out.suffix.lower() not in (".mid", ".midi"):
        raise UserError(f"--out must name a .mid file, got {out}")
    if not out.parent.exists():
        raise UserError(f"output folder does not exist: {out.parent}")
    rng = np.random.default_rng(args.seed)
    runner = load_runner(args.checkpoint)
    temperature = runner.temperature if args.temperature is None else args.temperature
    seed = None
    if args.start == "heard":
        if args.seed_file:
            seed = first_bar_of_midi(args.seed_file, runner.steps)
        elif args.data:
            seed = seed_bar_from_corpus(args.data, rng, runner.steps)
        else:
            raise UserError("--start heard starts from a real bar: pass --data CACHE.npz or --seed-file FILE.mid")
    bars = generate(runner, args.start, args.bars, rng, seeds=None if seed is None else seed[None], n=1,
                    temperature=temperature, threshold=args.threshold)[0]
    bars = as_heard(bars, args.threshold)  # what sounds; a real seed bar sounds as it is
    if seed is not None and args.with_seed:
        bars = np.concatenate([seed[None], bars])
    rolls_to_midi(bars, out, REAL_THRESHOLD)
    png = out.with_suffix(".png")
    title = f"{runner.name}: {START[args.start]}, {len(bars)} bars, T={temperature:g}, seed {args.seed}"
    save_piano_roll(bars, png, title)
    return out, png, bars


def main(argv=None) -> int:
    def work() -> int:
        out, png, bars = run(parse_args(argv))
        print(f"wrote {out} ({len(bars)} bars) and {png}")
        return 0

    return run_tool("srlive-sample", work)


if __name__ == "__main__":
    sys.exit(main())
