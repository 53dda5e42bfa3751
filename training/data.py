"""Training data: the music21 corpus (and any folder of .mid files) → a cached BarCorpus of bar rolls.

    python -m srlive_training.data --cache-dir /work/cache          # all six sources, 2 workers
    python -m srlive_training.data --sources nottingham-dataset bach --max-tunes 50
    python -m srlive_training.data --midi-dir ~/midi --sources       # only a folder of .mid files

Sources (music21's own corpus; `--sources` names): oneills1850, ryansMammoth, airdsAirs,
essenFolksong, nottingham-dataset (ABC files: each X: block is one tune) and bach (the chorales:
each file is one tune, all voices). Any `--midi-dir` adds its .mid/.midi files (recursively), one
tune each.

Choices, as DESIGN.md leaves them to us
---------------------------------------
* A bar is 4 quarter notes = 16 sixteenth steps, whatever the tune's meter. Bars are consecutive
  4-quarter windows starting at the tune's first full measure: a pickup (anacrusis) is skipped —
  only its notes still sounding at the first bar line show, from step 0.
* Meters: a tune is kept only when its meter has a full measure of 1, 2, 4, 8 or 16 quarters
  (2/4, 4/4, C, 2/2, C|, 4/2, 2/8, 4/8, 2/1, 4/1...), so that 4-quarter windows fall on bar
  lines. Tunes in other meters (3/4, 6/8, 9/8, 3/2, 6/4, 5/4...) and tunes without a meter
  ("M: none", free rhythm) are dropped, counted per reason ("meter 6/8", "no meter"). A tune may
  spend up to 10% of its length under another meter (an odd measure; or the 1/16, 1/8 meters
  music21 invents for a stray short measure in ABC): bars re-anchor after it (next point).
* Windows stay on bar lines across irregular measures: after each window the next starts 4
  quarters later if that point is a measure start (or a 4-quarter point inside a long measure);
  otherwise (e.g. a 3-beat first ending followed by a full second ending) it moves on to the
  next full measure, skipping the less-than-a-bar in between. A short end-of-part measure plus
  the next part's pickup that together make a bar stay one bar, as played.
* Each bar is the 88x16 roll of DESIGN.md made by srlive.roll.notes_to_roll: onsets and ends
  quantised to the nearest sixteenth (half rounds up), every note at least one step, pitches
  folded into the keyboard. A note that crosses a bar line is still sounding in the next bar, so
  it appears in both: to the end of the first, and from step 0 of the next.
* Empty bars at the start and the end of a tune are dropped (silence inside a tune is kept);
  tunes with fewer than 2 bars are dropped ("too short"): they give no pair; so are tunes with
  no full measure ("no full measure": e.g. ABC without L: whose default halves every measure).
* Velocities: ABC and MusicXML carry none, so every note of the melody (and every voice of a
  Bach chorale) has velocity 90 and the chord-symbol accompaniment 70; .mid files keep theirs.
  Chord symbols become a closed root-position block chord around MIDI 48-60 that sounds until the
  next symbol (srlive_training.chords).
* Duplicates: the same tune in several collections (or twice in one, or transposed) would leak
  across splits. Tunes whose bars are identical up to transposition are kept once (the first in
  source order) and the others counted as "duplicate".
* Split by tune, deterministic: sha1("<seed>:<tune name>") mod 1000 → < 900 train, < 950
  validation, else test. Tune names are "collection/file#n" (n = position of the tune in its ABC
  file, 1-based) or "collection/file" for one-tune files.
* A tune that fails to parse (or takes longer than 120 s) is counted and named in the summary, and
  skipped; a file that cannot be read at all likewise. Never fatal.
* Cache: ``<cache_dir>/bars-<key>.npz`` (BarCorpus.save) plus ``bars-<key>.json`` (the summary)
  and ``bars-<key>.splits.json`` (tune names per split). The key hashes every input file's
  relative path, size and sha1, the music21 and pretty_midi versions, this module's FORMAT, and all
  settings (sources, midi dirs' contents, max_tunes, seed, velocities, meters). cache_dir defaults
  to $SRLIVE_CACHE, else ~/.cache/srlive.

For the trainer: `load_corpus(...)`, `iterate_batches(...)`, `augment_transpose(...)`.

Measured (music21 10.5.1, all six sources, 2 workers on a shared 2-core machine: 18 min): 13,177
tunes found → 7,662 kept, 96,099 bars; 90/5/5 split = 6,910/371/381 tunes, 79,816/4,398/4,223
pairs. Most drops are meters (essenFolksong 3/4 1,686 and 6/8 936; oneills1850 6/8 664), 150
duplicates (mostly O'Neill's overlapping files), 1 tune failed to parse (that cache's summary says 4:
3 O'Neill tunes without L: were counted as failures before they became "no full measure" drops). Chord symbols are rare in this
corpus: only the 2 nottingham-dataset tunes and 6 O'Neill/Ryan tunes carry them. The cache is 1 MB.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from srlive.errors import UserError
from srlive.roll import LOWEST_PITCH, N_PITCHES, STEPS, Note, notes_to_roll
from srlive_training.corpus import SPLITS, BarCorpus

FORMAT = 1  # bump when the bars this module makes change for the same inputs and settings
FOLK_SOURCES = ("oneills1850", "ryansMammoth", "airdsAirs", "essenFolksong", "nottingham-dataset")
ALL_SOURCES = FOLK_SOURCES + ("bach",)
_ALIASES = {s.lower(): s for s in ALL_SOURCES} | {"nottingham": "nottingham-dataset", "chorales": "bach"}
SCORE_SUFFIXES = (".mxl", ".xml", ".musicxml", ".krn")
MIDI_SUFFIXES = (".mid", ".midi")

BAR_QUARTERS = 4.0
MELODY_VELOCITY = 90
CHORD_VELOCITY = 70
ALLOWED_BAR_QUARTERS = (1.0, 2.0, 4.0, 8.0, 16.0)
MAX_ODD_SHARE = 0.1  # of a tune's measured length that may be under another meter
SPLIT_PER_MILLE = (900, 950)  # < 900 train, < 950 val, else test
TUNES_PER_TASK = 20
TUNE_TIMEOUT_S = 120
_EPS = 1e-6


def default_cache_dir() -> Path:
    env = os.environ.get("SRLIVE_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "srlive"


def settings_dict(sources: Sequence[str], max_tunes: int | None, seed: int) -> dict:
    """Every setting that changes the bars or the split (part of the cache key and the summary)."""
    return {
        "format": FORMAT,
        "sources": list(sources),
        "max_tunes_per_collection": max_tunes,
        "seed": int(seed),
        "bar_quarters": BAR_QUARTERS,
        "steps": STEPS,
        "lowest_pitch": LOWEST_PITCH,
        "melody_velocity": MELODY_VELOCITY,
        "chord_velocity": CHORD_VELOCITY,
        "bach_velocity": MELODY_VELOCITY,
        "midi_velocity": "from file",
        "allowed_bar_quarters": list(ALLOWED_BAR_QUARTERS),
        "max_odd_meter_share": MAX_ODD_SHARE,
        "split_rule": f"sha1('<seed>:<name>') % 1000: <{SPLIT_PER_MILLE[0]} train, "
        f"<{SPLIT_PER_MILLE[1]} val, else test",
        "dedupe": "bars identical up to transposition; first in source order kept",
        "repeats": "not expanded",
        "grace_notes": "dropped",
    }


# ------------------------------------------------------------------ cutting a tune into bars (pure)


def window_starts(measures: Sequence[tuple[float, float, float]], music_end: float) -> list[float]:
    """Start (in quarters) of each 4-quarter bar of a tune, kept on bar lines (see module doc).

    measures: (start, actual length, nominal bar length) in order. music_end: end of the last note.
    """
    ms = sorted(m for m in measures if m[1] > _EPS)
    full = [m for m in ms if m[1] >= m[2] - _EPS and _allowed(m[2])]
    if not full:
        return []
    ends = [m[0] + m[1] for m in ms]

    def on_grid(x: float) -> bool:
        for (start, _, _), end in zip(ms, ends):
            if start - _EPS <= x < end - _EPS:
                r = (x - start) % BAR_QUARTERS
                return r < _EPS or r > BAR_QUARTERS - _EPS
        return True  # past the last measure (or in a gap): nothing to misalign

    out: list[float] = []
    t = full[0][0]
    while t < music_end - _EPS:
        out.append(t)
        nxt = t + BAR_QUARTERS
        if not on_grid(nxt):
            later = [m[0] for m in full if m[0] >= nxt - _EPS]
            nxt = later[0] if later else nxt
        t = nxt
    return out


def _allowed(bar_quarters: float) -> bool:
    return any(abs(bar_quarters - a) < _EPS for a in ALLOWED_BAR_QUARTERS)


def meter_problem(ev) -> str | None:
    """Why a tune's meter rules it out, or None (see the module doc).

    Measures under a meter we can't cut into 4-quarter bars may make up at most MAX_ODD_SHARE of
    the tune: music21 gives a stray short measure in an ABC tune a meter of its own (1/16, 3/8...),
    and an odd measure or two in a 4/4 tune only costs a re-anchoring of the bars.
    """
    if not ev.meters:
        return "no meter"
    ratio_of = {}
    for ratio, length in zip(ev.meters, ev.bar_lengths):
        ratio_of.setdefault(round(length, 6), ratio)
    total = sum(m[1] for m in ev.measures)
    odd: dict[float, float] = {}
    for _, length, nominal in ev.measures:
        if not _allowed(nominal):
            odd[round(nominal, 6)] = odd.get(round(nominal, 6), 0.0) + length
    if not ev.measures:  # nothing measured: judge the declared meters
        odd = {round(l, 6): 1.0 for l in ev.bar_lengths if not _allowed(l)}
        total = 1.0
    if sum(odd.values()) > MAX_ODD_SHARE * total:
        worst = max(odd, key=odd.get)
        return f"meter {ratio_of.get(worst, f'of {worst:g} quarters')}"
    return None


def _step(q: np.ndarray) -> np.ndarray:
    """Quarters → nearest sixteenth step (half rounds up)."""
    return np.floor(np.asarray(q, dtype=np.float64) * (STEPS / BAR_QUARTERS) + 0.5).astype(np.int64)


def cut_bars(notes: Sequence[tuple[int, float, float, int]], starts: Sequence[float]) -> np.ndarray:
    """uint8 velocity rolls [W, 88, 16] of the windows starting at `starts` (in quarters).

    Each note is quantised once on the tune's sixteenth grid and painted, clipped, into every
    window it sounds in (srlive.roll.notes_to_roll).
    """
    bars = np.zeros((len(starts), N_PITCHES, STEPS), dtype=np.uint8)
    if not len(notes) or not len(starts):
        return bars
    arr = np.asarray(notes, dtype=np.float64)
    pitch, vel = arr[:, 0].astype(np.int64), arr[:, 3].astype(np.int64)
    on = _step(arr[:, 1])
    off = np.maximum(_step(arr[:, 2]), on + 1)
    for w, s in enumerate(_step(np.asarray(starts))):
        sel = np.nonzero((on < s + STEPS) & (off > s))[0]
        if len(sel):
            roll = notes_to_roll(Note(int(pitch[i]), int(on[i] - s), int(off[i] - s), int(vel[i])) for i in sel)
            bars[w] = np.rint(roll * 127.0).astype(np.uint8)
    return bars


def tune_bars(ev) -> tuple[np.ndarray | None, str | None]:
    """(bars, None) for a kept tune, or (None, reason) for a dropped one."""
    problem = meter_problem(ev)
    if problem:
        return None, problem
    if not ev.notes:
        return None, "no notes"
    music_end = max(n[2] for n in ev.notes)
    starts = window_starts(ev.measures, music_end)
    if not starts:  # e.g. an ABC tune without L: whose default note length halves every measure
        return None, "no full measure"
    bars = cut_bars(ev.notes, starts)
    filled = np.nonzero(bars.reshape(len(bars), -1).any(axis=1))[0]
    if len(filled) < 2:
        return None, "too short"
    bars = bars[filled[0] : filled[-1] + 1]
    return bars, None


def content_key(bars: np.ndarray) -> str:
    """Hash of a tune's bars up to transposition (for finding duplicates)."""
    rows = np.nonzero(bars.any(axis=(0, 2)))[0]
    core = bars[:, rows[0] : rows[-1] + 1, :] if len(rows) else bars
    h = hashlib.sha1(np.ascontiguousarray(core).tobytes())
    h.update(str(core.shape).encode())
    return h.hexdigest()


