"""srlive-eval: one table comparing models with held-out real music and two baselines.

    python -m srlive_training.evaluate --data CACHE.npz --checkpoint runs/live/last.pt \
        --samples 2500 --out-md eval.md --out-json eval.json

Rows: held-out real music (five consecutive bars of a test tune), each model "from a real bar"
(five bars, each answering the one before, from a real test bar: `--start heard` of srlive-sample;
with --from-noise also a row "from noise", whose first bar is G(z_p)), and two baselines: each
bar a random training bar, and repeating the previous bar.

Columns (definitions in training/metrics.py):
- the paper's measures (Akbari & Liang 2018, section 4.1), means over the five-bar samples:
  scale consistency, tone span, uniqueness, velocity span, recurrence, and diversity between
  samples;
- MuseGAN's per-bar measures over all their bars: EB (empty bars), UPC, QN;
- four figures that explain uniqueness and recurrence (not targets): steps, the share of
  successive tones a step (1-2 semitones) apart; kept, the share of a bar's sounding cells
  that already sounded in the bar before; new pitches, the share of a bar's distinct pitches
  that did not sound in the bar before; sounds, the share of steps at which something sounds
  (rests lower it, and with it the number of tones) (srlive_training.metrics.stepwise_share,
  kept_cells, new_pitches, sounding_steps);
- key fit: a test tune is transposed to a random key (-6..+5 semitones), the row answers bar t
  from real bar t-1, and the answer is scored against the best-fitting scale of real bars
  t-4..t-1 (answers without notes are left out and counted in "empty answers");
- context sensitivity: key fit minus key fit when the bar answered is bar s-1 of another,
  randomly transposed, test tune (scored against the same real context). Real music answers with
  the bar that really followed; the random-bar baseline ignores the bar; the repeat baseline
  answers with it.
Real bars are read with every non-zero cell sounding; --threshold applies to model output.

A second table, the listening table (srlive_training.phrase_eval), holds bars t of held-out tunes
with their 8 real bars before (tunes shorter than 9 bars skipped), which each model hears in order
through srlive's answer path before it answers bar t: the classifier two-sample test (logistic and
gradient-boosted, 5-fold, given the 4 bars before; the music's row is the real-against-real control,
srlive_training.two_sample), the odd-sixteenth share of the answers after contexts without one,
the phrase returns to the bars 1, 2, 4 and 8 before, and the same returns for srlive answering its
own bars. With --solo-check a third table (srlive_training.solo_check) lets each model play 64
bars alone after held-out opening phrases, 5 seeds: empty bars, the longest run of identical bars,
and notes per bar against the music's 10th-90th percentile. Both are drawn from their own seeds,
so the first table's figures are the same with them as without.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from srlive.contract import DEFAULT_TEMPERATURE
from srlive.errors import UserError
from srlive.roll import DEFAULT_THRESHOLD, transpose_roll
from srlive_training import metrics, phrase_eval, solo_check, tables
from srlive_training.runner import START, generate, load_runner
from srlive_training.sample import open_corpus
from srlive_training.tool import run_tool

SAMPLE_BARS = 5
CONTEXT_BARS = 4

#: The paper's published figures (Akbari & Liang 2018, table 2) and the comparisons it quotes.
ANCHORS = {
    "scale_consistency": 0.87, "tone_span": (10, 21), "uniqueness": 0.37, "recurrence": 7, "diversity": 0.59,
}
ANCHOR_NOTE = ("published anchors (Akbari & Liang 2018): scale consistency ≈87% (C-RNN-GAN ≈75%), "
               "uniqueness ≈37%, tone span 10–21, recurrence ≈7, diversity ≈0.59 (ORGAN 0.551)")

#: The targets a model row is checked against (`verdict`).
RELATIVE_TOLERANCE = 0.10  # of the held-out real music's value
EB_TOLERANCE = 0.05  # absolute (5 points)
KEY_FIT_TARGET = 0.93  # the answers fit the key of the bars before (the music's: 0.95-0.96)
CONTEXT_TARGET = 0.30  # and depend on what was heard (the music's: 0.35-0.38)
RELATIVE_CHECKS = ("scale_consistency", "tone_span", "uniqueness", "recurrence", "diversity",
                   "used_pitch_classes", "qualified_notes", "notes")
# phrases on the beat: how the answers move and where their notes fall, against the music's
SOUNDS_TARGET = 0.85  # share of steps at which something sounds, at least
KEPT_MARGIN = 0.10  # cells kept from the bar before: at most the music's + 10 points
NEW_PITCHES_MARGIN = 0.10  # pitches new in a bar: at least the music's - 10 points
PROFILE_TARGET = 0.10  # total variation between the onset profiles, at most
DOWNBEAT_TOLERANCE = 0.20  # relative
ODD_STEPS_MARGIN = 0.05  # onsets on odd sixteenths: at most the music's + 5 points

# the main table's columns, in order (headers and kinds: tables.HEADERS)
COLUMNS = tables.columns(
    "scale_consistency", "tone_span", "uniqueness", "velocity_span", "recurrence", "diversity", "empty_bars",
    "used_pitch_classes", "qualified_notes", "stepwise", "kept_cells", "new_pitches", "sounding_steps", "notes",
    "pace_kept", "notes_follow", "downbeat", "odd_steps", "profile_distance", "key_fit", "empty_answers",
    "context_sensitivity",
)


@dataclass
class Protocol:
    """Everything drawn at random once, shared by every row so the rows are comparable."""

    samples: np.ndarray  # [S, 5, 88, 16] real five-bar windows from test tunes
    random_bars: np.ndarray  # [S, 5, 88, 16] random training bars
    context: np.ndarray  # [K, 4, 88, 16] transposed real bars t-4..t-1
    true_next: np.ndarray  # [K, 88, 16] transposed real bar t
    foreign_prev: np.ndarray  # [K, 88, 16] bar s-1 of another test tune, transposed
    foreign_next: np.ndarray  # [K, 88, 16] its bar s
    random_answers: np.ndarray  # [K, 88, 16] random training bars (the random-bar baseline's answers)
    profiles: np.ndarray = field(default=None)  # [K, 12] scale profile of each context
    info: dict = field(default_factory=dict)


def build_protocol(corpus, n_samples: int, n_keyfit: int, rng: np.random.Generator, split: str = "test") -> Protocol:
    tunes = [t for t in corpus.tunes(split) if len(t) >= SAMPLE_BARS]
    if len(tunes) < 2:
        raise UserError(f"the corpus's {split} split has {len(tunes)} tunes of at least {SAMPLE_BARS} bars; "
                        "at least 2 are needed (prepare more data)")
    train = np.concatenate(corpus.tunes("train") or [np.zeros(0, np.int64)])
    if len(train) == 0:
        raise UserError("the corpus has no training bars for the random-bar baseline")
    # five-bar windows, uniformly over every window of every test tune
    starts = np.concatenate([t[: len(t) - SAMPLE_BARS + 1] for t in tunes])
    pick = rng.choice(len(starts), size=n_samples, replace=n_samples > len(starts))
    windows = starts[pick, None] + np.arange(SAMPLE_BARS)
    samples = corpus.rolls(windows)
    random_bars = corpus.rolls(rng.choice(train, size=(n_samples, SAMPLE_BARS)))

    # key-fit items: bar t of a test tune (t >= 4), with its four real predecessors
    lengths = np.array([len(t) for t in tunes])
    which = rng.choice(len(tunes), size=n_keyfit, p=(lengths - CONTEXT_BARS) / (lengths - CONTEXT_BARS).sum())
    t_pos = np.array([rng.integers(CONTEXT_BARS, lengths[w]) for w in which])
    shift = rng.integers(-6, 6, size=n_keyfit)
    other = (which + rng.integers(1, len(tunes), size=n_keyfit)) % len(tunes)  # never the same tune
    s_pos = np.array([rng.integers(1, lengths[o]) for o in other])
    other_shift = rng.integers(-6, 6, size=n_keyfit)
    context = np.empty((n_keyfit, CONTEXT_BARS, 88, corpus.steps), np.float32)
    true_next = np.empty((n_keyfit, 88, corpus.steps), np.float32)
    foreign_prev = np.empty_like(true_next)
    foreign_next = np.empty_like(true_next)
    for k in range(n_keyfit):
        own = corpus.rolls(tunes[which[k]][t_pos[k] - CONTEXT_BARS : t_pos[k] + 1])
        own = transpose_roll(own, int(shift[k]))
        context[k], true_next[k] = own[:CONTEXT_BARS], own[CONTEXT_BARS]
        far = transpose_roll(corpus.rolls(tunes[other[k]][s_pos[k] - 1 : s_pos[k] + 1]), int(other_shift[k]))
        foreign_prev[k], foreign_next[k] = far
    random_answers = corpus.rolls(rng.choice(train, size=n_keyfit))
    profiles = np.stack([metrics.context_profile(c) for c in context])
    info = {"split": split, "test_tunes": len(tunes), "windows": int(len(starts)), "train_bars": int(len(train)),
            "samples": n_samples, "keyfit_items": n_keyfit}
    return Protocol(samples, random_bars, context, true_next, foreign_prev, foreign_next, random_answers,
                    profiles, info)


def key_fit_scores(profiles: np.ndarray, answers: np.ndarray, threshold: float) -> np.ndarray:
    return np.array([metrics.profile_fit(p, a, threshold) for p, a in zip(profiles, answers)])


def listening_measures(proto: Protocol, answers: np.ndarray, foreign_answers: np.ndarray | None,
                       threshold: float) -> dict:
    """Key fit (NaN answers excluded), the empty-answer rate, how the answers' notes follow the
    bar heard's, and context sensitivity."""
    fit = key_fit_scores(proto.profiles, answers, threshold)
    out = {"key_fit": _nanmean(fit), "empty_answers": float(np.mean(np.isnan(fit))),
           "notes_follow": notes_follow(proto.context[:, -1], answers, threshold)}
    if foreign_answers is not None:
        foreign = key_fit_scores(proto.profiles, foreign_answers, threshold)
        out["key_fit_foreign"] = _nanmean(foreign)
        out["context_sensitivity"] = out["key_fit"] - out["key_fit_foreign"]
    return out


