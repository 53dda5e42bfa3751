"""The option table, presets (valid and invalid) and how the command line overrides them."""

import pytest

from srlive import options
from srlive.errors import PresetError, UserError
from srlive.preset_loader import list_presets, load_preset, validate


def test_shipped_presets_load_and_do_what_they_say():
    names = list_presets()
    assert {"jam", "call-and-response", "solo", "sparse"} <= set(names)
    for name in names:
        table = load_preset(name)
        assert set(table) <= set(options.PRESET_KEYS)
    assert load_preset("jam")["mode"] == "accompany"
    assert load_preset("call-and-response")["mode"] == "call-response"
    assert load_preset("solo")["mode"] == "solo"
    sparse = load_preset("sparse")
    assert sparse["threshold"] >= 0.7 and sparse["velocity"] == "follow"
    assert load_preset("jam")["cc"] == {21: "temperature", 22: "threshold", 23: "mode", 24: "mute", 25: "panic"}
    assert not any("candidates" in load_preset(name) for name in names)  # each plays its model's own count


def test_preset_keys_are_exactly_the_long_options():
    parser_opts = {a.option_strings[0][2:] for a in options.build_parser()._actions if a.option_strings[0] != "-h"}
    assert set(options.PRESET_KEYS) <= parser_opts
    assert parser_opts - set(options.PRESET_KEYS) == {"list-ports", "preset", "demo", "bench", "json", "calibrate"}


def test_unknown_key_names_the_key_and_the_valid_keys(tmp_path):
    p = tmp_path / "mine.toml"
    p.write_text('mode = "solo"\ntempoo = 100\n')
    with pytest.raises(PresetError) as err:
        load_preset(str(p))
    msg = str(err.value)
    assert "'tempoo'" in msg and "did you mean tempo?" in msg and "count-in" in msg and "\n" not in msg


@pytest.mark.parametrize("body, words", [
    ('mode = "jazz"', ["mode", "accompany, call-response or solo"]),
    ("tempo = 400", ["tempo", "20 to 300"]),
    ('velocity = "loud"', ["velocity", "model, follow or a fixed velocity 1..127"]),
    ("thru = 1", ["thru", "true or false"]),
    ("channel = 2.5", ["channel", "whole number from 1 to 16"]),
    ('backend = "pulse"', ["backend", "auto, alsa, jack, coremidi or windows"]),
    ('[cc]\n21 = "volume"', ["cc", "temperature, threshold, mode, mute, panic"]),
    ("[tempo]\nx = 1", ["tempo", "table"]),
    ("mode = ", ["not valid TOML"]),
])
def test_bad_values_name_the_key_and_the_choices(tmp_path, body, words):
    p = tmp_path / "bad.toml"
    p.write_text(body + "\n")
    with pytest.raises(PresetError) as err:
        load_preset(str(p))
    for w in words:
        assert w in str(err.value)


def test_action_options_are_not_preset_keys():
    with pytest.raises(PresetError, match="unknown key 'bench'"):
        validate({"bench": True}, "x")


def test_unknown_preset_name_lists_the_presets():
    with pytest.raises(PresetError, match="choose .*jam.*sparse"):
        load_preset("nosuch")
    with pytest.raises(PresetError, match="no such file"):
        load_preset("/nonexistent/p.toml")


def test_command_line_overrides_the_preset():
    preset = load_preset("sparse")
    cfg = options.resolve(options.from_command_line(["--threshold", "0.3", "--no-metronome"]), preset)
    assert cfg["threshold"] == 0.3 and cfg["velocity"] == "follow" and cfg["metronome"] is False
    cfg = options.resolve({}, load_preset("call-and-response"))
    assert cfg["metronome"] is True
    cfg = options.resolve(options.from_command_line(["--no-metronome"]), load_preset("call-and-response"))
    assert cfg["metronome"] is False
    assert options.resolve({})["mode"] == "accompany"


@pytest.mark.parametrize("argv", [["--tempo", "19"], ["--tempo", "fast"], ["--mode", "jazz"], ["--channel", "0"],
                                  ["--velocity", "128"], ["--transpose", "60"], ["--max-late", "0"], ["--nope"],
                                  ["--cc", "21"], ["--in-channel", "17"], ["--bars", "0"]])
def test_bad_command_line_values_are_one_line_user_errors(argv):
    with pytest.raises(UserError) as err:
        options.from_command_line(argv)
    assert "\n" not in str(err.value) and str(err.value)


def test_optional_values():
    got = options.from_command_line(["--in-channel", "all", "--seed", "none", "--velocity", "64", "--demo"])
    assert got == {"in-channel": None, "seed": None, "velocity": 64, "demo": "answer.mid"}


def test_candidates_and_selection_from_the_command_line_and_their_mistakes():
    from srlive import options
    from srlive.cli import settings_from
    from srlive.errors import UserError
    from srlive.model.selection import Weights

    given = options.from_command_line(["--candidates", "16", "--selection", "critic=0,motif=2"])
    settings = settings_from(options.resolve(given))
    assert settings.candidates == 16 and settings.selection == Weights(critic=0.0, motif=2.0)
    assert settings_from(options.resolve({})).candidates is None  # the model's own
    for argv, says in ((["--candidates", "0"], "--candidates 0: must be a whole number from 1 to 256"),
                       (["--selection", "critic"], "--selection critic: write NAME=NUMBER"),
                       (["--selection", "copy=-2"], "copy='-2' must be a number >= 0")):
        try:
            options.from_command_line(argv)
        except UserError as e:
            assert says in str(e) and "\n" not in str(e)
        else:
            raise AssertionError(f"{argv} was taken")


def test_the_variety_control_chooses_how_many_candidates():
    from srlive.settings import Settings, apply_control

    hard, _ = apply_control(Settings(), "variety", 0)
    none, _ = apply_control(Settings(), "variety", 127)
    middle, _ = apply_control(Settings(), "variety", 64)
    assert hard.candidates == 32 and none.candidates == 1 and 1 < middle.candidates < 32