def split_of(name: str, seed: int = 0) -> int:
    """0 train, 1 val, 2 test — from the tune's name alone (deterministic, order-free)."""
    v = int.from_bytes(hashlib.sha1(f"{seed}:{name}".encode()).digest()[:8], "big") % 1000
    return 0 if v < SPLIT_PER_MILLE[0] else 1 if v < SPLIT_PER_MILLE[1] else 2


# ------------------------------------------------------------------ inputs


@dataclass
class SourceFile:
    collection: str
    rel: str  # path inside the collection (names the tunes)
    path: Path
    kind: str  # "abc", "score" or "midi"


def corpus_root() -> Path:
    from music21 import common

    return Path(common.getCorpusFilePath())


def normalise_sources(sources: Sequence[str] | None) -> list[str]:
    if sources is None:
        return list(ALL_SOURCES)
    out: list[str] = []
    for s in sources:
        name = _ALIASES.get(str(s).lower())
        if name is None:
            raise UserError(f"unknown source {s!r}: choose from {', '.join(ALL_SOURCES)}")
        if name not in out:
            out.append(name)
    return out


def list_files(sources: Sequence[str], midi_dirs: Sequence[str | os.PathLike] = ()) -> list[SourceFile]:
    """The input files, in a fixed order: collections as given, then each midi dir; sorted paths."""
    files: list[SourceFile] = []
    if sources:
        from music21 import corpus

        root = corpus_root()
        core = sorted(Path(p) for p in corpus.getCorePaths())
        for name in sources:
            for p in core:
                rel = p.relative_to(root) if p.is_relative_to(root) else None
                if rel is None or rel.parts[0] != name:
                    continue
                suffix = p.suffix.lower()
                if name == "bach":
                    if suffix in SCORE_SUFFIXES and "choraleAnalyses" not in rel.parts:
                        files.append(SourceFile(name, "/".join(rel.parts[1:]), p, "score"))
                elif suffix == ".abc":
                    files.append(SourceFile(name, "/".join(rel.parts[1:]), p, "abc"))
    for d in midi_dirs:
        d = Path(d).expanduser()
        if not d.is_dir():
            raise UserError(f"--midi-dir {d}: no such folder")
        found = sorted(p for p in d.rglob("*") if p.is_file() and p.suffix.lower() in MIDI_SUFFIXES)
        if not found:
            raise UserError(f"--midi-dir {d}: no .mid files in it")
        coll = f"midi:{d.resolve().name}"
        files.extend(SourceFile(coll, p.relative_to(d).as_posix(), p, "midi") for p in found)
    return files