def notes_follow(heard: np.ndarray, answers: np.ndarray, threshold: float) -> float:
    """The correlation of the notes in each bar heard (read as real bars are) with the notes in the
    answer to it: whether an answer to an air is sparse and one to a reel busy."""
    count = lambda bars, t: [len(metrics.bar_notes(b, t)) for b in bars]  # noqa: E731
    return metrics.count_correlation(count(heard, metrics.REAL_THRESHOLD), count(answers, threshold))


def _selection_of(runner) -> dict:
    """How a row's model chose its answers (candidates per bar and the selection weights)."""
    weights = getattr(runner, "selection", None)
    return {"candidates": getattr(runner, "candidates", 1), "selection": None if weights is None else vars(weights)}


listening_answers = phrase_eval.answers_after  # the answer to bar t having heard the bars before


def _nanmean(x) -> float:
    x = np.asarray(x, dtype=np.float64)
    return float(np.nanmean(x)) if np.isfinite(x).any() else float("nan")


def _progress(desc: str, quiet: bool):
    if quiet:
        return None
    from tqdm import tqdm

    return lambda it: tqdm(it, desc=desc, unit="sample", leave=False, mininterval=0.5)


def _step_progress(desc: str, total: int, quiet: bool):
    """A callable that advances a progress bar of `total` batched model steps (closes at the end)."""
    if quiet:
        return lambda: None
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit="step", leave=False)

    def done():
        bar.update()
        if bar.n >= total:
            bar.close()

    return done


