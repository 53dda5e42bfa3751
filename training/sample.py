"""srlive-sample: N bars from a trained model to a .mid and a piano-roll PNG beside it.

    python -m srlive_training.sample --checkpoint runs/live/last.pt --start heard --data CACHE.npz \
        --bars 16 --out take.mid                  # writes take.mid and take.png

Where the bars start (the paper's two test frameworks, Akbari & Liang 2018, section 4):
- --start heard (default): from a real bar -- a random bar of the corpus's test split (--data)
  or the first bar with notes of --seed-file x.mid -- each next bar generated from the encoding
  of the last, as the live tool answers what it heard;
- --start noise: the first bar is G(z_p), then as with heard.
(--framework 1 / 2 is the older name of --start heard / noise.)
The .mid holds the generated bars (plus the seed bar first with --with-seed) at 120 BPM, 4/4.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from srlive.errors import UserError
from srlive.roll import DEFAULT_THRESHOLD, N_PITCHES, STEPS, notes_to_roll, roll_to_notes
from srlive_training.metrics import REAL_THRESHOLD
from srlive_training.runner import START, as_heard, generate, load_runner

BPM = 120.0
TICKS_PER_BEAT = 480
TICKS_PER_STEP = TICKS_PER_BEAT // 4
FRAMEWORK_START = {1: "heard", 2: "noise"}  # the older --framework numbers


def rolls_to_midi(rolls: np.ndarray, path, threshold: float = REAL_THRESHOLD, bpm: float = BPM) -> None:
    """Write bars [T, 88, 16] as one piano track (every cell >= threshold sounds; by default every
    non-zero cell); the file lasts exactly T bars of 4/4."""
    import mido

    events = []  # (tick, order, message); note-offs (order 0) before note-ons at one tick
    for b, roll in enumerate(np.asarray(rolls).reshape(-1, N_PITCHES, STEPS)):
        for n in roll_to_notes(roll, threshold):
            t0 = (b * STEPS + n.start) * TICKS_PER_STEP
            t1 = (b * STEPS + n.end) * TICKS_PER_STEP
            events.append((t0, 1, mido.Message("note_on", note=n.pitch, velocity=n.velocity)))
            events.append((t1, 0, mido.Message("note_off", note=n.pitch, velocity=0)))
    events.sort(key=lambda e: (e[0], e[1]))
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name="srlive sample", time=0))
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    track.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    now = 0
    for tick, _, msg in events:
        track.append(msg.copy(time=tick - now))
        now = tick
    end = len(rolls) * STEPS * TICKS_PER_STEP
    track.append(mido.MetaMessage("end_of_track", time=end - now))
    mid = mido.MidiFile(ticks_per_beat=TICKS_PER_BEAT)
    mid.tracks.append(track)
    mid.save(str(path))


def first_bar_of_midi(path) -> np.ndarray:
    """The first bar that has notes in a .mid file, as a roll [88, 16] (onsets to the nearest
    sixteenth of the file's own beat grid; drums left out)."""
    import warnings

    import pretty_midi

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pretty_midi's complaints about odd but readable files
            pm = pretty_midi.PrettyMIDI(str(path))
    except Exception as err:  # noqa: BLE001 - whatever pretty_midi/mido raise on a bad file
        raise UserError(f"cannot read seed file {path}: {type(err).__name__}") from None
    notes = [n for inst in pm.instruments if not inst.is_drum for n in inst.notes]
    if not notes:
        raise UserError(f"seed file {path} has no notes")
    beats = pm.get_beats()
    if len(beats) < 2:
        beats = np.array([0.0, 60.0 / BPM])
    step_of = lambda t: 4 * np.interp(t, beats, np.arange(len(beats)), right=np.nan)  # noqa: E731
    last = beats[-1]
    beat_len = beats[-1] - beats[-2]

    def steps(t: float) -> float:
        s = step_of(t)
        return s if np.isfinite(s) else 4 * (len(beats) - 1 + (t - last) / beat_len)

    downbeats = pm.get_downbeats()
    origin = steps(downbeats[0]) if len(downbeats) else 0.0
    on = np.array([round(steps(n.start) - origin) for n in notes])
    off = np.array([round(steps(n.end) - origin) for n in notes])
    bar = max(int(np.floor(on.min() / STEPS)), 0)
    chosen = [(n.pitch, s - bar * STEPS, e - bar * STEPS, n.velocity) for n, s, e in zip(notes, on, off)
              if bar * STEPS <= s < (bar + 1) * STEPS]
    return notes_to_roll(chosen)


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


def seed_bar_from_corpus(data, rng: np.random.Generator) -> np.ndarray:
    """A random bar with notes from the test split of a prepared corpus cache."""
    corpus = open_corpus(data)
    tunes = corpus.tunes("test") or corpus.tunes("val") or corpus.tunes("train")
    idx = np.concatenate(tunes) if tunes else np.zeros(0, dtype=np.int64)
    idx = idx[corpus.bars[idx].reshape(len(idx), -1).any(axis=1)] if len(idx) else idx
    if len(idx) == 0:
        raise UserError(f"corpus cache {data} has no bar with notes")
    return corpus.rolls(int(rng.choice(idx)))


def save_piano_roll(rolls: np.ndarray, path, title: str) -> None:
    """A piano-roll PNG of bars [T, 88, 16] (srlive_training.plots when present, else a small plot here)."""
    try:
        from srlive_training.plots import piano_roll_png
    except ImportError:
        piano_roll_png = _piano_roll_png
    piano_roll_png(np.asarray(rolls), path, title)


def _piano_roll_png(rolls: np.ndarray, path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rolls = np.asarray(rolls).reshape(-1, N_PITCHES, STEPS)
    image = np.concatenate(list(rolls), axis=1) if len(rolls) else np.zeros((N_PITCHES, STEPS))
    fig, ax = plt.subplots(figsize=(max(4, 1 + 0.8 * len(rolls)), 3.5), dpi=100)
    ax.imshow(image, origin="lower", aspect="auto", cmap="Greys", vmin=0, vmax=1, interpolation="nearest",
              extent=(0, image.shape[1], 20.5, 108.5))
    for b in range(1, len(rolls)):
        ax.axvline(b * STEPS, color="tab:blue", lw=0.5)
    ax.set(title=title, xlabel="step (16 per bar)", ylabel="MIDI pitch")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="srlive-sample", description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", required=True, help="training checkpoint (.pt) or exported model directory")
    p.add_argument("--start", choices=tuple(START), default=None,
                   help="heard: start from a real bar and answer each bar (default); noise: start from noise")
    p.add_argument("--framework", type=int, choices=(1, 2), default=None, help=argparse.SUPPRESS)  # older name
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
            seed = first_bar_of_midi(args.seed_file)
        elif args.data:
            seed = seed_bar_from_corpus(args.data, rng)
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
    try:
        args = parse_args(argv)
        out, png, bars = run(args)
    except UserError as err:
        print(f"srlive-sample: {err}", file=sys.stderr)
        return err.exit_code
    except OSError as err:
        print(f"srlive-sample: {err.strerror or err}: {err.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2
    print(f"wrote {out} ({len(bars)} bars) and {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
