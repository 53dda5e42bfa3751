"""Markdown for srlive-eval's tables: figures formatted by kind, rows under a header, and the
targets each row meets. Pure: dicts in, lines of text out."""

from __future__ import annotations

import math


def fmt(value, kind: str) -> str:
    """A figure as the tables show it: kind "pct" a fraction as a percentage with one decimal,
    "f<n>" n decimals; "—" for a missing or undefined figure."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if kind == "pct":
        return f"{100 * value:.1f}"
    return f"{value:.{int(kind[1])}f}"


def rows_lines(rows: list, columns) -> list[str]:
    """A markdown table of `rows` (dicts with "name") over `columns` ((key, header, kind), ...)."""
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
