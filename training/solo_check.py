"""srlive-eval --solo-check: srlive playing alone for SOLO_BARS bars after a held-out phrase.

The phrase is the first 8 bars of a held-out tune (of the split measured), heard in order through
srlive's answer path; srlive then answers the last of them and goes on answering its own bars
(srlive_training.phrase_eval.solo_chain), once per seed of SEEDS. The table counts, over all
chains: the empty bars; the longest run of identical bars (metrics.longest_identical_run); the
share of bars whose note count lies outside the music's 10th-90th percentile of notes per bar
(metrics.count_range over every bar of the split's tunes); the share of 8-bar phrases whose mean
notes per bar lies outside it (metrics.phrase_means: drifting into silence or into a flurry); and
the phrase returns of bars 9.. with their own bars 4 and 8 before. The music's row measures the
split's tunes themselves.

Targets: no empty bar, no more than RUN_LIMIT identical bars in a row, and every 8-bar phrase's
notes per bar within the music's 10th-90th percentile.
"""

from __future__ import annotations

import math

import numpy as np

from srlive_training import metrics, tables
from srlive_training.phrase_eval import HISTORY, check, returns, solo_chain

SOLO_BARS = 64
SEEDS = 5
RUN_LIMIT = 4
TUNES = 20  # held-out phrases per seed (--solo-tunes)

# empty bars: a count here, where the main table's empty_bars is a share
COLUMNS = tables.columns("chains", "bars", ("empty_bars", "empty bars", "f0"), "longest_run", "bars_outside",
                         "phrases_outside", "returns_4", "returns_8")


def opening_phrases(corpus, split: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """[n', 8, 88, S] the first 8 bars of n tunes of the split (at least 8 bars long), drawn
    without replacement (fewer when the split has fewer)."""
    tunes = [t for t in corpus.tunes(split) if len(t) >= HISTORY]
    pick = rng.choice(len(tunes), size=min(n, len(tunes)), replace=False) if tunes else []
    return np.stack([corpus.rolls(tunes[i][:HISTORY]) for i in pick]) if len(pick) else np.zeros(
        (0, HISTORY, 88, corpus.steps), np.float32)


def chain_measures(chains, threshold: float, low: float, high: float) -> dict:
    """The solo figures of chains of bars (a list of [T, 88, S], any lengths) read with
    `threshold`, against the music's range [low, high] of notes per bar."""
    notes = [[metrics.bar_notes(b, threshold) for b in c] for c in chains]
    counts = [[len(b) for b in n] for n in notes]
    flat = [c for cs in counts for c in cs]
    means = np.concatenate([metrics.phrase_means(c) for c in counts] or [np.zeros(0)])
    bars = [n[t] for n in notes for t in range(HISTORY, len(n))]
    before = [n[:t] for n in notes for t in range(HISTORY, len(n))]
    out = {"chains": len(chains), "bars": len(flat), "empty_bars": sum(c == 0 for c in flat),
           "longest_run": max((metrics.longest_identical_run(c, threshold) for c in chains), default=0),
           "bars_outside": metrics.outside_share(flat, low, high),
           "phrases_outside": metrics.outside_share(means, low, high)}
    out.update({k: v for k, v in returns(bars, before).items() if k in ("returns_4", "returns_8")})
    return out


def solo_table(corpus, runners, seed: int, split: str, threshold: float, temperature: float | None,
               row_name, n_tunes: int = TUNES) -> dict:
    """The solo table {"info", "rows", "verdicts"}: the split's tunes, then each runner's chains."""
    tunes = [corpus.rolls(t) for t in corpus.tunes(split)]
    counts = [len(metrics.bar_notes(b, metrics.REAL_THRESHOLD)) for t in tunes for b in t]
    low, high = metrics.count_range(counts)
    heard = opening_phrases(corpus, split, n_tunes, np.random.default_rng([seed, 6]))
    rows = [dict(name="held-out real music (the tunes whole)", kind="real",
                 **chain_measures(tunes, metrics.REAL_THRESHOLD, low, high))]
    for runner in runners:
        temp = temperature if temperature is not None else runner.temperature
        chains = [c for s in range(SEEDS) for c in solo_chain(runner, heard, SOLO_BARS, np.random.default_rng(
            [seed, 7, s]), temp, threshold)] if len(heard) else []
        rows.append(dict(name=row_name(runner), kind="model", temperature=temp,
                         **chain_measures(chains, threshold, low, high)))
    info = {"solo_bars": SOLO_BARS, "solo_seeds": SEEDS, "solo_phrases": len(heard), "notes_p10": low,
            "notes_p90": high}
    return {"info": info, "rows": rows, "verdicts": {r["name"]: verdict(r) for r in rows if r["kind"] == "model"}}


def verdict(row: dict) -> dict:
    """No empty bar, at most RUN_LIMIT identical bars in a row, no 8-bar phrase outside the range."""
    return {"empty_bars": check(row.get("empty_bars", math.nan), 0, 0),
            "longest_run": check(row.get("longest_run", math.nan), 0, RUN_LIMIT),
            "phrases_outside": check(row.get("phrases_outside", math.nan), 0, 0)}


def markdown(table: dict) -> list[str]:
    """The solo check's section of srlive-eval's markdown."""
    i = table["info"]
    lines = ["### Solo check", "",
             f"srlive alone for {i['solo_bars']} bars after the first 8 bars of {i['solo_phrases']} held-out tunes, "
             f"{i['solo_seeds']} seeds; the music's notes per bar: 10th percentile {i['notes_p10']:g}, 90th "
             f"{i['notes_p90']:g}.", "", *tables.rows_lines(table["rows"], COLUMNS), ""]
    return lines + tables.verdict_lines(table["verdicts"], COLUMNS, "Solo targets")
