"""srlive.ports.backends: which backend auto picks and why one can't be used (against a fake
python-rtmidi and platform), and which port a name means (pure)."""

from __future__ import annotations

import sys

import pytest

from fake_rtmidi import FakeRtmidi, FakeWorld, install
from srlive.errors import PortError
from srlive.ports import backends


@pytest.fixture
def world(monkeypatch):
    w = FakeWorld()
    install(monkeypatch, w)
    return w


def test_importing_the_backend_choice_does_not_import_python_rtmidi():
    import subprocess

    code = "import sys, srlive.ports.backends as b; b.match_port('x', ['x']); print('rtmidi' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# -- name matching (pure) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, names, expected",
    [
        ("IAC Bus 1", ["IAC Driver Bus 1", "IAC Driver Bus 2"], "IAC Driver Bus 1"),
        ("iac driver bus 2", ["IAC Driver Bus 1", "IAC Driver Bus 2"], "IAC Driver Bus 2"),
        ("IAC Driver Bus 1", ["IAC Driver Bus 1", "iac driver bus 1"], "IAC Driver Bus 1"),
        ("performer phrase", ["system:playback_1", "performer:phrase"], "performer:phrase"),
        ("loopMIDI Port", ["Microsoft GS Wavetable Synth 0", "loopMIDI Port 1"], "loopMIDI Port 1"),
        ("Bus 1", ["IAC Driver Bus 1", "IAC Driver Bus 10"], "IAC Driver Bus 1"),
        ("Bus 3", ["IAC Driver Bus 1", "IAC Driver Bus 2"], None),
        ("", ["IAC Driver Bus 1"], None),
        ("srlive out", [], None),
    ],
)
def test_match_port(query, names, expected):
    assert backends.match_port(query, names) == expected


def test_match_port_refuses_an_ambiguous_name_listing_the_candidates():
    with pytest.raises(PortError) as err:
        backends.match_port("out", ["a:out", "b:out"])
    assert "a:out" in str(err.value) and "b:out" in str(err.value)
    assert "\n" not in str(err.value)


# -- backends ---------------------------------------------------------------------------------


def test_auto_prefers_a_running_jack_server(world, monkeypatch):
    monkeypatch.setattr(backends, "jack_running", lambda: True)
    assert backends.resolve_backend("auto") == "jack"


def test_auto_falls_back_to_alsa_without_jack(world):
    assert backends.resolve_backend() == "alsa"


def test_auto_with_nothing_on_linux_says_what_to_start(world, monkeypatch):
    monkeypatch.setattr(backends, "alsa_available", lambda: False)
    with pytest.raises(PortError) as err:
        backends.resolve_backend("auto")
    text = str(err.value)
    assert "JACK" in text and "snd-seq" in text and "\n" not in text


@pytest.mark.parametrize("platform, expected", [("darwin", "coremidi"), ("win32", "windows")])
def test_auto_on_macos_and_windows(world, monkeypatch, platform, expected):
    monkeypatch.setattr(backends, "_platform", platform)
    assert backends.resolve_backend("auto") == expected


def test_auto_on_macos_without_coremidi_points_at_the_iac_driver(world, monkeypatch):
    monkeypatch.setattr(backends, "_platform", "darwin")
    world_rt = backends._rtmidi
    world_rt.compiled = [3]
    with pytest.raises(PortError, match="IAC Driver"):
        backends.resolve_backend("auto")


def test_explicit_backend_that_is_not_there_is_refused_with_the_fix(world, monkeypatch):
    with pytest.raises(PortError, match="JACK server"):
        backends.resolve_backend("jack")
    with pytest.raises(PortError, match="only on macOS"):
        backends.resolve_backend("coremidi")
    with pytest.raises(PortError, match="choose one of auto, alsa, jack, coremidi, windows"):
        backends.resolve_backend("oss")




def test_auto_skips_a_backend_this_python_rtmidi_lacks(world, monkeypatch):
    monkeypatch.setattr(backends, "jack_running", lambda: True)
    backends._rtmidi.compiled = [FakeRtmidi.API_LINUX_ALSA]
    assert backends.resolve_backend("auto") == "alsa"
    with pytest.raises(PortError, match="no JACK support"):
        backends.resolve_backend("jack")


def test_port_list_for_a_one_line_message():
    assert backends.port_list(["a", "b c"]) == "'a'; 'b c'"
    assert backends.port_list([]) == "none"


def test_without_jack_client_or_libjack_jack_is_simply_not_running():
    import subprocess

    # importing JACK-Client raises OSError where libjack is missing: srlive imports all the same
    code = ("import sys, builtins; real = builtins.__import__\n"
            "def fake(name, *a, **k):\n"
            "    if name == 'jack': raise OSError('JACK library not found')\n"
            "    return real(name, *a, **k)\n"
            "builtins.__import__ = fake\n"
            "from srlive import ports; from srlive.ports import jack_backend\n"
            "print(jack_backend._jack_client is None, ports.jack_running(), ports.jack_midi_ports(),"
            " ports.jack_connections('a:b'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "False", "None", "None"]
