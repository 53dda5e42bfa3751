"""Reading and cutting the tunes of the source files, one work unit per task, in worker processes.

A tune that fails to parse (or takes longer than TUNE_TIMEOUT_S) is recorded in its TuneResult and
skipped, never raised; a file that cannot be read at all likewise. Velocities: ABC and MusicXML
carry none, so every note of the melody (and every voice of a Bach chorale) has velocity 90 and
the chord-symbol accompaniment 70; .mid files keep theirs.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from srlive_training.bar_cutting import FOUR_FOUR, BarCut, tune_bars

MELODY_VELOCITY = 90
CHORD_VELOCITY = 70
TUNES_PER_TASK = 20
TUNE_TIMEOUT_S = 120


@dataclass
class SourceFile:
    collection: str
    rel: str  # path inside the collection (names the tunes)
    path: Path
    kind: str  # "abc", "score" or "midi"


@dataclass
class Task:
    file: SourceFile
    items: list[tuple[int, str | None]]  # (tune number in file, ABC text) or (0, None) for whole file
    cut: BarCut = FOUR_FOUR  # the bars to cut (srlive_training.bar_cutting.CUTS)


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
            out.append(_run_one(f, file_index, number, text, task.cut))
    return out


def _run_one(f: SourceFile, file_index: int, number: int, text: str | None, cut: BarCut = FOUR_FOUR) -> TuneResult:
    """Parse and cut one tune; any failure is recorded in the result, never raised."""
    name = f"{f.collection}/{f.rel}" + (f"#{number}" if f.kind == "abc" else "")
    res = TuneResult(f.collection, file_index, number, name)
    old = _alarm(TUNE_TIMEOUT_S)
    try:
        ev = parse_tune(f, text)
        res.bars, res.reason = tune_bars(ev, cut)
        res.n_chords = ev.n_chords
    except Exception as exc:  # noqa: BLE001 - any failure of a third-party parser is counted
        res.error = f"{type(exc).__name__}: {' '.join(str(exc).split())[:160]}"
    finally:
        _clear_alarm(old)
    return res


def make_tasks(files: Sequence[SourceFile], max_tunes: int | None,
               cut: BarCut = FOUR_FOUR) -> tuple[list[tuple[int, Task]], list[TuneResult]]:
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
                tasks.append((i, Task(f, items[k : k + TUNES_PER_TASK], cut)))
            taken[f.collection] = taken.get(f.collection, 0) + len(items)
        else:
            tasks.append((i, Task(f, [(0, None)], cut)))
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
