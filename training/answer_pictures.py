"""Piano rolls of srlive answering held-out tunes: one candidate a bar against the model's own setting.

    python -m srlive_training.answer_pictures --data CACHE.npz --model srlive/models/default \\
        --out training/results/answers_before_after.png --seed 0

Tunes: the first three tunes of the cache's test split (in split order, as in .splits.json) that
have at least 8 bars, each of the first 8 with notes. srlive hears each tune's first 8 bars as in accompany mode, through its own
answer path (srlive.model.answer via training/runner.py): at each bar it hears the performer's bar and its
own last answer as it sounds (srlive.roll.as_heard), then answers the bar; the answer plays in the
next bar. It does so twice with the same seed: "before", the model's first answer (1 candidate a bar),
and "after", the model's own number of candidates a bar (srlive.candidates; 8 for a model that
has none), chosen by its own selection weights (srlive.selection, as srlive plays by default); with --before MODEL, that model's own answers (1 candidate
a bar, its own temperature) come first, as the model srlive played before. A tune's rows show bars
5-8 in time: the tune as heard, and under each of its bars what srlive played in that bar (its
answer to the bar before). Each row's label gives notes per bar and the share of onsets on every
fourth step (the quarter notes: steps 0, 4, 8, 12 of a 4/4 bar, 0, 4, 8 of a 12-step bar;
srlive_training.metrics); the same figures are printed as a markdown table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from srlive.errors import UserError
from srlive.roll import DEFAULT_THRESHOLD, STEPS_PER_BEAT, as_heard
from srlive_training import metrics
from srlive_training.plots import piano_roll_rows_png
from srlive_training.runner import load_runner
from srlive_training.sample import open_corpus
from srlive_training.tool import run_tool

TUNES = 3  # tunes drawn
HEARD = 8  # bars of each tune srlive hears
SHOWN = 4  # bars shown: the last SHOWN of those heard
AFTER = 8  # candidates a bar "after" for a model that draws one by default


def pick_tunes(corpus, n: int = TUNES, min_bars: int = HEARD) -> list[tuple[str, np.ndarray]]:
    """(name, bar indices) of the first `n` test tunes, in split order, with at least `min_bars`
    bars, each of the first `min_bars` with notes (in accompany mode a silent bar is not answered)."""
    def sounding(idx):
        return len(idx) >= min_bars and bool(corpus.bars[idx[:min_bars]].reshape(min_bars, -1).any(1).all())

    picked = [(corpus.names[int(corpus.tune[idx[0]])], idx) for idx in corpus.tunes("test") if sounding(idx)]
    return picked[:n]


def accompany(runner, tunes: np.ndarray, rng: np.random.Generator, temperature: float,
              threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """srlive's answer to every bar of each tune [K, T, 88, 16], as it sounds: [K, T, 88, 16],
    answer b answering bar b (it plays in bar b + 1). As the live engine in accompany mode (every
    bar with notes): before answering bar b, each tune's answerer hears bar b and srlive's own bar
    b (its answer to b - 1)."""
    tunes = np.asarray(tunes, np.float32)
    answerers = runner.answerers(len(tunes), threshold)
    out = np.zeros_like(tunes)
    for b in range(tunes.shape[1]):
        for k, answerer in enumerate(answerers):
            answerer.hear(heard=tunes[k, b], played=out[k, b - 1] if b else None)
        out[:, b] = as_heard(runner.answer(tunes[:, b], rng, temperature, answerers, threshold), threshold)
    return out


def aligned(tune: np.ndarray, answers: np.ndarray, first: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Bars `first`..`first + width - 1` of the tune [T, 88, 16] and, under each, what srlive
    played in that bar: the answer to the bar before (answers[b] answers tune[b])."""
    if first < 1 or first + width > len(tune):
        raise ValueError(f"bars {first}..{first + width - 1} need an answered bar before them within {len(tune)} bars")
    return tune[first:first + width], answers[first - 1:first - 1 + width]


def row_figures(bars: np.ndarray, threshold: float) -> dict:
    """Notes per bar and the share of onsets on the quarter notes (NaN without notes) of bars [T, 88, W]."""
    notes = [metrics.bar_notes(b, threshold) for b in np.asarray(bars)]
    profile = metrics.onset_profile(notes)
    return {"notes_per_bar": float(np.mean([len(n) for n in notes])),
            "on_beat": float(np.sum(profile[::STEPS_PER_BEAT]))}