def _file_digest(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def cache_key(files: Sequence[SourceFile], settings: dict) -> str:
    import music21

    try:
        import pretty_midi

        pm_version = getattr(pretty_midi, "__version__", "?")
    except ImportError:  # pragma: no cover - pretty_midi is in the train extra
        pm_version = None
    h = hashlib.sha1()
    h.update(json.dumps({"settings": settings, "music21": music21.__version__, "pretty_midi": pm_version},
                        sort_keys=True).encode())
    for f in files:
        try:
            size, digest = f.path.stat().st_size, _file_digest(f.path)
        except OSError:
            size, digest = -1, "unreadable"
        h.update(f"\n{f.collection}\t{f.rel}\t{size}\t{digest}".encode())
    return h.hexdigest()[:16]


# ------------------------------------------------------------------ parsing (in worker processes)


@dataclass
class Task:
    file: SourceFile
    items: list[tuple[int, str | None]]  # (tune number in file, ABC text) or (0, None) for whole file


@dataclass
class TuneResult:
    collection: str
    file_index: int
    number: int
    name: str
    bars: np.ndarray | None = None
    reason: str | None = None  # why dropped
    error: str | None = None  # why it failed to parse
    n_chords: int = 0


class _Timeout(Exception):
    pass


def _alarm(seconds: int):
    import signal
    import threading

    if not hasattr(signal, "SIGALRM") or threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):
        raise _Timeout(f"took longer than {seconds} s")

    old = signal.signal(signal.SIGALRM, handler)
    signal.alarm(seconds)
    return old


