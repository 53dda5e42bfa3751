"""Markdown for srlive-eval's tables: every column's header and kind, figures formatted by kind,
rows under a header, and the targets each row meets. Pure: dicts in, lines of text out."""

from __future__ import annotations

import math


#: Every column of srlive-eval's tables: row key -> (header, kind). Kind "pct" shows a fraction as a
#: percentage, "f0".."f3" decimals (fmt). A table lists its keys (`columns`).
HEADERS = {
    # the main table (evaluate)
    "scale_consistency": ("scale cons. %", "pct"),
    "tone_span": ("tone span", "f1"),
    "uniqueness": ("uniq. %", "pct"),
    "velocity_span": ("vel. span", "f1"),
    "recurrence": ("recur.", "f2"),
    "diversity": ("divers.", "f3"),
    "empty_bars": ("EB %", "pct"),
    "used_pitch_classes": ("UPC", "f2"),
    "qualified_notes": ("QN %", "pct"),
    "stepwise": ("steps %", "pct"),
    "kept_cells": ("kept %", "pct"),
    "new_pitches": ("new pitches %", "pct"),
    "sounding_steps": ("sounds %", "pct"),
    "notes": ("notes", "f1"),
    "pace_kept": ("pace kept", "f2"),
    "notes_follow": ("notes follow", "f2"),
    "downbeat": ("downbeat %", "pct"),
    "odd_steps": ("odd 16ths %", "pct"),
    "profile_distance": ("profile TV", "f3"),
    "key_fit": ("key fit", "f3"),
    "empty_answers": ("empty ans. %", "pct"),
    "context_sensitivity": ("context sens.", "f3"),
    # the listening table (phrase_eval)
    "classifier_logistic": ("classifier (logistic)", "f3"),
    "classifier_boosted": ("classifier (boosted)", "f3"),
    "odd_after_even": ("odd 16ths after even %", "pct"),
    "returns_1": ("returns t−1 %", "pct"),
    "returns_2": ("returns t−2 %", "pct"),
    "returns_4": ("returns t−4 %", "pct"),
    "returns_8": ("returns t−8 %", "pct"),
    "solo_returns_4": ("solo t−4 %", "pct"),
    "solo_returns_8": ("solo t−8 %", "pct"),
    # the solo check (solo_check)
    "chains": ("chains", "f0"),
    "bars": ("bars", "f0"),
    "longest_run": ("longest identical run", "f0"),
    "bars_outside": ("bars outside p10–p90 %", "pct"),
    "phrases_outside": ("8-bar phrases outside %", "pct"),
}


def columns(*keys) -> tuple[tuple[str, str, str], ...]:
    """A table's columns, (key, header, kind) each, from its row keys in HEADERS. An item given as
    (key, header, kind) is a figure of its own under a key that HEADERS means otherwise (the solo
    check's count of empty bars against the main table's share)."""
    return tuple(k if isinstance(k, tuple) else (k, *HEADERS[k]) for k in keys)


def fmt(value, kind: str) -> str:
    """A figure as the tables show it: kind "pct" a fraction as a percentage with one decimal,
    "f<n>" n decimals; "—" for a missing or undefined figure."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if kind == "pct":
        return f"{100 * value:.1f}"
    return f"{value:.{int(kind[1])}f}"


def rows_lines(rows: list, columns) -> list[str]:
    """A markdown table of `rows` (dicts with "name") over `columns` ((key, header, kind), ...: `columns()`)."""
    return ["| row | " + " | ".join(h for _, h, _ in columns) + " |",
            "| --- | " + " | ".join("---:" for _ in columns) + " |"] + [
        f"| {r['name']} | " + " | ".join(fmt(r.get(k), kind) for k, _, kind in columns) + " |" for r in rows]


def verdict_lines(verdicts: dict, columns, what: str = "Targets") -> list[str]:
    """Per row, how many targets it meets and each check ({"ok", "value", "low", "high"})."""
    kinds = {k: kind for k, _, kind in columns}
    lines = []
    for name, checks in verdicts.items():
        passed = sum(c["ok"] for c in checks.values())
        lines += [f"**{what} for {name}: {passed}/{len(checks)} met.**", ""]
        for k, c in checks.items():
            f = lambda v: fmt(v, kinds[k])  # noqa: E731
            target = (f"≥ {f(c['low'])}" if math.isinf(c["high"]) else f"≤ {f(c['high'])}" if math.isinf(c["low"])
                      else f"{f(c['low'])} … {f(c['high'])}")
            lines.append(f"- {'✓' if c['ok'] else '✗'} {k.replace('_', ' ')}: {f(c['value'])} (target {target})")
        lines.append("")
    return lines
