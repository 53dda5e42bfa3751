"""srlive-eval's listening table: whether an answer sounds like the tune's own next bar, takes the
performer's rhythm and comes back to the tune's figures at the phrase.

Its items are bars t of the held-out tunes with the tune's 8 real bars before (t-8..t-1), each
item moved to a random key (-6..+5 semitones); tunes shorter than 9 bars have no such bar and are
left out (the table says how many). A model hears the 8 bars in order through srlive's answer
path (`srlive.answer.Answerer.hear`, heard = the bar, played = nothing), as the engine hears a
performer, and answers the last: whatever bars back a model listens to, it has them. The
items are drawn from their own generator, so the main table's figures do not change with them.

Rows: the held-out music (its real bar t; for the classifier, the control: real bars against real
bars), each model, and the baselines of the main table (a random training bar; the bar heard
repeated). Columns (definitions in srlive_training.metrics and srlive_training.two_sample):
- classifier: the two-sample test's cross-validated accuracy, logistic regression and
  gradient-boosted, on the 4 bars heard before t and bar t (0.5: cannot be told from the music);
- odd after even: over the items whose 4 bars heard start no note on an odd sixteenth, the share
  of the answers' onsets that do (metrics.odd_onset_share), and how many such items there are;
- returns t-k (k = 1, 2, 4, 8): the mean share of the answer's onsets (step, pitch) that the real
  bar t-k also has (metrics.shared_onsets); for the music, its bar t against its own bars before;
- solo returns t-4, t-8: the same for srlive playing alone, a chain of SOLO_ANSWERS bars each
  answering the one before from the item's 8 bars (the first SOLO_ITEMS items), measured on the
  last SOLO_MEASURED bars against the chain's own bars 4 and 8 before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from srlive.roll import transpose_roll
from srlive_training import metrics, tables, two_sample
from srlive_training.runner import continue_bars

HISTORY = 8  # real bars kept before bar t
HEARD = 4  # the bars heard the classifier and the rhythm row look at
RETURN_OFFSETS = (1, 2, 4, 8)
SOLO_ANSWERS = 16  # bars a solo chain answers for the solo columns
SOLO_MEASURED = 8  # the last of them: their bars 8 before are the chain's own
SOLO_ITEMS = 250  # chains, from the first items (a chain costs SOLO_ANSWERS answers)

CLASSIFIER_TARGET = {16: 0.65, 12: 0.75}  # by bar width: 4/4, triple
ODD_MARGIN = 0.02  # odd sixteenths after even contexts: at most the music's + 2 points
RETURNS_TOLERANCE = 0.20  # returns t-4 and t-8 (and solo): within 20 % of the music's

COLUMNS = tables.columns("classifier_logistic", "classifier_boosted", "odd_after_even", "returns_1", "returns_2",
                        "returns_4", "returns_8", "solo_returns_4", "solo_returns_8")


@dataclass
class PhraseItems:
    history: np.ndarray  # [K, 8, 88, S] real bars t-8..t-1, transposed
    true_next: np.ndarray  # [K, 88, S] real bar t, transposed alike
    random_answers: np.ndarray  # [K, 88, S] random training bars (the random-bar baseline)
    info: dict = field(default_factory=dict)


def build_items(corpus, n: int, rng: np.random.Generator, split: str) -> PhraseItems:
    """n items, uniformly over the bars t >= 8 of the split's tunes of at least 9 bars."""
    tunes = corpus.tunes(split)
    long = [t for t in tunes if len(t) > HISTORY]
    info = {"phrase_tunes": len(long), "phrase_skipped": len(tunes) - len(long)}
    if not long:
        empty = np.zeros((0, 88, corpus.steps), np.float32)
        return PhraseItems(empty[:, None].repeat(HISTORY, 1), empty, empty, dict(info, phrase_items=0))
    lengths = np.array([len(t) for t in long])
    which = rng.choice(len(long), size=n, p=(lengths - HISTORY) / (lengths - HISTORY).sum())
    t_pos = [int(rng.integers(HISTORY, lengths[w])) for w in which]
    shift = rng.integers(-6, 6, size=n)
    bars = np.stack([transpose_roll(corpus.rolls(long[w][t - HISTORY : t + 1]), int(s))
                     for w, t, s in zip(which, t_pos, shift)])
    train = np.concatenate(corpus.tunes("train") or [np.zeros(0, np.int64)])
    randoms = corpus.rolls(rng.choice(train, size=n)) if len(train) else np.zeros_like(bars[:, 0])
    return PhraseItems(bars[:, :HISTORY], bars[:, HISTORY], randoms, dict(info, phrase_items=n))


