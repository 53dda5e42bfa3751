"""A .mid file → TuneEvents (pretty_midi), the same timed form srlive_training.abc gives for scores.

Time is measured in quarter notes on the file's own tick grid (tick / resolution), so tempo changes
and rubato recorded against the grid do not matter; onsets are later quantised to the nearest
sixteenth of that grid. Measures come from pretty_midi's downbeats (which assume 4/4 when the file
has no time signature). Every non-drum instrument is merged into one voice; velocities are kept.
"""

from __future__ import annotations

from srlive_training.abc import TuneEvents


def midi_events(path) -> TuneEvents:
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(str(path))
    res = float(pm.resolution)

    def q(t: float) -> float:
        return pm.time_to_tick(t) / res

    ev = TuneEvents(title=str(path))
    sigs = sorted(pm.time_signature_changes, key=lambda s: s.time)
    if sigs:
        for s in sigs:
            ratio = f"{s.numerator}/{s.denominator}"
            if ratio not in ev.meters:
                ev.meters.append(ratio)
                ev.bar_lengths.append(s.numerator * 4.0 / s.denominator)
    else:  # no time signature: assume 4/4
        ev.meters.append("4/4")
        ev.bar_lengths.append(4.0)

    def bar_length_at(t: float) -> float:
        length = 4.0
        for s in sigs:
            if s.time <= t + 1e-9:
                length = s.numerator * 4.0 / s.denominator
        return length

    for inst in pm.instruments:
        if inst.is_drum:
            continue
        for n in inst.notes:
            if n.end <= n.start or n.velocity <= 0:
                continue
            ev.notes.append((int(n.pitch), q(n.start), q(n.end), int(n.velocity)))
    end = max((n[2] for n in ev.notes), default=0.0)
    downbeats = [float(d) for d in pm.get_downbeats()]
    starts = [q(d) for d in downbeats]
    for i, (d, s) in enumerate(zip(downbeats, starts)):
        nominal = bar_length_at(d)
        length = (starts[i + 1] - s) if i + 1 < len(starts) else max(nominal, end - s)
        if length > 0:
            ev.measures.append((s, length, nominal))
    return ev
