"""Takes in musical time: the engine and its recorder on fake clocks (no sleeps), read back with
mido and pretty_midi: ticks from the bar clock, the tempo map, markers, tracks."""

from __future__ import annotations

import bisect

import mido
import pretty_midi
import pytest

from srlive.contract import METERS, PULSES_PER_BAR, PULSES_PER_STEP
from srlive.live.engine import Engine
from srlive.live.render import ON, Event
from srlive.settings import Settings
from srlive.takes.recorder import Recorder
from srlive_fakes import FakeClock, FakeOutput, FakeRuntime

TPB = 480
BAR_TICKS = 4 * TPB
STEP_TICKS = TPB // 4


def note(on: bool, channel: int, pitch: int, velocity: int = 90) -> bytes:
    return bytes([(0x90 if on else 0x80) | channel, pitch, velocity if on else 0])


class TableClock:
    """A bar clock whose bars start at the given times (a tempo that changes from bar to bar); what
    a take reads of a BarClock."""

    meter, external, generation, tempo = METERS["4/4"], False, 0, 120.0

    def __init__(self, starts):
        self.starts = list(starts)
        self.ready = self.running = True

    def time_at(self, bar, step=0.0):
        last = len(self.starts) - 2  # after the table, its last bar's tempo holds
        t0 = self.starts[min(bar, last)] + max(bar - last, 0) * (self.starts[-1] - self.starts[-2])
        return t0 + step / 16 * (self.starts[min(bar, last) + 1] - self.starts[min(bar, last)])

    def bar_at(self, t):
        return bisect.bisect_right(self.starts, t) - 1


def read(path):
    """(mido file, {track name: [(pitch, on tick, off tick)]}, [(tick, bpm)], [(tick, marker)])."""
    mid = mido.MidiFile(path)
    tracks, tempi, markers = {}, [], []
    for tr in mid.tracks:
        t, open_, notes = 0, {}, []
        for m in tr:
            t += m.time
            if m.type == "set_tempo":
                tempi.append((t, mido.tempo2bpm(m.tempo)))
            elif m.type == "marker":
                markers.append((t, m.text))
            elif m.type == "note_on" and m.velocity:
                open_[(m.channel, m.note)] = t
            elif m.type in ("note_on", "note_off"):
                notes.append((m.note, open_.pop((m.channel, m.note)), t))
        assert not open_, f"{tr.name}: notes left open"
        tracks[tr.name] = sorted(notes, key=lambda n: (n[1], n[0]))
    return mid, tracks, tempi, markers


def tempo_at(tempi, tick):
    return [bpm for t, bpm in tempi if t <= tick][-1]


def drive(eng, fake, inputs, until):
    """What the live loop does, on a fake clock: feed timed input messages, send what falls due,
    close each bar's window at ``T_{b+1} − step/2`` and rewrite the take. ``inputs`` is sorted and
    consumed in place, so a fake model step can take from it the messages that come while it works."""
    inputs.sort(key=lambda x: x[0])
    bar, sync = None, eng.settings.sync
    if not sync and eng.clock.ready:
        bar = 0
    while True:
        if sync and bar is not None and (not eng.clock.running or eng.clock.generation != eng._gen):
            bar = None  # the DAW stopped or started again: wait for it, as run() does
        due = [inputs[0][0]] if inputs else []
        if eng.scheduler.next_deadline() is not None:
            due.append(eng.scheduler.next_deadline())
        if bar is not None:
            due.append(eng.clock.time_at(bar, 15.5))
        if not due or min(due) > until:
            break
        fake.t = max(fake.t, min(due))
        if inputs and inputs[0][0] <= fake.t:
            t, msg = inputs.pop(0)
            eng.on_message(msg, t)
        eng.scheduler.dispatch_due()
        if bar is None and sync and eng.clock.ready:
            bar = eng._sync_begin()
        elif not sync and bar is None and eng.clock.ready:
            bar = 0
        elif bar is not None and fake.t >= eng.clock.time_at(bar, 15.5):
            close = eng.clock.time_at(bar, 15.5)
            eng.scheduler.add(eng.close_window(bar, eng.capture.drain(close)).events)
            eng._record(close)
            bar += 1


