"""Meters other than 4/4 (3/4 and 6/8: bars of 12 sixteenths) through every part that knows a bar's
length: the roll, quantise and render, the clocks, Link, the metronome, the take, the view, the
engine and file mode, and the model check. Fake clocks and a fake model; no sleeps."""

from __future__ import annotations

import mido
import numpy as np
import pytest

from srlive import meter as meters
from srlive import roll
from srlive.clocks.counting_follower import CountingClockFollower
from srlive.clocks.internal import InternalClock, bar_seconds
from srlive.clocks.link import LinkClock
from srlive.clocks.model_follower import ModelClockFollower
from srlive.clocks.timeline import ClockTimeline
from srlive.contract import METERS
from srlive.errors import ModelError, UserError
from srlive.live.engine import Engine
from srlive.live.quantise import NoteMsg, Quantiser
from srlive.live.render import ON, SWEEP, events_to_notes, metronome_bar, render_bar
from srlive.settings import Settings
from srlive.takes.filemode import read_take, run_file
from srlive.takes.recorder import Recorder
from srlive.ui.view import ViewState, render_text, roll_lines
from srlive_fakes import FakeClock, FakeRuntime

TPB = 480
STEP_TICKS = TPB // 4  # a sixteenth in every meter
TRIPLE = METERS["6/8"].steps  # 12


# --- the roll, quantise, render --------------------------------------------------------------------
def test_a_12_step_roll_round_trips_its_notes():
    notes = [roll.Note(60, 0, 3, 100), roll.Note(67, 6, 12, 80), roll.Note(64, 9, 10, 127)]
    r = roll.notes_to_roll(notes, TRIPLE)
    assert r.shape == (roll.N_PITCHES, 12)
    assert roll.roll_to_notes(r) == sorted(notes, key=lambda n: (n.start, n.pitch))
    assert np.array_equal(roll.as_heard(r), roll.notes_to_roll(roll.roll_to_notes(r), TRIPLE))
    # clipped to the 12-step bar, not to 4/4's 16
    clipped = roll.roll_to_notes(roll.notes_to_roll([(72, 10, 16, 90), (74, 14, 15, 90)], TRIPLE))
    assert clipped == [roll.Note(72, 10, 12, 90), roll.Note(74, 11, 12, 90)]


def test_a_6_8_bar_is_quantised_to_12_steps_and_rendered_back_on_its_grid():
    step = bar_seconds(120, METERS["6/8"]) / TRIPLE  # 1.5 s a bar at 120 quarters a minute
    assert step == pytest.approx(0.125)
    msgs = [NoteMsg(0.01, 60, 90), NoteMsg(0.26, 60, 0),  # an eighth on the downbeat
            NoteMsg(0.74, 64, 100),  # the second dotted-quarter beat (step 6), held over the bar line
            NoteMsg(1.46, 67, 80)]  # within half a step of the next bar line: the next bar's step 0
    q = Quantiser(steps=TRIPLE)
    cap = q.close_bar(msgs, 0.0, step)
    assert cap.roll.shape == (roll.N_PITCHES, 12)
    assert cap.notes == [roll.Note(60, 0, 2, 90), roll.Note(64, 6, 12, 100)]
    nxt = q.close_bar(msgs, 1.5, step)  # the held note and the early one sound from the next bar's step 0
    assert [(n.pitch, n.start) for n in nxt.notes] == [(64, 0), (67, 0)]

    events = render_bar(cap.roll, 1.5, step)
    sweep = [e for e in events if e.kind == SWEEP]
    assert len(sweep) == 1 and 2.99 < sweep[0].time < 3.0  # the bar ends 12 steps on, not 16
    assert events_to_notes(events, 1.5, step) == cap.notes
    assert all(((e.time - 1.5) / step) % 1 == pytest.approx(0) for e in events if e.kind == ON)