def answers_after(runner, heard: np.ndarray, rng, temperature: float, threshold: float) -> np.ndarray:
    """The runner's answers to the last of each item's bars heard [K, B, 88, S], having heard them
    all in order (as the live engine has heard the performer's bars before it answers)."""
    if not hasattr(runner, "answerers"):
        return runner.answer(heard[:, -1], rng, temperature)
    answerers = runner.answerers(len(heard), threshold)
    for answerer, bars in zip(answerers, heard):
        for bar in bars:
            answerer.hear(heard=bar)
    return runner.answer(heard[:, -1], rng, temperature, answerers, threshold)


def solo_chain(runner, heard: np.ndarray, n_bars: int, rng, temperature: float, threshold: float,
               on_bar=None) -> np.ndarray:
    """srlive playing alone after a phrase: having heard each item's bars [K, B, 88, S] in order,
    it answers the last, then each of its own answers as it sounds (srlive.roll.as_heard), which
    it hears as what it played. Returns [K, n_bars, 88, S], raw model output."""
    return continue_bars(runner, heard[:, -1], n_bars, rng, temperature, threshold, on_bar, before=heard[:, :-1])


def _nanmean(values) -> float:
    v = np.asarray(list(values), np.float64)
    return float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")


def returns(bars: list, before: list[list]) -> dict:
    """{"returns_k"}: the mean over items of metrics.shared_onsets(bar, the bar k before), for the
    note arrays of each item's bar t (`bars`) and of its bars before (`before`, oldest first)."""
    return {f"returns_{k}": _nanmean(metrics.shared_onsets(b, h[-k]) for b, h in zip(bars, before) if len(h) >= k)
            for k in RETURN_OFFSETS}


def solo_returns(chains: np.ndarray, threshold: float) -> dict:
    """{"solo_returns_k"}: returns over the last SOLO_MEASURED bars of each chain [K, T, 88, S]
    against the chain's own bars k before."""
    notes = [[metrics.bar_notes(b, threshold) for b in chain] for chain in chains]
    first = chains.shape[1] - SOLO_MEASURED
    bars = [n[t] for n in notes for t in range(first, len(n))]
    before = [n[:t] for n in notes for t in range(first, len(n))]
    return {f"solo_{k}": v for k, v in returns(bars, before).items()}


def rhythm_follows(answers: list, heard: list[list]) -> dict:
    """The odd-sixteenth share of the answers (note arrays) over the items whose bars heard
    (note arrays) start no note on an odd sixteenth, and how many items those are."""
    even = [metrics.even_only(h) for h in heard]
    return {"odd_after_even": metrics.odd_onset_share([a for a, e in zip(answers, even) if e]),
            "even_contexts": int(sum(even))}


def measures(items: PhraseItems, answers: np.ndarray, threshold: float, seed: int) -> dict:
    """A row's classifier, rhythm and returns figures for its answers [K, 88, S] to the items."""
    heard = items.history[:, -HEARD:]
    out = two_sample.classifier_test(heard, items.true_next, answers, threshold, seed)
    out = {f"classifier_{k}": v for k, v in out.items()}
    notes = [metrics.bar_notes(a, threshold) for a in answers]
    before = [[metrics.bar_notes(b, metrics.REAL_THRESHOLD) for b in h] for h in items.history]
    out.update(rhythm_follows(notes, [b[-HEARD:] for b in before]))
    out.update(returns(notes, before))
    return out


