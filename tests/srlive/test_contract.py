"""srlive.contract: the names the command line offers are the ones the engine, the ports and the
runtime take, and the numbers every part uses are the contract's."""

import numpy as np
import pytest

from srlive import contract, options, roll
from srlive.errors import BadValue, PortError, UserError
from srlive.live.modes import make_mode
from srlive.live.render import note_velocity
from srlive.settings import Settings, apply_control


def test_the_command_line_offers_the_contracts_names():
    assert options.BY_NAME["mode"].choices == contract.MODES
    assert options.BY_NAME["backend"].choices == contract.BACKENDS
    assert options.BY_NAME["device"].choices == contract.DEVICES
    assert "NUM=TARGET" == options.BY_NAME["cc"].metavar
    assert all(t in options.parse_cc.valid for t in contract.CC_TARGETS)


@pytest.mark.parametrize("name", contract.MODES)
def test_every_mode_on_the_command_line_is_one_the_engine_plays(name):
    assert options.convert("mode", name, "--mode") == name
    assert make_mode(name).name == name


def test_a_mode_outside_the_contract_is_refused_by_both():
    with pytest.raises(UserError):
        options.convert("mode", "duet", "--mode")
    with pytest.raises(ValueError):
        make_mode("duet")


@pytest.mark.parametrize("name", contract.BACKENDS)
def test_every_backend_on_the_command_line_is_one_the_ports_take(name, monkeypatch):
    from srlive import ports
    from srlive.ports import backends

    monkeypatch.setattr(backends, "_unavailable", lambda backend: None)  # every MIDI system "works" here
    assert options.convert("backend", name, "--backend") == name
    assert ports.resolve_backend(name) in contract.BACKENDS[1:]


def test_a_backend_outside_the_contract_is_refused_by_the_ports():
    from srlive import ports

    with pytest.raises(PortError):
        ports.resolve_backend("oss")


def test_a_device_outside_the_contract_is_refused_by_the_runtime():
    from srlive.model.runtime import load_runtime

    with pytest.raises(UserError):
        options.convert("device", "tpu", "--device")
    with pytest.raises(UserError):
        load_runtime(None, "tpu")


@pytest.mark.parametrize("target", contract.CC_TARGETS)
def test_every_live_control_on_the_command_line_is_one_the_engine_acts_on(target):
    assert options.parse_cc([f"21={target}"]) == {21: target}
    before = Settings(mode="accompany", temperature=0.0, threshold=0.5)
    after, action = apply_control(before, target, 127)
    assert action is not None or after != before


@pytest.mark.parametrize("policy", contract.VELOCITY_POLICIES)
def test_every_velocity_policy_is_one_the_renderer_applies(policy):
    assert options.parse_velocity(policy) == policy
    played = note_velocity(64, policy, 100.0)
    assert played == (100 if policy == "follow" else 64)


def test_the_roll_and_the_clock_use_the_contracts_numbers():
    from srlive.clocks import internal as clock
    from srlive.clocks.model_follower import ModelClockFollower

    assert roll.empty_roll().shape == contract.BAR_SHAPE
    assert roll.notes_to_roll([(contract.LOWEST_PITCH, 0, 1, 127)])[0, 0] == np.float32(1.0)
    assert ModelClockFollower().bar_pulses == contract.PULSES_PER_QUARTER * contract.BEATS_PER_BAR
    assert clock.bar_seconds(contract.DEFAULT_TEMPO) == pytest.approx(60.0 * contract.BEATS_PER_BAR / contract.DEFAULT_TEMPO)
    assert options.BY_NAME["tempo"].convert(contract.TEMPO_RANGE[1]) == contract.TEMPO_RANGE[1]
    with pytest.raises(BadValue):
        options.BY_NAME["tempo"].convert(contract.TEMPO_RANGE[1] + 1)
    assert Settings().tempo == contract.DEFAULT_TEMPO
    assert Settings().temperature == contract.DEFAULT_TEMPERATURE


def test_the_command_line_and_presets_offer_the_contracts_meters_and_the_engine_plays_each(tmp_path):
    from srlive import cli
    from srlive import meter as meters
    from srlive.preset_loader import load_preset

    assert options.BY_NAME["meter"].choices == tuple(contract.METERS)
    for name, meter in contract.METERS.items():
        assert options.convert("meter", name, "--meter") == name
        assert cli.settings_from({**options.defaults(), "meter": name}).meter is meter
        assert meter.time_signature == (meter.numerator, meter.denominator)
        assert meter.steps * 4 == meter.quarters * 16 and meter.pulses == meter.steps * contract.PULSES_PER_STEP
        assert meter.beat_steps[0] == 0 and len(meter.beat_steps) == meter.beats
        assert meters.of_signature(meter.time_signature, "take.mid") is meter
        preset = tmp_path / f"p{meter.steps}{meter.beats}.toml"
        preset.write_text(f'meter = "{name}"\n')
        assert load_preset(str(preset)) == {"meter": name}
    assert cli.settings_from(options.defaults()).meter is contract.METERS[contract.DEFAULT_METER]
    assert contract.METERS[contract.DEFAULT_METER].steps == contract.STEPS
    assert contract.METERS[contract.DEFAULT_METER].pulses == contract.PULSES_PER_BAR
    with pytest.raises(UserError):
        options.convert("meter", "5/4", "--meter")
    bad = tmp_path / "bad.toml"
    bad.write_text('meter = "7/8"\n')
    with pytest.raises(UserError, match="meter"):
        load_preset(str(bad))