# --- clocks and Link -------------------------------------------------------------------------------
def test_the_internal_clock_at_3_4_has_bars_of_three_quarter_notes():
    c = InternalClock(120, METERS["3/4"])
    c.start(10.0)
    assert c.bar_len == pytest.approx(1.5) and c.step == pytest.approx(0.125)
    assert c.time_at(1) - c.time_at(0) == pytest.approx(1.5)
    assert c.time_at(0, 12) == pytest.approx(c.time_at(1))
    assert c.bar_at(10.0 + 1.49) == 0 and c.bar_at(10.0 + 1.51) == 1
    assert c.time_at(1000) == 10.0 + 1000 * 12 * c.step  # computed from the origin, not accumulated


@pytest.mark.parametrize("Follower", [CountingClockFollower, ModelClockFollower], ids=["counting", "model"])
def test_the_midi_clock_followers_bar_is_72_pulses_in_6_8(Follower):
    period = 60 / 120 / 24
    f = Follower(meter=METERS["6/8"])
    f.feed("start", 4.999)
    for i in range(150):
        f.feed("clock", 5.0 + i * period)
    assert f.current_bar() == 150 // 72 == 2
    assert f.time_at(1) == pytest.approx(5.0 + 72 * period, abs=1e-6)
    assert f.time_at(1, 6) == pytest.approx(5.0 + 108 * period, abs=1e-6)  # the second beat: 6 sixteenths on
    assert f.bar_at(5.0 + 100 * period) == 1
    # a Song Position Pointer counts sixteenths whatever the meter: 30 of them are 6/8's bar 3, step 6
    f.feed("stop", 5.0 + 150 * period)
    f.feed("songpos", 5.0 + 151 * period, pos=30)
    f.feed("continue", 5.0 + 152 * period)
    for i in range(30):
        f.feed("clock", 6.0 + i * period)
    assert f.current_bar() == (180 + 30) // 72 == 2
    assert f.time_at(2, 6) == pytest.approx(6.0, abs=1e-6)  # pulse 180: the first after Continue


def test_link_bars_are_three_beats_in_6_8():
    from link_fakes import FakeSession, run_for

    clk = FakeClock(5000.0)
    session = FakeSession(clk, 120.0, beat=1.7, peers=0)
    clock = LinkClock(session, 120.0, now=clk.now, meter=METERS["6/8"], settle=0.5)
    clock.enable()
    run_for(clk, clock, 0.6)
    assert clock.ready and clock.quantum == 3.0
    assert clock.bar0 % 3.0 == pytest.approx(0.0)  # on the session's bar lines of three beats
    assert clock.time_at(1) - clock.time_at(0) == pytest.approx(1.5)
    assert clock.time_of_pulse(72) == pytest.approx(clock.time_at(1))
    assert clock.step_len(0) == pytest.approx(0.125)
    assert clock.bar_at(clock.time_at(2) + 0.01) == 2


# --- the metronome ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name, clicks", [("6/8", [(0, 76, 110), (6, 77, 80)]),
                                          ("3/4", [(0, 76, 110), (4, 77, 80), (8, 77, 80)]),
                                          ("4/4", [(0, 76, 110), (4, 77, 80), (8, 77, 80), (12, 77, 80)])])
def test_the_metronome_accents_the_downbeat_and_clicks_the_meters_beats(name, clicks):
    events = metronome_bar(2.0, 0.1, channel=9, bar=3, meter=METERS[name])
    ons = [(round((e.time - 2.0) / 0.1), e.data1, e.data2) for e in events if e.kind == ON]
    assert ons == clicks
    assert all(e.channel == 9 and e.source == "metronome" and e.bar == 3 for e in events)
    assert len(events) == 2 * len(clicks)  # each click closed