def percent(share: float) -> str:
    return "—" if np.isnan(share) else f"{100 * share:.0f} %"


def label(row: str, figures: dict) -> str:
    return f"{row}: {figures['notes_per_bar']:.1f} notes/bar, {percent(figures['on_beat'])} of onsets on the beat"


def answer_pictures(runner, corpus, out, seed: int = 0, temperature: float | None = None,
                    threshold: float = DEFAULT_THRESHOLD, before=None) -> list[dict]:
    """Draw the picture to `out`; per tune, its name and the figures of its rows. With `before` (a
    runner of another model, e.g. the one shipped before), its own answers (1 candidate a bar, at its
    own temperature) come first, and the rows of `runner` are called "after"."""
    for model in (runner, before):
        if model is not None:
            corpus.require_width(model.steps, f"model {model.name}", "give a model and a corpus of one meter")
    picked = pick_tunes(corpus)
    if len(picked) < TUNES:
        raise UserError(f"the corpus has {len(picked)} test tunes of at least {HEARD} bars, {TUNES} needed; "
                        "prepare a larger corpus")
    temperature = runner.temperature if temperature is None else temperature
    after = runner.candidates if runner.candidates > 1 else AFTER  # the model's own setting
    tunes = np.stack([corpus.rolls(idx[:HEARD]) for _, idx in picked])
    answers = {}
    if before is not None:
        before.candidates = 1
        answers[f"before ({before.name}), 1 candidate"] = accompany(before, tunes, np.random.default_rng(seed),
                                                                    before.temperature, threshold)
        rows = (("after, 1 candidate", 1), (f"after, {after} candidates", after))
    else:
        rows = (("before, 1 candidate", 1), (f"after, {after} candidates", after))
    for row, n in rows:
        runner.candidates = n
        answers[row] = accompany(runner, tunes, np.random.default_rng(seed), temperature, threshold)
    first = HEARD - SHOWN
    groups, table = [], []
    for k, (name, _) in enumerate(picked):
        shown = {"heard": tunes[k, first:first + SHOWN]}
        shown.update({row: aligned(tunes[k], a[k], first, SHOWN)[1] for row, a in answers.items()})
        figures = {row: row_figures(bars, metrics.REAL_THRESHOLD if row == "heard" else threshold)
                   for row, bars in shown.items()}
        groups.append((name, [(label(row, figures[row]), bars) for row, bars in shown.items()]))
        table.append({"tune": name, **figures})
    title = (f"srlive ({runner.name}) answering held-out tunes, T={temperature:g}, seed {seed}: "
             "under each bar, what srlive played in it")
    piano_roll_rows_png(groups, out, title, first_bar=first + 1)
    return table


def markdown(table: list[dict]) -> str:
    """The figures as a markdown table, one line per tune."""
    rows = [r for r in table[0] if r != "tune"]
    lines = ["| tune | " + " | ".join(f"{r}: notes/bar, on the beat" for r in rows) + " |",
             "| --- |" + " ---: |" * len(rows)]
    for t in table:
        cells = [f"{t[r]['notes_per_bar']:.1f}, {percent(t[r]['on_beat'])}" for r in rows]
        lines.append(f"| {t['tune']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m srlive_training.answer_pictures", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="prepared corpus cache (.npz); its test tunes are answered")
    p.add_argument("--model", required=True, help="exported model directory (or a training checkpoint .pt)")
    p.add_argument("--out", default="answers_before_after.png", help="output PNG (default answers_before_after.png)")
    p.add_argument("--seed", type=int, default=0, help="random seed, the same before and after (default 0)")
    p.add_argument("--temperature", type=float, default=None, help="default: the model's own")
    p.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, help="cell value that sounds (default 0.5)")
    p.add_argument("--before", metavar="MODEL", default=None,
                   help="another model (e.g. the one shipped before) whose own answers, 1 candidate a bar, "
                        "come first; the --model rows are then 'after'")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    return run_tool("answer_pictures", lambda: _pictures(args), writing=args.out)


def _pictures(args) -> int:
    if Path(args.out).suffix.lower() != ".png":
        raise UserError(f"--out must name a .png file, got {args.out}")
    before = load_runner(args.before) if args.before else None
    table = answer_pictures(load_runner(args.model), open_corpus(args.data), args.out, args.seed,
                            args.temperature, args.threshold, before=before)
    print(markdown(table))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
