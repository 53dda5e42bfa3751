"""--scale wired in: the option and a preset take it, the CC target turns follow on and off, and the
engine plays only scale tones (a fixed scale, or the performer's key once it is known)."""

import pytest

from srlive import roll
from srlive.model.scales import FOLLOW, Scale, parse_scale
from test_scales import follow, melody_bars


def test_the_option_and_a_preset_take_a_scale(tmp_path):
    from srlive import options
    from srlive.errors import PresetError, UserError
    from srlive.preset_loader import load_preset

    assert options.defaults()["scale"] == "off" and options.BY_NAME["scale"].valid == parse_scale.valid
    assert options.from_command_line(["--scale", "D dorian"])["scale"] == Scale(2, "dorian")
    assert options.from_command_line(["--scale", "follow"])["scale"] == FOLLOW
    with pytest.raises(UserError) as err:
        options.from_command_line(["--scale", "D dorain"])
    assert str(err.value).startswith("--scale D dorain: ") and "\n" not in str(err.value)
    p = tmp_path / "mine.toml"
    p.write_text('scale = "F# minor pentatonic"\n')
    assert load_preset(str(p))["scale"] == Scale(6, "minor pentatonic")
    p.write_text('scale = "H major"\n')
    with pytest.raises(PresetError, match="scale"):
        load_preset(str(p))


def test_the_command_line_scale_reaches_the_engines_settings():
    from srlive import options
    from srlive.cli import settings_from

    assert settings_from(options.resolve({})).scale is None
    assert settings_from(options.resolve({"scale": Scale(2, "dorian")})).scale == Scale(2, "dorian")


def test_the_scale_cc_turns_follow_on_and_off():
    from srlive.contract import CC_TARGETS
    from srlive.settings import Settings, apply_control

    assert "scale" in CC_TARGETS
    s = Settings(scale=Scale(2, "dorian"))
    following, action = apply_control(s, "scale", 100)
    assert following.scale == FOLLOW and action is None and s.scale == Scale(2, "dorian")
    off, _ = apply_control(following, "scale", 10)
    assert off.scale is None


def run_engine(bars_played, **kw):
    """Answers of an engine (fake model: the bar a fifth up) to each bar played; the notes it sends."""
    from srlive.live.engine import Engine
    from srlive.live.quantise import NoteMsg
    from srlive.live.render import ON
    from srlive.settings import Settings
    from srlive_fakes import FakeClock, FakeOutput, FakeRuntime

    clock = FakeClock(100.0)
    eng = Engine(FakeRuntime(clock=clock), Settings(tempo=120, seed=1, **kw), now=clock.now, sleep=clock.sleep,
                 output=FakeOutput(), log=lambda m: None)
    eng.start_clock(100.0)
    step = eng.clock.step
    answers = []
    for bar, played_bar in enumerate(bars_played):
        t0 = eng.clock.time_at(bar)
        msgs = []
        for n in roll.roll_to_notes(played_bar):
            msgs += [(t0 + n.start * step, n.pitch, n.velocity), (t0 + (n.end - 0.2) * step, n.pitch, 0)]
        clock.t = eng.clock.time_at(bar, 15.5)
        events = eng.close_window(bar, [NoteMsg(*m) for m in sorted(msgs)]).events
        answers.append(sorted(e.data1 for e in events if e.kind == ON))
    return answers


def test_the_engine_plays_only_scale_tones_and_follows_the_performer():
    played = melody_bars(parse_scale("D major"), 6, 8)
    free = run_engine(played)
    assert any(not Scale(2, "major").contains(p) for a in free for p in a)  # a fifth up leaves D major
    locked = run_engine(played, scale=Scale(2, "major"), transpose=3)
    assert all(Scale(2, "major").contains(p) for a in locked for p in a) and all(locked)
    heard = [k is not None for k in follow(played)[1]]  # the key is known from the bar heard[i] is True
    first = heard.index(True)
    assert 0 < first < 4
    followed = run_engine(played, scale=FOLLOW)
    assert followed[:first] == free[:first]  # nothing locked before enough notes
    assert all(Scale(2, "major").contains(p) for a in followed[first:] for p in a) and all(followed[first:])