# --- takes -----------------------------------------------------------------------------------------
class BarsClock:
    """A bar clock whose bars last the given seconds, the last one holding on."""

    external, generation = False, 0

    def __init__(self, lengths, meter):
        self.starts = np.concatenate([[0.0], np.cumsum(lengths)])
        self.meter, self.ready, self.running = meter, True, True

    def _start(self, bar):
        last = len(self.starts) - 1
        return self.starts[min(bar, last)] + max(bar - last, 0) * (self.starts[-1] - self.starts[-2])

    def time_at(self, bar, step=0.0):
        t0 = self._start(bar)
        return t0 + step / self.meter.steps * (self._start(bar + 1) - t0)

    def bar_at(self, t):
        return int(np.searchsorted(self.starts, t, side="right") - 1)


def test_a_bars_tempo_in_6_8_is_its_three_quarter_notes_over_its_length():
    tl = ClockTimeline(BarsClock([2.0, 1.5, 1.5], METERS["6/8"]))
    assert tl.tempo_of_bar(0) == pytest.approx(90.0)  # 3 quarters in 2 s
    assert tl.tempo_of_bar(1) == pytest.approx(120.0)
    assert tl.beat_at(2.0 + 0.75) == pytest.approx(3 + 1.5)  # halfway through bar 2: its fifth quarter


def test_a_take_in_3_4_has_a_3_4_time_signature_and_bars_of_three_quarters(tmp_path):
    rec = Recorder(tmp_path / "w.mid", 90, origin=0.0, meter=METERS["3/4"])  # a bar: 2 s
    step = 2.0 / 12
    rec.add("srlive", 2.0 + 4 * step, bytes([0x90, 60, 100]))  # bar 2, beat 2
    rec.add("srlive", 2.0 + 8 * step, bytes([0x80, 60, 0]))
    rec.write(until=4.0)
    mid = mido.MidiFile(tmp_path / "w.mid")
    sig = [(m.numerator, m.denominator) for m in mid.tracks[0] if m.type == "time_signature"]
    assert sig == [(3, 4)]
    tempo = [mido.tempo2bpm(m.tempo) for m in mid.tracks[0] if m.type == "set_tempo"]
    assert tempo == [pytest.approx(90.0)]
    ons = []
    t = 0
    for m in next(tr for tr in mid.tracks if tr.name == "srlive"):
        t += m.time
        if m.type == "note_on" and m.velocity:
            ons.append(t)
    assert ons == [3 * TPB + 1 * TPB]  # bar 2 starts at 3 quarters, beat 2 a quarter later


# --- the view --------------------------------------------------------------------------------------
def test_the_view_draws_12_columns_with_a_mark_between_6_8s_two_beats():
    cells = roll.notes_to_roll([roll.Note(60, 6, 7, 127)], TRIPLE)
    line = roll_lines(cells, 60, 60, 1, "cyan", METERS["6/8"])[0]
    assert str(line) == "│" + " " * 6 + "┊" + "█" + " " * 5 + "│"
    s = ViewState(bar=0, heard=cells, answer=None, tempo=120, source="internal", model_ms=None, late_ms=None,
                  skipped=0, dropped=0, mode="accompany", meter=METERS["6/8"])
    assert s.answer.shape == (roll.N_PITCHES, 12)
    assert "│      ┊█     │" in render_text(s, 80, 30)


# --- the model check -------------------------------------------------------------------------------
def test_a_model_of_another_bar_length_is_one_line_naming_the_fix():
    with pytest.raises(ModelError) as info:
        meters.check_model(FakeRuntime(), METERS["6/8"])
    msg = str(info.value)
    assert "\n" not in msg and "16-step" in msg and "6/8" in msg and "--model" in msg and "--meter 4/4" in msg
    meters.check_model(FakeRuntime(steps=12), METERS["3/4"])  # fits: nothing said

    class Exported:  # a loaded model tells its steps by its metadata
        metadata = {"srlive.steps": "12"}
        path = "runs/m"

    with pytest.raises(ModelError, match="3/4 or 6/8"):
        meters.check_model(Exported(), METERS["4/4"])
    with pytest.raises(ModelError, match="16-step"):
        Engine(FakeRuntime(), Settings(meter=METERS["3/4"]), now=FakeClock().now)