def _clear_alarm(old):
    import signal

    if old is not None:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def parse_tune(file: SourceFile, text: str | None):
    """TuneEvents of one tune (ABC text, a score file or a .mid file). Raises on failure."""
    from srlive_training.abc import parse_abc_tune, score_events

    if file.kind == "abc":
        return score_events(parse_abc_tune(text), MELODY_VELOCITY, CHORD_VELOCITY)
    if file.kind == "score":
        from music21 import converter

        return score_events(converter.parse(str(file.path)), MELODY_VELOCITY, CHORD_VELOCITY)
    from srlive_training.midi_files import midi_events

    return midi_events(file.path)


def run_task(job: tuple[int, Task]) -> list[TuneResult]:
    file_index, task = job
    f = task.file
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # music21 warns about every oddity of every ABC tune
        for number, text in task.items:
            out.append(_run_one(f, file_index, number, text))
    return out


def _run_one(f: SourceFile, file_index: int, number: int, text: str | None) -> TuneResult:
    """Parse and cut one tune; any failure is recorded in the result, never raised."""
    name = f"{f.collection}/{f.rel}" + (f"#{number}" if f.kind == "abc" else "")
    res = TuneResult(f.collection, file_index, number, name)
    old = _alarm(TUNE_TIMEOUT_S)
    try:
        ev = parse_tune(f, text)
        res.bars, res.reason = tune_bars(ev)
        res.n_chords = ev.n_chords
    except Exception as exc:  # noqa: BLE001 - any failure of a third-party parser is counted
        res.error = f"{type(exc).__name__}: {' '.join(str(exc).split())[:160]}"
    finally:
        _clear_alarm(old)
    return res


