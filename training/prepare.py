"""Corpus preparation (`srlive-prepare`): the music21 corpus (and any folder of .mid files) → a cached
BarCorpus of bar rolls.

    srlive-prepare --cache-dir /work/cache          # all six sources, 2 workers
    srlive-prepare --sources nottingham-dataset bach --max-tunes 50
    srlive-prepare --midi-dir ~/midi --sources       # only a folder of .mid files
    srlive-prepare --meter triple                    # bars of 12 sixteenths, 3/4 and 6/8 tunes

Sources (music21's own corpus; `--sources` names): oneills1850, ryansMammoth, airdsAirs,
essenFolksong, nottingham-dataset (ABC files: each X: block is one tune) and bach (the chorales:
each file is one tune, all voices). Any `--midi-dir` adds its .mid/.midi files (recursively), one
tune each. How a tune becomes bars: srlive_training.bar_cutting; how files are read, in worker
processes: srlive_training.tune_parsing.

* Duplicates: the same tune in several collections (or twice in one, or transposed) would leak
  across splits. Tunes whose bars are identical up to transposition are kept once (the first in
  source order) and the others counted as "duplicate".
* Meter (`--meter`): "4/4" (default) keeps the tunes that cut into 16-step bars, "triple" those
  that cut into 12-step bars (3/4, 6/8, 3/8); bar_cutting.CUTS. Each has its own cache.
* Split by tune (bar_cutting.split_of). Tune names are "collection/file#n" (n = position of the
  tune in its ABC file, 1-based) or "collection/file" for one-tune files.
* Cache: ``<cache_dir>/bars-<key>.npz`` (BarCorpus.save) plus ``bars-<key>.json`` (the summary)
  and ``bars-<key>.splits.json`` (tune names per split). The key hashes every input file's
  relative path, size and sha1, the music21 and pretty_midi versions, FORMAT, and all settings
  (sources, midi dirs' contents, max_tunes, seed, velocities, meters, the bar's meter). cache_dir defaults to
  $SRLIVE_CACHE, else ~/.cache/srlive.

For the trainer: `load_corpus(...)`. What the full corpus gives (tunes, bars, drops per reason,
preparation time): training/results/EXPERIMENTS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from srlive.contract import METERS
from srlive.errors import UserError
from srlive.roll import LOWEST_PITCH, N_PITCHES
from srlive_training.bar_cutting import CUTS, FOUR_FOUR, MAX_ODD_SHARE, SPLIT_PER_MILLE, BarCut, content_key, split_of
from srlive_training.corpus import SPLITS, BarCorpus
from srlive_training.tune_parsing import (CHORD_VELOCITY, MELODY_VELOCITY, SourceFile, TuneResult, make_tasks,
                                          parse_all)
from srlive_training.tool import run_tool

FORMAT = 1  # bump when the bars this module makes change for the same inputs and settings
FOLK_SOURCES = ("oneills1850", "ryansMammoth", "airdsAirs", "essenFolksong", "nottingham-dataset")
ALL_SOURCES = FOLK_SOURCES + ("bach",)
_ALIASES = {s.lower(): s for s in ALL_SOURCES} | {"nottingham": "nottingham-dataset", "chorales": "bach"}
SCORE_SUFFIXES = (".mxl", ".xml", ".musicxml", ".krn")
MIDI_SUFFIXES = (".mid", ".midi")


def default_cache_dir() -> Path:
    env = os.environ.get("SRLIVE_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "srlive"


def settings_dict(sources: Sequence[str], max_tunes: int | None, seed: int, cut: BarCut = FOUR_FOUR) -> dict:
    """Every setting that changes the bars or the split (part of the cache key and the summary)."""
    out = {
        "format": FORMAT,
        "sources": list(sources),
        "max_tunes_per_collection": max_tunes,
        "seed": int(seed),
        "bar_quarters": cut.bar_quarters,
        "steps": cut.steps,
        "lowest_pitch": LOWEST_PITCH,
        "melody_velocity": MELODY_VELOCITY,
        "chord_velocity": CHORD_VELOCITY,
        "bach_velocity": MELODY_VELOCITY,
        "midi_velocity": "from file",
        "allowed_bar_quarters": list(cut.measure_quarters),
        "max_odd_meter_share": MAX_ODD_SHARE,
        "split_rule": f"sha1('<seed>:<name>') % 1000: <{SPLIT_PER_MILLE[0]} train, "
        f"<{SPLIT_PER_MILLE[1]} val, else test",
        "dedupe": "bars identical up to transposition; first in source order kept",
        "repeats": "not expanded",
        "grace_notes": "dropped",
    }
    if cut != FOUR_FOUR:  # named only off the default, so a 4/4 cache keeps the key it had
        out["meter"] = cut.name
    return out


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
    bars = np.concatenate([r.bars for r in kept]) if kept else np.zeros((0, N_PITCHES, settings["steps"]), np.uint8)
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
    tasks, unreadable = make_tasks(files, settings.get("max_tunes_per_collection"),
                                   CUTS[settings.get("meter", FOUR_FOUR.name)])
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


def meter_cut(meter: str) -> BarCut:
    """The cut for a --meter name ("4/4", "triple", or a meter the triple bars serve: 3/4, 6/8)."""
    name = str(meter).strip().lower()
    if name in CUTS:
        return CUTS[name]
    for cut in CUTS.values():
        if any(m.name == name and m.steps == cut.steps for m in METERS.values()):
            return cut
    raise UserError(f"unknown --meter {meter!r}: choose from {', '.join(CUTS)} (3/4 and 6/8 are triple)")


def _resolve(sources, midi_dirs, cache_dir, max_tunes, seed, meter="4/4"):
    sources = normalise_sources(sources)
    files = list_files(sources, midi_dirs)
    if not files:
        raise UserError("no input: give --sources and/or --midi-dir")
    settings = settings_dict(sources, max_tunes, seed, meter_cut(meter))
    settings["midi_dirs"] = [Path(d).expanduser().resolve().name for d in midi_dirs]
    key = cache_key(files, settings)
    return files, settings, key, Path(cache_dir).expanduser() if cache_dir else default_cache_dir()


def load_corpus(
    cache_dir: str | os.PathLike | None = None,
    sources: Sequence[str] | None = ALL_SOURCES,
    midi_dirs: Sequence[str | os.PathLike] = (),
    workers: int = 2,
    max_tunes: int | None = None,
    progress: bool = True,
    seed: int = 0,
    meter: str = "4/4",
    rebuild: bool = False,
) -> BarCorpus:
    """The cached corpus for these inputs and settings. When the cache is missing, or with
    ``rebuild``, it parses every input, cuts the bars, splits, and saves the cache first."""
    files, settings, key, cdir = _resolve(sources, midi_dirs, cache_dir, max_tunes, seed, meter)
    path = cache_path(cdir, key)
    if path.exists() and not rebuild:
        return BarCorpus.load(path)
    corpus = build_corpus(files, settings, key, workers, progress)
    corpus.summary["cache_path"] = str(path)
    corpus.save(path)
    path.with_suffix(".splits.json").write_text(json.dumps(split_names(corpus), indent=1))
    return corpus


def prepare(**settings) -> BarCorpus:
    """load_corpus's keywords, always parsing and saving the cache anew (srlive-prepare --force)."""
    return load_corpus(**settings, rebuild=True)


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
    p.add_argument("--meter", default="4/4",
                   help="the bars to cut: 4/4 (16 sixteenths, the default model's) or triple "
                        "(12 sixteenths: 3/4, 6/8 and 3/8 tunes, the triple model's)")
    p.add_argument("--force", action="store_true", help="prepare again even when the cache exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--preview", metavar="DIR", help="also write a piano-roll PNG of one tune per collection")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_tool("srlive-prepare", lambda: _prepare_main(args))


def _prepare_main(args) -> int:
    if args.workers < 1:
        raise UserError("--workers must be at least 1")
    if args.max_tunes is not None and args.max_tunes < 1:
        raise UserError("--max-tunes must be at least 1")
    kw = dict(sources=args.sources, midi_dirs=args.midi_dir, cache_dir=args.cache_dir,
              workers=args.workers, max_tunes=args.max_tunes, progress=not args.quiet, seed=args.seed,
              meter=args.meter)
    if args.sources is not None and not args.sources and not args.midi_dir:
        raise UserError("no input: give --sources and/or --midi-dir")
    corpus = load_corpus(**kw, rebuild=args.force)
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