def evaluate_row(name: str, kind: str, samples: np.ndarray, threshold: float, rng, listening: dict | None,
                 quiet: bool = True, **extra) -> dict:
    t0 = time.perf_counter()
    row = {"name": name, "kind": kind, **extra}
    row.update(metrics.summarize_samples(samples, threshold, rng=rng, progress=_progress(name, quiet)))
    row.update(listening or {})
    row["seconds"] = round(time.perf_counter() - t0 + row.get("seconds", 0.0), 2)
    return row


def evaluate(corpus, runners, n_samples: int = 2500, seed: int = 0, threshold: float = DEFAULT_THRESHOLD,
             temperature: float | None = None, from_noise: bool = False, n_keyfit: int | None = None, quiet: bool = True,
             split: str = "test", solo: bool = False, solo_tunes: int = solo_check.TUNES) -> dict:
    """The whole table as a dict {"settings", "rows", "verdicts", "phrase"} (and "solo" with
    `solo`); rows in table order; "phrase" is the listening table (srlive_training.phrase_eval),
    "solo" the solo check (srlive_training.solo_check).

    Every row sees the same protocol (drawn from `seed`), its diversity the same pairs, and every
    model the same noise, so a row's figures don't depend on which other rows are in the table."""
    proto = build_protocol(corpus, n_samples, n_keyfit or n_samples, np.random.default_rng(seed), split)
    pairs = lambda: np.random.default_rng([seed, 1])  # noqa: E731 - diversity's pair draw, per row
    real_t = metrics.REAL_THRESHOLD
    rows = [
        evaluate_row("held-out real music", "real", proto.samples, real_t, pairs(),
                     listening_measures(proto, proto.true_next, proto.foreign_next, real_t), quiet),
    ]
    used = []
    for runner in runners:
        t0 = time.perf_counter()
        temp = temperature if temperature is not None else runner.temperature
        used.append(temp)
        rng = np.random.default_rng([seed, 2])
        bar_done = _step_progress(f"{runner.name}: {START['heard']}", SAMPLE_BARS + 2, quiet)
        gen = generate(runner, "heard", SAMPLE_BARS, rng, seeds=proto.samples[:, 0], temperature=temp,
                       threshold=threshold, on_bar=bar_done)
        answers = listening_answers(runner, proto.context, rng, temp, threshold)
        bar_done()
        foreign = listening_answers(runner, proto.foreign_prev[:, None], rng, temp, threshold)
        bar_done()
        rows.append(evaluate_row(f"{runner.name} ({START['heard']})", "model", gen, threshold, pairs(),
                                 listening_measures(proto, answers, foreign, threshold), quiet,
                                 start="heard", temperature=temp, seconds=time.perf_counter() - t0, **_selection_of(runner)))
        if from_noise:
            t0 = time.perf_counter()
            gen = generate(runner, "noise", SAMPLE_BARS, np.random.default_rng([seed, 3]), n=n_samples,
                           temperature=temp, threshold=threshold,
                           on_bar=_step_progress(f"{runner.name}: {START['noise']}", SAMPLE_BARS, quiet))
            rows.append(evaluate_row(f"{runner.name} ({START['noise']})", "model", gen, threshold, pairs(), None, quiet,
                                     start="noise", temperature=temp, seconds=time.perf_counter() - t0,
                                     **_selection_of(runner)))
    rows.append(evaluate_row("baseline: random training bar", "baseline", proto.random_bars, real_t, pairs(),
                             listening_measures(proto, proto.random_answers, proto.random_answers, real_t), quiet))
    repeat = np.repeat(proto.samples[:, :1], SAMPLE_BARS, axis=1)
    rows.append(evaluate_row("baseline: repeat previous bar", "baseline", repeat, real_t, pairs(),
                             listening_measures(proto, proto.context[:, -1], proto.foreign_prev, real_t), quiet))
    for r in rows[1:]:
        r["profile_distance"] = metrics.profile_distance(r["onset_profile"], rows[0]["onset_profile"])
    rows[0]["profile_distance"] = 0.0
    verdicts = {r["name"]: verdict(r, rows[0]) for r in rows if r["kind"] == "model"}
    # one temperature for the table, or each model's own when they differ (rows carry theirs)
    temps = sorted(set(used)) or [DEFAULT_TEMPERATURE if temperature is None else temperature]
    settings = {"seed": seed, "threshold": threshold,
                "temperature": temps[0] if len(temps) == 1 else "each model's own", **proto.info}
    out = {"settings": settings, "rows": rows, "verdicts": verdicts, "anchors": ANCHORS}
    row_name = lambda runner: f"{runner.name} ({START['heard']})"  # noqa: E731 - as the main table's rows
    out["phrase"] = phrase_eval.phrase_table(corpus, runners, n_samples, seed, split, threshold, temperature, row_name,
                                             None if quiet else lambda d, n: _step_progress(d, n, quiet))
    if solo:
        out["solo"] = solo_check.solo_table(corpus, runners, seed, split, threshold, temperature, lambda r: r.name,
                                            solo_tunes)
    return out