def make_tasks(files: Sequence[SourceFile], max_tunes: int | None) -> tuple[list[tuple[int, Task]], list[TuneResult]]:
    """Work units (≤ TUNES_PER_TASK ABC tunes each), plus results for files that can't be read."""
    from srlive_training.abc import decode_text, split_abc

    tasks: list[tuple[int, Task]] = []
    unreadable: list[TuneResult] = []
    taken: dict[str, int] = {}
    for i, f in enumerate(files):
        left = None if max_tunes is None else max_tunes - taken.get(f.collection, 0)
        if left is not None and left <= 0:
            continue
        if f.kind == "abc":
            try:
                tunes = split_abc(decode_text(f.path.read_bytes()))
            except OSError as exc:
                unreadable.append(TuneResult(f.collection, i, 0, f"{f.collection}/{f.rel}",
                                             error=f"{type(exc).__name__}: {exc}"))
                continue
            items = list(enumerate(tunes, start=1))[:left]
            for k in range(0, len(items), TUNES_PER_TASK):
                tasks.append((i, Task(f, items[k : k + TUNES_PER_TASK])))
            taken[f.collection] = taken.get(f.collection, 0) + len(items)
        else:
            tasks.append((i, Task(f, [(0, None)])))
            taken[f.collection] = taken.get(f.collection, 0) + 1
    return tasks, unreadable


def parse_all(tasks, workers: int, progress: bool) -> list[TuneResult]:
    from tqdm import tqdm

    total = sum(len(t.items) for _, t in tasks)
    results: list[TuneResult] = []
    # biggest first, so the long ones don't finish last on one core
    order = sorted(tasks, key=lambda jt: -len(jt[1].items) * (3 if jt[1].file.kind == "score" else 1))
    with tqdm(total=total, unit="tune", desc="parsing", disable=not progress, dynamic_ncols=True) as bar:
        if workers <= 1:
            for job in order:
                results.extend(run_task(job))
                bar.update(len(job[1].items))
        else:
            import multiprocessing as mp

            with mp.get_context().Pool(workers) as pool:
                for chunk in pool.imap_unordered(run_task, order):
                    results.extend(chunk)
                    bar.update(len(chunk))
    results.sort(key=lambda r: (r.file_index, r.number))
    return results


# ------------------------------------------------------------------ assembling the corpus