def test_a_meter_without_a_shipped_model_is_one_line(tmp_path):
    assert (meters.shipped_model(METERS["4/4"]) / "step.onnx").is_file()
    with pytest.raises(ModelError) as info:
        meters.shipped_model(METERS["6/8"], root=tmp_path)
    msg = str(info.value)
    assert msg.startswith("no shipped model for 6/8 bars") and "--model" in msg and "--meter 4/4" in msg


def test_a_time_signature_picks_its_meter_or_is_one_line():
    assert meters.of_signature((6, 8), "jig.mid") is METERS["6/8"]
    assert meters.of_signature((3, 4), "waltz.mid") is METERS["3/4"]
    assert meters.of_signature(None, "x.mid") is None
    with pytest.raises(UserError) as info:
        meters.of_signature((5, 4), "odd.mid")
    assert "odd.mid" in str(info.value) and "5/4" in str(info.value) and "--meter" in str(info.value)


# --- the engine and file mode ----------------------------------------------------------------------
def test_the_engine_in_3_4_answers_within_12_steps_and_clicks_three_beats():
    fake = FakeClock(0.0)
    eng = Engine(FakeRuntime(steps=12), Settings(meter=METERS["3/4"], metronome=True, tempo=120),
                 now=fake.now, sleep=fake.sleep)
    eng.start_clock(0.0)
    assert eng.step_len(0) == pytest.approx(0.125)
    events = eng.close_window(0, [NoteMsg(0.0, 62, 90), NoteMsg(0.5, 62, 0)]).events
    srl = [e for e in events if e.source == "srlive" and e.kind == ON]
    assert [(e.data1, e.time) for e in srl] == [(69, pytest.approx(1.5))]  # bar 2 starts 1.5 s on
    assert all(1.5 <= e.time < 3.0 for e in events)
    clicks = [(e.time, e.data1) for e in events if e.source == "metronome" and e.kind == ON]
    assert clicks == [(pytest.approx(1.5), 76), (pytest.approx(2.0), 77), (pytest.approx(2.5), 77)]


def write_tune(path, signature, bars, tempo=120):
    """A one-track tune with a time signature: bars[b] = [(pitch, start step, end step)]."""
    num, den = signature
    steps = METERS[f"{num}/{den}"].steps
    events = []
    for b, notes in enumerate(bars):
        for p, s, e in notes:
            events.append(((b * steps + s) * STEP_TICKS, 1, mido.Message("note_on", note=p, velocity=90)))
            events.append(((b * steps + e) * STEP_TICKS, 0, mido.Message("note_off", note=p)))
    events.sort(key=lambda x: (x[0], x[1]))
    track = mido.MidiTrack([mido.MetaMessage("time_signature", numerator=num, denominator=den),
                            mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo))])
    last = 0
    for t, _, m in events:
        track.append(m.copy(time=t - last))
        last = t
    track.append(mido.MetaMessage("end_of_track", time=len(bars) * steps * STEP_TICKS - last))
    mf = mido.MidiFile(ticks_per_beat=TPB)
    mf.tracks.append(track)
    mf.save(path)
    return path


JIG = [[(67, 0, 2), (64, 2, 4), (60, 4, 6), (62, 6, 8), (64, 8, 10), (67, 10, 12)],
       [(69, 0, 4), (67, 4, 6), (64, 6, 12)],
       [(62, 0, 2), (64, 2, 4), (62, 4, 6), (60, 6, 12)]]
WALTZ = [[(48, 0, 4), (64, 4, 8), (67, 8, 12)], [(43, 0, 4), (65, 4, 8), (67, 8, 12)],
         [(48, 0, 12), (72, 4, 6)]]