def clock_pulses(t0, tempi, bars, first_pulse=0):
    """Pulse times from t0 for ``bars`` bars, bar b at tempi[b] BPM (the last one holding on)."""
    out, t = [], t0
    for p in range(bars * PULSES_PER_BAR):
        out.append((t, mido.Message("clock")))
        bpm = tempi[min((first_pulse + p) // PULSES_PER_BAR, len(tempi) - 1)]
        t += 60.0 / bpm / 24
    return out, t


def sync_engine(tmp_path, runtime=None, **kw):
    fake = FakeClock(10.0)
    rec = Recorder(tmp_path / "take.mid")
    settings = Settings(**{"sync": True, "mode": "solo", "seed": 1, **kw})
    eng = Engine(runtime or FakeRuntime(), settings, now=fake.now, sleep=fake.sleep, recorder=rec, output=FakeOutput(),
                 log=lambda m: None)
    return eng, fake, rec


def test_a_bar_clock_whose_tempo_changes_gives_the_tempo_map_and_exact_beats(tmp_path):
    bpm = [120, 120, 150, 150, 100]
    starts = [100.0]
    for b in bpm:
        starts.append(starts[-1] + 240 / b)
    clock = TableClock(starts)
    rec = Recorder(tmp_path / "take.mid")
    rec.follow(clock)
    played = [(2, 0.37), (2, 2.5), (4, 1.01)]  # (bar, beat in it): not on any grid
    for bar, beat in played:
        t = clock.time_at(bar, beat * 4)
        rec.add("performer", t, note(True, 0, 60 + bar))
        rec.add("performer", t + 0.1, note(False, 0, 60 + bar))
    for bar in range(len(bpm)):  # srlive's notes, timed by their deadline (the internal clock's way)
        e = Event(clock.time_at(bar, 4), ON, 1, 72, 90, bar=bar)
        rec.add("srlive", e.time, note(True, 1, 72 + bar), e)
        rec.add("srlive", clock.time_at(bar, 6), note(False, 1, 72 + bar))
        rec.write(clock.time_at(bar, 15.5))
    _, _, tempi, _ = read(tmp_path / "take.mid")
    # a bar's tempo is written once it is over: the last bar, still playing, keeps the one before
    assert [(t, round(b, 6)) for t, b in tempi] == [(0, 120), (2 * BAR_TICKS, 150)]
    rec.write(clock.time_at(len(bpm), 0.5))  # the engine's last write, as it stops after the last bar
    _, tracks, tempi, _ = read(tmp_path / "take.mid")
    assert [(t, round(b, 6)) for t, b in tempi] == [(0, 120), (2 * BAR_TICKS, 150), (4 * BAR_TICKS, 100)]
    assert [on for _, on, _ in tracks["srlive"]] == [b * BAR_TICKS + TPB for b in range(5)]
    assert [on for _, on, _ in tracks["performer"]] == [round((bar * 4 + beat) * TPB) for bar, beat in played]
    # in that tempo map, each performer note sounds at the second it was played (bar 1 = 0 s)
    pm = pretty_midi.PrettyMIDI(str(tmp_path / "take.mid"))
    perf = next(i for i in pm.instruments if i.name == "performer")
    want = [clock.time_at(bar, beat * 4) - starts[0] for bar, beat in played]
    assert [n.start for n in perf.notes] == pytest.approx(want, abs=1e-3)


def test_sync_at_150_then_140_bpm_notes_on_sixteenths_tempo_map_of_the_clock(tmp_path):
    eng, fake, rec = sync_engine(tmp_path, bars=None)
    t0 = 11.0
    pulses, end = clock_pulses(t0, [150] * 3 + [140], 6)
    performer = []
    for beat in (1.13, 9.61, 17.3):  # the performer, off the grid, in bars 1, 3 and 5
        t = t0 + (beat * 60 / 150 if beat < 12 else 12 * 60 / 150 + (beat - 12) * 60 / 140)
        performer += [(t, mido.Message("note_on", note=50, velocity=80)),
                      (t + 0.05, mido.Message("note_off", note=50))]
    drive(eng, fake, [(t0 - 0.01, mido.Message("start")), *pulses, *performer], end - 0.02)
    rec.write(fake.t)
    _, tracks, tempi, markers = read(tmp_path / "take.mid")
    assert tempi[0][0] == 0 and all(t % BAR_TICKS == 0 for t, _ in tempi)  # at bar lines
    for bar, bpm in enumerate([150] * 3 + [140] * 3):  # each bar's tempo, the clock's within 0.5 %
        assert tempo_at(tempi, bar * BAR_TICKS) == pytest.approx(bpm, rel=5e-3)
    assert len(tempi) <= 4  # written where it changed, not every bar
    srl = tracks["srlive"]
    assert len(srl) >= 5 and all(on % STEP_TICKS == 0 for _, on, _ in srl)
    assert {on // BAR_TICKS for _, on, _ in srl} >= {1, 2, 3, 4}
    assert [on for _, on, _ in tracks["performer"]] == pytest.approx([1.13 * TPB, 9.61 * TPB, 17.3 * TPB], abs=1)
    assert markers[0] == (0, "clock start (bar 1)")


class PulsesDuringTheStep(FakeRuntime):
    """A model step that takes 20 ms, in which the DAW's pulses due by then arrive (as they do on the
    input thread) and may move the follower's bar lines. ``engine``, ``fake`` and ``messages`` (drive()'s
    inputs, shared) are set once the engine is made."""

    engine = fake = messages = None

    def __init__(self):
        super().__init__()
        self.moved = []  # how far the next bar lines moved during each step, s

    def step(self, bar, noise, temperature):
        lines = lambda: [self.engine.clock.time_at(b) for b in range(8)]  # noqa: E731
        before = lines()
        self.fake.t += 0.02
        while self.messages and self.messages[0][0] <= self.fake.t:
            t, msg = self.messages.pop(0)
            self.engine.on_message(msg, t)
        self.moved.append(max(abs(a - b) for a, b in zip(lines(), before)))
        return super().step(bar, noise, temperature)


def test_sync_a_pulse_during_the_model_step_leaves_the_answer_and_the_take_on_sixteenths(tmp_path):
    runtime = PulsesDuringTheStep()
    eng, fake, rec = sync_engine(tmp_path, runtime=runtime, bars=None, metronome=True)
    t0, period = 11.0, 60.0 / 150 / 24
    # every third pulse 3 ms late: the follower's bar lines move when one of them comes in
    pulses = [(t0 + p * period + (0.003 if p % 3 == 1 else 0.0), mido.Message("clock")) for p in range(4 * 96)]
    inputs = [(t0 - 0.01, mido.Message("start")), *pulses]
    runtime.engine, runtime.fake, runtime.messages = eng, fake, inputs
    added, add = [], eng.scheduler.add
    eng.scheduler.add = lambda events: (added.extend(events), add(events))[-1]
    drive(eng, fake, inputs, pulses[-1][0])
    rec.write(fake.t)
    assert runtime.moved and max(runtime.moved) > 1e-5  # the bar lines did move during a step
    ons = [e for e in added if e.kind == ON]
    assert {e.source for e in ons} == {"srlive", "metronome"} and {e.bar for e in ons} >= {1, 2, 3}
    assert all(e.pos % PULSES_PER_STEP == 0 for e in ons), sorted(e.pos for e in ons)
    _, tracks, _, _ = read(tmp_path / "take.mid")
    assert tracks["srlive"] and all(on % STEP_TICKS == 0 for _, on, _ in tracks["srlive"]), tracks["srlive"]


def test_sync_from_a_song_position_keeps_the_daws_bars(tmp_path):
    eng, fake, rec = sync_engine(tmp_path)
    t0 = 11.0
    pulses, end = clock_pulses(t0, [150], 3)
    messages = [(t0 - 0.02, mido.Message("songpos", pos=32)), (t0 - 0.01, mido.Message("continue"))]
    drive(eng, fake, messages + pulses, end - 0.02)
    rec.write(fake.t)
    _, tracks, tempi, markers = read(tmp_path / "take.mid")
    assert (2 * BAR_TICKS, "clock start (bar 3)") in markers  # SPP 32 sixteenths: the DAW's bar 3
    assert tracks["srlive"] and min(on for _, on, _ in tracks["srlive"]) >= 3 * BAR_TICKS
    assert all(on % STEP_TICKS == 0 for _, on, _ in tracks["srlive"])
    assert tempi[0] == (0, pytest.approx(150, rel=5e-3))


def test_stop_and_a_rewound_continue_go_on_after_the_take_with_markers(tmp_path):
    eng, fake, rec = sync_engine(tmp_path, mode="accompany")
    t0 = 11.0
    pulses, end = clock_pulses(t0, [150], 3)
    pulses = pulses[:2 * PULSES_PER_BAR + 40]  # the DAW stops 40 pulses into bar 3
    end = pulses[-1][0] + 0.01
    held = [(t0 + 0.5, mido.Message("note_on", note=60, velocity=90)),  # sounding when the DAW stops
            (end + 0.2, mido.Message("note_off", note=60)),
            (end + 0.3, mido.Message("note_on", note=62, velocity=90)),  # played while stopped: let go
            (end + 0.4, mido.Message("note_off", note=62))]
    t1 = end + 1.0
    again, end2 = clock_pulses(t1, [150], 1)
    after = [(t1 + 0.1, mido.Message("note_on", note=64, velocity=90)), (t1 + 0.2, mido.Message("note_off", note=64))]
    drive(eng, fake, [(t0 - 0.01, mido.Message("start")), *pulses, (end, mido.Message("stop")), *held,
                      (t1 - 0.02, mido.Message("songpos", pos=0)), (t1 - 0.01, mido.Message("continue")),
                      *again, *after], end2 - 0.02)
    rec.write(fake.t)
    _, tracks, _, markers = read(tmp_path / "take.mid")
    stop = 2 * BAR_TICKS + 40 * TPB // 24
    assert [m for m in markers if m[1] == "clock stop"] == [(pytest.approx(stop, abs=20), "clock stop")]
    assert (3 * BAR_TICKS, "clock continue (bar 1)") in markers  # the next bar line after the take
    perf = tracks["performer"]
    assert [p for p, _, _ in perf] == [60, 64]
    assert perf[0][2] == pytest.approx(stop, abs=20)  # the held note ends where the DAW stopped
    assert perf[1][1] == pytest.approx(3 * BAR_TICKS + 0.1 * 150 / 60 * TPB, abs=2)


def test_count_in_starts_the_take_and_a_marker_says_where_bar_1_is(tmp_path):
    fake = FakeClock(10.0)
    rec = Recorder(tmp_path / "take.mid")
    eng = Engine(FakeRuntime(), Settings(tempo=120, count_in=2, mode="solo", seed=1), now=fake.now, sleep=fake.sleep,
                 recorder=rec, output=FakeOutput(), log=lambda m: None)
    eng._begin()
    origin = eng.clock.time_at(0)
    played = origin + 0.5 * 1.5  # beat 1.5 of bar 1
    drive(eng, fake, [(played, mido.Message("note_on", note=55, velocity=70)),
                      (played + 0.2, mido.Message("note_off", note=55))], eng.clock.time_at(2))
    rec.write(fake.t)
    _, tracks, tempi, markers = read(tmp_path / "take.mid")
    assert (2 * BAR_TICKS, "count-in end (bar 1)") in markers
    assert [on for _, on, _ in tracks["metronome"]] == [k * TPB for k in range(8)]  # the count-in's clicks
    assert [on for _, on, _ in tracks["performer"]] == [2 * BAR_TICKS + round(1.5 * TPB)]
    assert min(on for _, on, _ in tracks["srlive"]) == 2 * BAR_TICKS  # solo starts at bar 1
    assert all(on % STEP_TICKS == 0 for _, on, _ in tracks["srlive"])
    assert tempi == [(0, pytest.approx(120))]


def test_controls_and_skipped_bars_leave_markers(tmp_path):
    fake = FakeClock(10.0)
    rec = Recorder(tmp_path / "take.mid")
    eng = Engine(FakeRuntime(raise_on={2}), Settings(tempo=120, seed=1, cc={20: "mute", 21: "panic", 22: "mode"}),
                 now=fake.now, sleep=fake.sleep, recorder=rec, output=FakeOutput(), log=lambda m: None)
    eng.start_clock(10.0)
    beat = 0.5
    cc = [(10.0 + 1 * beat, mido.Message("control_change", control=20, value=127)),
          (10.0 + 2 * beat, mido.Message("control_change", control=20, value=127)),  # muted already
          (10.0 + 3 * beat, mido.Message("control_change", control=20, value=0)),
          (10.0 + 5 * beat, mido.Message("control_change", control=21, value=127)),
          (10.0 + 6 * beat, mido.Message("control_change", control=22, value=127))]
    notes = [(10.0 + k * 4 * beat, mido.Message("note_on", note=60, velocity=90)) for k in range(4)]
    notes += [(10.0 + k * 4 * beat + 0.1, mido.Message("note_off", note=60)) for k in range(4)]
    drive(eng, fake, cc + notes, eng.clock.time_at(4))
    rec.write(fake.t)
    _, _, _, markers = read(tmp_path / "take.mid")
    assert markers[:4] == [(TPB, "mute"), (3 * TPB, "unmute"), (5 * TPB, "panic"), (6 * TPB, "mode solo")]
    assert (2 * BAR_TICKS, "skipped bar 3 (error)") in markers  # the second model step raised


def test_performer_channels_get_a_track_each_and_the_names_say_whose(tmp_path):
    rec = Recorder(tmp_path / "take.mid", tempo=120, origin=0.0)
    for k, ch in enumerate((0, 2, 2, 15)):
        rec.add("performer", k * 0.5, note(True, ch, 60 + k))
        rec.add("performer", k * 0.5 + 0.25, note(False, ch, 60 + k))
    rec.add("metronome", 0.0, note(True, 9, 76))
    rec.add("metronome", 0.1, note(False, 9, 76))
    rec.add("srlive", 0.5, note(True, 0, 70))
    rec.write(2.0)
    mid, tracks, _, _ = read(tmp_path / "take.mid")
    assert [t.name for t in mid.tracks] == ["srlive take", "performer ch 1", "performer ch 3", "performer ch 16",
                                            "srlive", "metronome"]
    assert [p for p, _, _ in tracks["performer ch 3"]] == [61, 62]
    assert tracks["srlive"] == [(70, TPB, 4 * TPB)]  # still sounding: closed at the snapshot's end


def test_pretty_midi_and_mido_read_the_same_notes(tmp_path):
    starts = [5.0]
    for b in (100, 100, 140, 90):
        starts.append(starts[-1] + 240 / b)
    clock = TableClock(starts)
    rec = Recorder(tmp_path / "take.mid")
    rec.follow(clock)
    for bar in range(4):
        for k, step in enumerate((0, 3.3, 7, 12.8)):
            t = clock.time_at(bar, step)
            rec.add("performer", t, note(True, bar % 2, 50 + k))
            rec.add("performer", clock.time_at(bar, step + 2), note(False, bar % 2, 50 + k))
            rec.add("srlive", clock.time_at(bar, 4 * k), note(True, 3, 70 + k))
            rec.add("srlive", clock.time_at(bar, 4 * k + 1), note(False, 3, 70 + k))
        rec.write(clock.time_at(bar, 15.5))
    mid = mido.MidiFile(tmp_path / "take.mid")
    by_mido, t, sounding = {}, 0.0, {}
    names = {}
    for i, tr in enumerate(mid.tracks):
        names[i] = tr.name
    for msg in mid:  # mido plays the file: seconds through the tempo map
        t += msg.time
        if msg.type == "note_on" and msg.velocity:
            sounding[(msg.channel, msg.note)] = t
        elif msg.type in ("note_on", "note_off") and (msg.channel, msg.note) in sounding:
            by_mido.setdefault(msg.channel, []).append((msg.note, sounding.pop((msg.channel, msg.note)), t))
    pm = pretty_midi.PrettyMIDI(str(tmp_path / "take.mid"))
    by_pm = {}
    for inst in pm.instruments:
        ch = {"performer ch 1": 0, "performer ch 2": 1, "srlive": 3}[inst.name]
        by_pm[ch] = [(n.pitch, n.start, n.end) for n in inst.notes]
    assert sorted(by_pm) == sorted(by_mido)
    for ch in by_pm:
        assert [n[0] for n in sorted(by_pm[ch])] == [n[0] for n in sorted(by_mido[ch])]
        times = [t for n in sorted(by_pm[ch]) for t in n[1:]]
        assert times == pytest.approx([t for n in sorted(by_mido[ch]) for t in n[1:]], abs=1e-6)
    assert sorted(n[1] for n in by_pm[3])[4] == pytest.approx(starts[1] - starts[0], abs=1e-6)


def test_link_bar_1_is_the_first_bar_heard_and_the_tempo_map_follows_the_session(tmp_path):
    from link_fakes import make, run_for

    clk, session, clock = make(session_tempo=133.0, beat=37.3, peers=1, join_settle=0.3)
    clock.enable()
    run_for(clk, clock, 0.4)
    assert clock.ready
    rec = Recorder(tmp_path / "take.mid")
    rec.follow(clock)
    rec.clock_started(clk.t)
    played = []
    for bar in range(4):
        if bar == 2:
            session.set_tempo(140.0)  # a peer changes the tempo half a step before bar 3
        run_for(clk, clock, clock.time_at(bar) + 0.13 - clk.t, dt=0.001)
        played.append(clock.beat_at(clk.t))
        rec.add("performer", clk.t, note(True, 0, 60))
        e = Event(clock.time_at(bar, 4), ON, 0, 72, 90, bar=bar, pos=bar * PULSES_PER_BAR + 4 * 6)
        rec.add("srlive", clk.t, note(True, 1, 72), e)
        rec.add("srlive", clk.t + 0.01, note(False, 1, 72))
        rec.add("performer", clk.t + 0.01, note(False, 0, 60))
        run_for(clk, clock, clock.time_at(bar, 15.5) - clk.t, dt=0.001)  # the bar's window closes
        rec.write(clk.t)
    run_for(clk, clock, clock.time_at(4, 0.5) - clk.t, dt=0.001)  # the last bar is over: srlive stops
    rec.write(clk.t)
    _, tracks, tempi, markers = read(tmp_path / "take.mid")
    assert markers == [(0, "clock start (bar 1)")]
    assert [on for _, on, _ in tracks["srlive"]] == [b * BAR_TICKS + TPB for b in range(4)]
    assert [on for _, on, _ in tracks["performer"]] == [round(b * TPB) for b in played]
    assert [on // BAR_TICKS for _, on, _ in tracks["performer"]] == [0, 1, 2, 3]
    # each bar's length is measured between its bar lines once it is over: bar 2 played its last
    # half step at 140, after the change; bars 3 and 4 are all 140
    bar2 = 240 / (15.5 / 16 * 240 / 133.0 + 0.5 / 16 * 240 / 140.0)
    assert tempi == [(0, pytest.approx(133.0, rel=1e-5)), (BAR_TICKS, pytest.approx(bar2, rel=5e-4)),
                     (2 * BAR_TICKS, pytest.approx(140.0, rel=1e-4))]


def test_a_pitch_struck_again_before_its_note_off_is_closed_there_so_every_reader_pairs_alike(tmp_path):
    rec = Recorder(tmp_path / "take.mid", tempo=120, origin=0.0)
    rec.add("srlive", 0.0, note(True, 0, 60))
    rec.add("srlive", 0.5, note(True, 0, 60))  # struck again while sounding
    rec.add("srlive", 0.75, note(False, 0, 60))  # the first note's off: already closed at 0.5
    rec.add("srlive", 1.0, note(False, 0, 60))  # the second note's
    rec.write(2.0)
    _, tracks, _, _ = read(tmp_path / "take.mid")
    assert tracks["srlive"] == [(60, 0, TPB), (60, TPB, 2 * TPB)]
    pm = pretty_midi.PrettyMIDI(str(tmp_path / "take.mid"))
    notes = [(n.pitch, round(n.start, 6), round(n.end, 6)) for i in pm.instruments if i.name == "srlive" for n in i.notes]
    assert notes == [(60, 0.0, 0.5), (60, 0.5, 1.0)]