def verdict(row: dict, real: dict) -> dict:
    """The targets: each paper and MuseGAN measure within 10% of the held-out real music
    (EB within 5 points; velocity span reported only), key fit >= 0.93, context sensitivity >= 0.30;
    and for phrases on the beat: notes per five-bar phrase within 10 %, sounding at >= 85 % of the
    steps, kept cells <= the music's + 10 points, new pitches >= the music's - 10 points, onset
    profile within 0.10 (total variation) of the music's, downbeat share within 20 %, odd-sixteenth
    share <= the music's + 5 points.
    Returns {measure: {"ok", "value", "low", "high"}}; a NaN value fails."""
    checks = {}
    for k in RELATIVE_CHECKS:
        r = real.get(k, math.nan)
        checks[k] = (r - RELATIVE_TOLERANCE * abs(r), r + RELATIVE_TOLERANCE * abs(r))
    r = real.get("empty_bars", math.nan)
    checks["empty_bars"] = (max(r - EB_TOLERANCE, 0.0), r + EB_TOLERANCE)
    checks["sounding_steps"] = (SOUNDS_TARGET, math.inf)
    checks["kept_cells"] = (-math.inf, real.get("kept_cells", math.nan) + KEPT_MARGIN)
    checks["new_pitches"] = (real.get("new_pitches", math.nan) - NEW_PITCHES_MARGIN, math.inf)
    checks["profile_distance"] = (-math.inf, PROFILE_TARGET)
    r = real.get("downbeat", math.nan)
    checks["downbeat"] = (r * (1 - DOWNBEAT_TOLERANCE), r * (1 + DOWNBEAT_TOLERANCE))
    checks["odd_steps"] = (-math.inf, real.get("odd_steps", math.nan) + ODD_STEPS_MARGIN)
    if "key_fit" in row:
        checks["key_fit"] = (KEY_FIT_TARGET, math.inf)
    if "context_sensitivity" in row:
        checks["context_sensitivity"] = (CONTEXT_TARGET, math.inf)
    out = {}
    for k, (low, high) in checks.items():
        v = row.get(k, math.nan)
        bounded = np.isfinite(low) or np.isfinite(high)
        ok = bool(np.isfinite(v) and bounded and not (np.isnan(low) or np.isnan(high)) and low - 1e-12 <= v <= high + 1e-12)
        out[k] = {"ok": ok, "value": v, "low": low, "high": high}
    return out