def assemble(results: Sequence[TuneResult], files: Sequence[SourceFile], settings: dict, key: str) -> BarCorpus:
    seed = settings["seed"]
    collections = list(dict.fromkeys(f.collection for f in files))
    per = {c: {"files": 0, "tunes_found": 0, "tunes_kept": 0, "bars": 0, "failed": 0, "dropped": {},
               "chord_symbols": 0, "tunes_with_chords": 0} for c in collections}
    for f in files:
        per[f.collection]["files"] += 1
    failures: list[dict] = []
    duplicates: list[list[str]] = []
    seen: dict[str, str] = {}
    kept: list[TuneResult] = []
    for r in results:
        c = per[r.collection]
        c["tunes_found"] += 1
        if r.error is not None:
            c["failed"] += 1
            failures.append({"name": r.name, "error": r.error})
            continue
        if r.bars is None:
            c["dropped"][r.reason] = c["dropped"].get(r.reason, 0) + 1
            continue
        k = content_key(r.bars)
        if k in seen:
            c["dropped"]["duplicate"] = c["dropped"].get("duplicate", 0) + 1
            duplicates.append([r.name, seen[k]])
            continue
        seen[k] = r.name
        kept.append(r)
        c["tunes_kept"] += 1
        c["bars"] += len(r.bars)
        c["chord_symbols"] += r.n_chords
        c["tunes_with_chords"] += int(r.n_chords > 0)

    names = [r.name for r in kept]
    split = np.array([split_of(n, seed) for n in names], dtype=np.int8)
    bars = np.concatenate([r.bars for r in kept]) if kept else np.zeros((0, N_PITCHES, STEPS), np.uint8)
    tune = np.repeat(np.arange(len(kept), dtype=np.int32), [len(r.bars) for r in kept])
    for c in per.values():
        c["dropped"] = dict(sorted(c["dropped"].items(), key=lambda kv: -kv[1]))
    corpus = BarCorpus(bars=bars, tune=tune, split=split, names=names)
    split_counts = {}
    for s, v in SPLITS.items():
        ids = corpus.tune_ids(s)
        split_counts[s] = {"tunes": int(len(ids)), "bars": int(np.isin(tune, ids).sum()),
                           "pairs": int(len(corpus.pairs(s)))}
    digest = hashlib.sha1("\n".join(f"{n}\t{s}" for n, s in zip(names, split.tolist())).encode()).hexdigest()
    import music21

    corpus.summary = {
        "key": key,
        "format": FORMAT,
        "sources": collections,
        "settings": settings,
        "music21": music21.__version__,
        "velocities": {"melody": MELODY_VELOCITY, "chords": CHORD_VELOCITY, "bach": MELODY_VELOCITY,
                       "midi": "from file"},
        "tunes": len(names),
        "bars": int(len(bars)),
        "per_collection": per,
        "per_split": split_counts,
        "split_digest": digest,
        "failed": len(failures),
        "failures": failures[:200],
        "duplicates": len(duplicates),
        "duplicate_examples": duplicates[:50],
    }
    return corpus


def build_corpus(files: Sequence[SourceFile], settings: dict, key: str, workers: int = 2,
                 progress: bool = False) -> BarCorpus:
    """Parse `files` (in parallel), cut and assemble the corpus; nothing is saved."""
    t0 = time.perf_counter()
    tasks, unreadable = make_tasks(files, settings.get("max_tunes_per_collection"))
    results = sorted(unreadable + parse_all(tasks, workers, progress), key=lambda r: (r.file_index, r.number))
    corpus = assemble(results, files, settings, key)
    corpus.summary["prepare_seconds"] = round(time.perf_counter() - t0, 1)
    corpus.summary["workers"] = workers
    return corpus


def split_names(corpus: BarCorpus) -> dict[str, list[str]]:
    """Tune names per split (also written beside the cache as bars-<key>.splits.json)."""
    return {s: [corpus.names[i] for i in corpus.tune_ids(s)] for s in SPLITS}


def cache_path(cache_dir: str | os.PathLike, key: str) -> Path:
    return Path(cache_dir).expanduser() / f"bars-{key}.npz"


def _resolve(sources, midi_dirs, cache_dir, max_tunes, seed):
    sources = normalise_sources(sources)
    files = list_files(sources, midi_dirs)
    if not files:
        raise UserError("no input: give --sources and/or --midi-dir")
    settings = settings_dict(sources, max_tunes, seed)
    settings["midi_dirs"] = [Path(d).expanduser().resolve().name for d in midi_dirs]
    key = cache_key(files, settings)
    return files, settings, key, Path(cache_dir).expanduser() if cache_dir else default_cache_dir()


def prepare(
    sources: Sequence[str] | None = ALL_SOURCES,
    midi_dirs: Sequence[str | os.PathLike] = (),
    cache_dir: str | os.PathLike | None = None,
    workers: int = 2,
    max_tunes: int | None = None,
    progress: bool = True,
    seed: int = 0,
) -> BarCorpus:
    """Parse every input, cut the bars, split, and save the cache (always parses; see load_corpus)."""
    files, settings, key, cdir = _resolve(sources, midi_dirs, cache_dir, max_tunes, seed)
    corpus = build_corpus(files, settings, key, workers, progress)
    path = cache_path(cdir, key)
    corpus.summary["cache_path"] = str(path)
    corpus.save(path)
    path.with_suffix(".splits.json").write_text(json.dumps(split_names(corpus), indent=1))
    return corpus


def load_corpus(
    cache_dir: str | os.PathLike | None = None,
    sources: Sequence[str] | None = ALL_SOURCES,
    midi_dirs: Sequence[str | os.PathLike] = (),
    workers: int = 2,
    max_tunes: int | None = None,
    progress: bool = True,
    seed: int = 0,
) -> BarCorpus:
    """The cached corpus for these inputs and settings; prepares it first when missing."""
    _, _, key, cdir = _resolve(sources, midi_dirs, cache_dir, max_tunes, seed)
    path = cache_path(cdir, key)
    if path.exists():
        return BarCorpus.load(path)
    return prepare(sources, midi_dirs, cdir, workers, max_tunes, progress, seed)