def srlive_notes(path):
    mid = mido.MidiFile(path)
    t, open_, notes = 0, {}, []
    for m in next(tr for tr in mid.tracks if tr.name == "srlive"):
        t += m.time
        if m.type == "note_on" and m.velocity:
            open_[m.note] = t
        elif m.type in ("note_on", "note_off") and m.note in open_:
            notes.append((m.note, open_.pop(m.note), t))
    return mid, sorted(notes, key=lambda n: (n[1], n[0]))


@pytest.mark.parametrize("name, tune", [("6/8", JIG), ("3/4", WALTZ)])
def test_file_mode_answers_a_tune_in_its_meter_on_its_grid(tmp_path, name, tune):
    meter = METERS[name]
    take = read_take(write_tune(tmp_path / "tune.mid", meter.time_signature, tune))
    assert take.time_signature == meter.time_signature
    out = tmp_path / "answer.mid"
    res = run_file(take, out, FakeRuntime(steps=12), Settings(seed=1, meter=meter))
    assert res.bars == len(tune) + 1 and res.answered == len(tune) and res.meter == name
    mid, notes = srlive_notes(out)
    assert [(m.numerator, m.denominator) for m in mid.tracks[0] if m.type == "time_signature"] == [
        meter.time_signature]
    bar_ticks = 12 * STEP_TICKS  # three quarter notes
    assert all(on % STEP_TICKS == 0 for _, on, _ in notes)  # onsets on the sixteenth grid
    assert all(on // bar_ticks == (off - 1) // bar_ticks for _, on, off in notes)  # no note over a bar line
    # the fake model answers bar b a fifth up in bar b+1: one 12-step bar later, note for note
    want = sorted(((p + 7, (b + 1) * bar_ticks + s * STEP_TICKS) for b, bar in enumerate(tune) for p, s, _ in bar),
                  key=lambda n: (n[1], n[0]))
    assert [(p, on) for p, on, _ in notes] == want


def test_file_mode_with_the_cli_takes_the_meter_from_the_take_unless_given(tmp_path, capsys, monkeypatch):
    import srlive.model.runtime
    from srlive import cli

    class Loaded(FakeRuntime):
        temperature, candidates, selection, path = 1.0, 1, None, "fake"

    asked = []

    def load_runtime(path, device):
        asked.append(str(path))
        return Loaded(steps=12 if "triple" in str(path) else 16)

    monkeypatch.setattr(srlive.model.runtime, "load_runtime", load_runtime)
    jig = write_tune(tmp_path / "jig.mid", (6, 8), JIG)
    out = tmp_path / "answer.mid"
    code = cli.main(["--in", str(jig), "--out", str(out), "--model", "runs/triple", "--no-view"])
    _, err = capsys.readouterr()
    assert code == 0, err
    assert [(m.numerator, m.denominator) for m in mido.MidiFile(out).tracks[0] if m.type == "time_signature"] == [
        (6, 8)]
    # --meter given wins over the take's; a model of 12-step bars can't play it: one line
    code = cli.main(["--in", str(jig), "--out", str(out), "--model", "runs/triple", "--meter", "4/4"])
    _, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and "12-step" in err and "4/4" in err
    code = cli.main(["--in", str(jig), "--out", str(out), "--model", "runs/default", "--meter", "4/4", "--overwrite"])
    _, err = capsys.readouterr()
    assert code == 0, err
    assert [(m.numerator, m.denominator) for m in mido.MidiFile(out).tracks[0] if m.type == "time_signature"] == [
        (4, 4)]
    odd = write_tune(tmp_path / "odd.mid", (4, 4), [[(60, 0, 4)]])
    mf = mido.MidiFile(odd)
    mf.tracks[0][0] = mido.MetaMessage("time_signature", numerator=5, denominator=4)
    mf.save(odd)
    code = cli.main(["--in", str(odd), "--out", str(tmp_path / "o.mid"), "--model", "runs/default"])
    _, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and "5/4" in err and "--meter" in err


def test_under_sync_a_6_8_bar_is_72_pulses_and_the_take_keeps_6_8_bars(tmp_path):
    fake = FakeClock(10.0)
    rec = Recorder(tmp_path / "sync.mid", meter=METERS["6/8"])
    eng = Engine(FakeRuntime(steps=12), Settings(sync=True, mode="solo", seed=1, metronome=True, meter=METERS["6/8"]),
                 now=fake.now, sleep=fake.sleep, recorder=rec, log=lambda m: None)
    period = 60 / 120 / 24
    eng.on_message(mido.Message("start"), 10.0)
    pulses = iter(range(10_000))

    def pulse_until(t):
        while True:
            p = next(pulses)
            eng.on_message(mido.Message("clock"), 10.001 + p * period)
            if 10.001 + p * period >= t:
                return

    pulse_until(10.02)
    fake.t = 10.02
    bar = eng._sync_begin()
    assert bar == 0
    for b in range(3):
        close = eng.clock.time_at(b, 11.5)
        pulse_until(close)
        fake.t = close
        events = eng.close_window(b, []).events
        clicks = sorted(e.pos for e in events if e.source == "metronome" and e.kind == ON)
        assert clicks == [(b + 1) * 72, (b + 1) * 72 + 36]  # bar b+1's two dotted-quarter beats
        assert all((b + 1) * 72 <= e.pos < (b + 2) * 72 for e in events)
        eng.scheduler.add(events)
        while eng.scheduler.next_deadline() is not None and eng.scheduler.next_deadline() <= eng.clock.time_at(b + 1, 11.5):
            fake.t = max(fake.t, eng.scheduler.next_deadline())
            pulse_until(fake.t)
            eng.scheduler.dispatch_due()
        eng._record(fake.t)
    mid = mido.MidiFile(tmp_path / "sync.mid")
    assert [(m.numerator, m.denominator) for m in mid.tracks[0] if m.type == "time_signature"] == [(6, 8)]
    t, clicks = 0, []
    for m in next(tr for tr in mid.tracks if tr.name == "metronome"):
        t += m.time
        if m.type == "note_on" and m.velocity:
            clicks.append((t, m.note))
    assert clicks[:4] == [(1440, 76), (2160, 77), (2880, 76), (3600, 77)]  # bars of three quarters, accented


def test_bench_bars_for_a_12_step_model_are_12_steps_wide_and_4_4_bars_unchanged():
    from srlive.model.synthetic_bars import music_like_bars

    bars = music_like_bars(20, np.random.default_rng(3), TRIPLE)
    assert bars.shape == (20, roll.N_PITCHES, 12) and all(bars[i].any() for i in range(20))
    assert np.array_equal(music_like_bars(4, np.random.default_rng(7)),
                          music_like_bars(4, np.random.default_rng(7), roll.STEPS))


def test_model_is_a_path_a_shipped_models_name_or_the_meters_own(tmp_path):
    shipped = tmp_path / "models"
    for name in ("default", "triple", "other"):
        (shipped / name).mkdir(parents=True)
        (shipped / name / "step.onnx").write_bytes(b"x")
    four = METERS["4/4"]
    assert meters.model_path(None, four, root=shipped) == shipped / "default"
    assert meters.model_path(None, METERS["6/8"], root=shipped) == shipped / "triple"
    assert meters.model_path("other", four, root=shipped) == shipped / "other"
    own = tmp_path / "mine"
    own.mkdir()
    assert meters.model_path(str(own), four, root=shipped) == own  # a path that exists is a path
    assert meters.model_path("nothing", four, root=shipped) == meters.Path("nothing")  # load_runtime says it is missing


def test_the_shipped_default_is_the_step_decoder_and_answers_four_four_bars():
    from srlive.model.runtime import load_runtime

    rt = load_runtime(meters.model_path(None, METERS["4/4"]), "cpu")
    meters.check_model(rt, METERS["4/4"])
    assert rt.history == (1, 2, 4, 8) and rt.context == 4 and rt.has_critic
    with pytest.raises(ModelError):
        meters.check_model(rt, METERS["3/4"])