def phrase_table(corpus, runners, n: int, seed: int, split: str, threshold: float, temperature: float | None,
                 row_name, progress=None) -> dict:
    """The listening table {"info", "rows", "verdicts"}: the music, each runner, the baselines.
    `row_name(runner)` names a model's row as the main table does; `progress(desc, total)` gives
    a callable called once a model step (or None)."""
    items = build_items(corpus, n, np.random.default_rng([seed, 4]), split)
    real_t = metrics.REAL_THRESHOLD
    rows = [dict(name="held-out real music (control)", kind="real", **measures(items, items.true_next, real_t, seed))]
    for runner in runners:
        temp = temperature if temperature is not None else runner.temperature
        rows.append(dict(name=row_name(runner), kind="model", temperature=temp,
                         **model_measures(runner, items, seed, temp, threshold, progress)))
    rows.append(dict(name="baseline: random training bar", kind="baseline",
                     **measures(items, items.random_answers, real_t, seed)))
    rows.append(dict(name="baseline: repeat previous bar", kind="baseline",
                     **measures(items, items.history[:, -1], real_t, seed)))
    steps = corpus.steps
    verdicts = {r["name"]: verdict(r, rows[0], steps) for r in rows if r["kind"] == "model"}
    return {"info": items.info, "rows": rows, "verdicts": verdicts}


def model_measures(runner, items: PhraseItems, seed: int, temperature: float, threshold: float, progress=None) -> dict:
    """A model's answers to the items and its solo chains from them, measured."""
    k = len(items.true_next)
    if k == 0:
        nan = {f"solo_returns_{o}": math.nan for o in RETURN_OFFSETS}
        return dict(measures(items, items.true_next, threshold, seed), **nan)
    tick = progress(f"{runner.name}: phrases", 1 + SOLO_ANSWERS) if progress else None  # model steps
    rng = np.random.default_rng([seed, 5])
    answers = answers_after(runner, items.history, rng, temperature, threshold)
    if tick:
        tick()
    chains = solo_chain(runner, items.history[:SOLO_ITEMS], SOLO_ANSWERS, rng, temperature, threshold, tick)
    return dict(measures(items, answers, threshold, seed), **solo_returns(chains, threshold))


def check(value, low: float, high: float) -> dict:
    ok = bool(np.isfinite(value) and not (np.isnan(low) or np.isnan(high)) and low - 1e-12 <= value <= high + 1e-12)
    return {"ok": ok, "value": value, "low": low, "high": high}


def verdict(row: dict, real: dict, steps: int) -> dict:
    """The listening targets: both classifiers at most CLASSIFIER_TARGET for the bar width, odd
    sixteenths after even contexts at most the music's + 2 points, returns t-4 and t-8 (and their
    solo counterparts) within 20 % of the music's returns."""
    target = CLASSIFIER_TARGET.get(steps, CLASSIFIER_TARGET[16])
    out = {k: check(row.get(k, math.nan), -math.inf, target) for k in ("classifier_logistic", "classifier_boosted")}
    out["odd_after_even"] = check(row.get("odd_after_even", math.nan), -math.inf,
                                   real.get("odd_after_even", math.nan) + ODD_MARGIN)
    for prefix in ("returns", "solo_returns"):
        for k in (4, 8):
            music = real.get(f"returns_{k}", math.nan)
            out[f"{prefix}_{k}"] = check(row.get(f"{prefix}_{k}", math.nan), music * (1 - RETURNS_TOLERANCE),
                                          music * (1 + RETURNS_TOLERANCE))
    return out


def markdown(table: dict) -> list[str]:
    """The listening table's section of srlive-eval's markdown."""
    i = table["info"]
    even = next((r.get("even_contexts") for r in table["rows"]), 0)
    lines = ["### Listening: the classifier test, rhythm and phrase returns", "",
             f"{i['phrase_items']} bars t with their 8 real bars before, from {i['phrase_tunes']} held-out tunes "
             f"({i['phrase_skipped']} tunes shorter than 9 bars skipped), each in a random key. Classifier: 5-fold "
             f"accuracy telling bar t from the tune's real one, given the 4 bars before (the music's row is the "
             f"control, real against real). Odd 16ths after even: over the {even} items whose 4 bars heard have no "
             f"onset on an odd sixteenth. Returns t−k: onsets (step, pitch) bar t shares with the real bar k before; "
             f"solo: srlive answering its own bars for {SOLO_ANSWERS} bars from the first "
             f"{min(i['phrase_items'], SOLO_ITEMS)} items, its last {SOLO_MEASURED} against its own bars 4 and 8 "
             f"before.", "", *tables.rows_lines(table["rows"], COLUMNS), ""]
    return lines + tables.verdict_lines(table["verdicts"], COLUMNS, "Listening targets")