# ------------------------------------------------------------------ augmentation and batches


MAX_SHIFT = 12  # augment_transpose's limit: a row pushed off the keyboard folds back exactly once


def _shift(x: np.ndarray, ks: np.ndarray) -> np.ndarray:
    """Each x[i] ([..., 88, 16]) shifted by ks[i] semitones (|k| <= 12) — srlive.roll.transpose_roll
    for a batch: rows pushed off the top come back an octave lower (and off the bottom, an octave
    higher), keeping the louder value where they land on a sounding cell. One pass per interval."""
    out = np.empty_like(x)
    top = N_PITCHES - 12  # first row of the top octave
    for k in np.unique(ks):
        k = int(k)
        sel = np.nonzero(ks == k)[0]
        xs = x[sel]
        o = np.zeros_like(xs)
        if k >= 0:
            o[..., k:, :] = xs[..., : N_PITCHES - k, :]
            seg = o[..., top : top + k, :]
            np.maximum(seg, xs[..., N_PITCHES - k :, :], out=seg)
        else:
            o[..., : N_PITCHES + k, :] = xs[..., -k:, :]
            seg = o[..., 12 + k : 12, :]
            np.maximum(seg, xs[..., :-k, :], out=seg)
        out[sel] = o
    return out


def augment_transpose(prev: np.ndarray, nxt: np.ndarray, rng: np.random.Generator, low: int = -5, high: int = 6,
                      *more: np.ndarray):
    """Shift each pair (prev[i], nxt[i]) — and the i-th bar of every array in `more` with them —
    by one random interval in [low, high) semitones.

    Works on [N, 88, 16] or [N, 1, 88, 16]; rows pushed off the keyboard fold back by an octave
    (as srlive.roll.transpose_roll). Returns new arrays (prev, nxt, *more) of the same shape and
    dtype. The random draws are the same whatever `more` holds.
    """
    if not -MAX_SHIFT <= low < high <= MAX_SHIFT + 1:
        raise ValueError(f"shifts must lie within ±{MAX_SHIFT} semitones, got [{low}, {high})")
    arrays = [np.asarray(a) for a in (prev, nxt, *more)]
    if any(a.shape != arrays[0].shape for a in arrays):
        raise ValueError(f"prev {arrays[0].shape} and the other bars {[a.shape for a in arrays[1:]]} differ")
    ks = rng.integers(low, high, size=len(arrays[0]))
    moved = _shift(np.stack(arrays, axis=1), ks)
    return tuple(np.ascontiguousarray(moved[:, j]) for j in range(len(arrays)))