def to_markdown(result: dict, title: str = "srlive evaluation") -> str:
    s = result["settings"]
    lines = [
        f"## {title}",
        "",
        f"{s['samples']} five-bar samples from {s['test_tunes']} held-out {s.get('split', 'test')} tunes, {s['keyfit_items']} key-fit "
        f"items; seed {s['seed']}, threshold {s['threshold']}, temperature {s['temperature']}.",
        "",
        *tables.rows_lines(result["rows"], COLUMNS),
    ]
    anchor = {"scale_consistency": "≈87", "tone_span": "10–21", "uniqueness": "≈37", "recurrence": "≈7",
              "diversity": "≈0.59"}
    lines.append("| *paper (published)* | " + " | ".join(anchor.get(k, "") for k, _, _ in COLUMNS) + " |")
    lines += ["", f"*{ANCHOR_NOTE}.* Velocity span is reported only (the corpus has flat velocities).", ""]
    lines += tables.verdict_lines(result["verdicts"], COLUMNS)
    if "phrase" in result:
        lines += phrase_eval.markdown(result["phrase"])
    if "solo" in result:
        lines += solo_check.markdown(result["solo"])
    return "\n".join(lines)


def _jsonable(x):
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


#: The levers' rows (--levers): name suffix → (candidates or None for the row's own, weights
#: changed over the row's own); copy stays as it is in every row but one-candidate's.
LEVERS = (
    ("one candidate", 1, {}),
    ("critic only", None, {"motif": 0, "density": 0, "length": 0}),
    ("motif only", None, {"critic": 0, "density": 0, "length": 0}),
    ("all terms", None, {}),  # the model's own selection: as srlive plays it
)
LEVER_CANDIDATES = 16  # a lever row's candidates when the model's own is 1 (else the model's own)