def iterate_batches(
    corpus: BarCorpus,
    split: str,
    batch_size: int,
    rng: np.random.Generator | int,
    augment: bool = True,
    rank: int = 0,
    world_size: int = 1,
    drop_last: bool = True,
    with_after: bool = False,
) -> Iterator[tuple[np.ndarray, ...]]:
    """One epoch of (prev, next) float32 batches [N, 1, 88, 16] in [0, 1], shuffled by rng.

    with_after: (prev, next, after, has_after) instead, where after is the bar that follows next
    in its tune (zeros where next is the tune's last bar) and has_after [N] bool says which rows
    have one — what training on the model's own answers needs (TrainConfig.own_prev_share). The
    random draws, and so prev and next, are the same either way.

    For DDP every rank passes an rng in the same state (same seed and epoch): they draw the same
    permutation and each takes its own contiguous slice, disjoint from the others. With drop_last
    the slices are equal and so is every rank's number of batches (what DDP needs); without it the
    remainder pairs go to the first ranks and a last short batch is yielded.
    """
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} outside world of {world_size}")
    pairs = corpus.pairs(split)
    order = pairs[rng.permutation(len(pairs))]
    if drop_last:
        order = order[: len(order) // world_size * world_size]
    mine = np.array_split(order, world_size)[rank]
    aug_rng = np.random.default_rng([int(rng.integers(2**62)), rank])
    stop = len(mine) - len(mine) % batch_size if drop_last else len(mine)
    for b in range(0, stop, batch_size):
        idx = mine[b : b + batch_size]
        prev = corpus.rolls(idx)[:, None]
        nxt = corpus.rolls(idx + 1)[:, None]
        if not with_after:
            if augment:
                prev, nxt = augment_transpose(prev, nxt, aug_rng)
            yield prev, nxt
            continue
        two = np.minimum(idx + 2, len(corpus.tune) - 1)
        has_after = (idx + 2 < len(corpus.tune)) & (corpus.tune[two] == corpus.tune[idx])
        after = corpus.rolls(two)[:, None] * has_after[:, None, None, None]
        if augment:
            prev, nxt, after = augment_transpose(prev, nxt, aug_rng, -5, 6, after)
        yield prev, nxt, after, has_after


# ------------------------------------------------------------------ CLI


def preview_pngs(corpus: BarCorpus, out_dir: str | os.PathLike, n_bars: int = 4, seed: int = 0) -> list[Path]:
    """One piano-roll PNG per collection: the first n_bars of a tune drawn at random (a look at
    what the model is fed)."""
    from srlive_training.plots import piano_roll_png

    rng = np.random.default_rng(seed)
    starts = np.searchsorted(corpus.tune, np.arange(corpus.n_tunes))
    ends = np.searchsorted(corpus.tune, np.arange(corpus.n_tunes), side="right")
    by_coll: dict[str, list[int]] = {}
    for t, name in enumerate(corpus.names):
        by_coll.setdefault(name.split("/", 1)[0], []).append(t)
    out = []
    for coll, tunes in by_coll.items():
        t = int(rng.choice(tunes))
        stop = min(ends[t], starts[t] + n_bars)
        path = Path(out_dir) / f"{coll.replace(':', '_').replace('/', '_')}.png"
        out.append(piano_roll_png(corpus.rolls(np.arange(starts[t], stop)), path, title=corpus.names[t]))
    return out


def format_table(summary: dict) -> str:
    rows = [("collection", "files", "tunes", "kept", "bars", "failed", "dropped (top reasons)")]
    for c, v in summary["per_collection"].items():
        top = ", ".join(f"{k} {n}" for k, n in list(v["dropped"].items())[:4])
        rows.append((c, v["files"], v["tunes_found"], v["tunes_kept"], v["bars"], v["failed"], top))
    rows.append(("", "", "", "", "", "", ""))
    for s, v in summary["per_split"].items():
        rows.append((f"split {s}", "", "", v["tunes"], v["bars"], "", f"{v['pairs']} pairs"))
    widths = [max(len(str(r[i])) for r in rows) for i in range(6)]
    return "\n".join("  ".join(str(x).ljust(w) for x, w in zip(r, widths)) + "  " + str(r[6]) for r in rows)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="srlive-prepare", description="Prepare the bar corpus cache for training.")
    p.add_argument("--sources", nargs="*", default=None, metavar="NAME",
                   help=f"music21 corpus collections (default all: {' '.join(ALL_SOURCES)}); "
                        "give --sources with no names to use only --midi-dir")
    p.add_argument("--midi-dir", action="append", default=[], help="a folder of .mid files (repeatable)")
    p.add_argument("--cache-dir", default=None, help="default $SRLIVE_CACHE, else ~/.cache/srlive")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--max-tunes", type=int, default=None, help="at most this many tunes per collection")
    p.add_argument("--seed", type=int, default=0, help="salt of the train/val/test split")
    p.add_argument("--force", action="store_true", help="prepare again even when the cache exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--preview", metavar="DIR", help="also write a piano-roll PNG of one tune per collection")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.workers < 1:
            raise UserError("--workers must be at least 1")
        if args.max_tunes is not None and args.max_tunes < 1:
            raise UserError("--max-tunes must be at least 1")
        kw = dict(sources=args.sources, midi_dirs=args.midi_dir, cache_dir=args.cache_dir,
                  workers=args.workers, max_tunes=args.max_tunes, progress=not args.quiet, seed=args.seed)
        if args.sources is not None and not args.sources and not args.midi_dir:
            raise UserError("no input: give --sources and/or --midi-dir")
        corpus = prepare(**kw) if args.force else load_corpus(**kw)
    except UserError as err:
        print(f"srlive-prepare: {err}", file=sys.stderr)
        return err.exit_code
    s = corpus.summary
    print(format_table(s))
    print(f"{s['tunes']} tunes, {s['bars']} bars, {s['failed']} failed to parse, {s['duplicates']} duplicates; "
          f"prepared in {s.get('prepare_seconds', '?')} s")
    print(f"cache: {s.get('cache_path')}")
    if args.preview:
        for path in preview_pngs(corpus, args.preview, seed=args.seed):
            print(f"preview: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