def with_selection(runners, candidates: int | None, selection: str | None, levers: bool) -> list:
    """The runners with --candidates / --selection laid over each one's own, and with --levers one
    runner per lever row instead (srlive.model.selection names the terms)."""
    import copy

    from srlive.contract import MAX_CANDIDATES
    from srlive.model.selection import BadWeights, parse_weights

    if candidates is not None and not 1 <= candidates <= MAX_CANDIDATES:
        raise UserError(f"--candidates {candidates}: give a whole number from 1 to {MAX_CANDIDATES}")
    out = []
    for runner in runners:
        try:
            if selection is not None:
                runner.selection = parse_weights(selection, base=runner.selection, where=f"--selection {selection}")
        except BadWeights as e:
            raise UserError(str(e)) from None
        if candidates is not None:
            runner.candidates = candidates
        if not levers:
            out.append(runner)
            continue
        for suffix, n, change in LEVERS:
            row = copy.copy(runner)
            row.name = f"{runner.name} [{suffix}]"
            own = runner.candidates if runner.candidates > 1 else LEVER_CANDIDATES
            row.candidates = n or (own if candidates is None else candidates)
            row.selection = parse_weights(change, base=runner.selection)
            out.append(row)
    return out


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="srlive-eval", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="prepared corpus cache (.npz) whose test split is evaluated")
    p.add_argument("--checkpoint", action="append", default=[],
                   help="training checkpoint (.pt) or exported model directory; repeat for more rows")
    p.add_argument("--name", action="append", default=[], help="row name for each --checkpoint (default: file stem)")
    p.add_argument("--samples", type=int, default=2500, help="five-bar samples and key-fit items per row (default 2500)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, help="cell value that sounds in model output")
    p.add_argument("--temperature", type=float, default=None,
                   help="scale of the latent noise (default: each model's own: an exported model's srlive.temperature, "
                        "1 for a training checkpoint)")
    p.add_argument("--from-noise", "--model2", dest="from_noise", action="store_true",
                   help="add a row per model whose bars start from noise (--model2, after the paper's 'model 2', is the same)")
    p.add_argument("--split", default="test", choices=["test", "val"],
                   help="held-out tunes to measure on: test (the reported table) or val (choosing between checkpoints)")
    p.add_argument("--candidates", type=int, default=None, metavar="N",
                   help="answers drawn per bar to choose from (default: each model's own; 1 for a checkpoint)")
    p.add_argument("--selection", default=None, metavar="NAME=W,...",
                   help="selection weights over each model's own (critic, motif, density, length, copy)")
    p.add_argument("--levers", action="store_true",
                   help="add rows per model for each selection lever alone: one candidate, the critic only, "
                        "the motif term only, and all terms")
    p.add_argument("--solo-check", action="store_true",
                   help=f"add the solo check: each model alone for {solo_check.SOLO_BARS} bars after held-out "
                        f"phrases, {solo_check.SEEDS} seeds (empty bars, identical runs, notes per bar)")
    p.add_argument("--solo-tunes", type=int, default=solo_check.TUNES, metavar="N",
                   help=f"held-out phrases the solo check starts from (default {solo_check.TUNES})")
    p.add_argument("--out-md", help="write the markdown table here")
    p.add_argument("--out-json", help="write the figures as JSON here")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p.parse_args(argv)


def main(argv=None) -> int:
    return run_tool("srlive-eval", lambda: _evaluate_main(argv))


def _evaluate_main(argv) -> int:
    args = parse_args(argv)
    if args.samples < 2:
        raise UserError(f"--samples must be at least 2, got {args.samples}")
    if args.solo_tunes < 1:
        raise UserError(f"--solo-tunes must be at least 1, got {args.solo_tunes}")
    if len(args.name) > len(args.checkpoint):
        raise UserError("more --name than --checkpoint options")
    corpus = open_corpus(args.data)
    names = args.name + [None] * (len(args.checkpoint) - len(args.name))
    runners = [load_runner(c, name=n) for c, n in zip(args.checkpoint, names)]
    for runner in runners:
        corpus.require_width(runner.steps, f"model {runner.name}", "give a model and a corpus of one meter")
    runners = with_selection(runners, args.candidates, args.selection, args.levers)
    t0 = time.perf_counter()
    result = evaluate(corpus, runners, args.samples, args.seed, args.threshold, args.temperature,
                      args.from_noise, quiet=args.quiet, split=args.split, solo=args.solo_check,
                      solo_tunes=args.solo_tunes)
    result["settings"].update(data=str(args.data), checkpoints=list(args.checkpoint),
                              seconds=round(time.perf_counter() - t0, 1))
    md = to_markdown(result)
    for path, text in ((args.out_md, md + "\n"), (args.out_json, json.dumps(_jsonable(result), indent=2) + "\n")):
        if path:
            Path(path).write_text(text)
    print(md)
    print(f"\n({result['settings']['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
