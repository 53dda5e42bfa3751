"""The `srlive` command: --demo end to end, file mode, and every user mistake as one line + exit 2."""

import subprocess
import sys
from pathlib import Path

import mido
import pytest

from srlive.cli import main

REPO = Path(__file__).resolve().parents[2]


def run_main(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *words):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("srlive: "), err
    assert "Traceback" not in err
    for w in words:
        assert w in lines[0], lines[0]


def test_help_imports_nothing_heavy():
    code = ("import sys, io, contextlib\nfrom srlive.cli import main\nbuf = io.StringIO()\n"
            "with contextlib.redirect_stdout(buf):\n    try:\n        main(['--help'])\n    except SystemExit:\n        pass\n"
            "assert 'usage: srlive' in buf.getvalue()\n"
            "print(sorted(m for m in ('numpy', 'mido', 'rtmidi', 'onnxruntime', 'torch') if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


def test_demo_writes_an_answer_with_both_tracks(tmp_path, capsys):
    out = tmp_path / "answer.mid"
    code, stdout, err = run_main(capsys, "--demo", str(out), "--seed", "1")
    assert code == 0, err
    assert f"wrote {out}" in stdout and "bars at 110 BPM" in stdout and len(stdout.strip().splitlines()) == 1
    mid = mido.MidiFile(out)
    assert [t.name for t in mid.tracks] == ["srlive take", "performer", "srlive"]
    assert sum(1 for m in mid.tracks[1] if m.type == "note_on" and m.velocity) == 43


def test_file_mode_with_preset_and_stats(tmp_path, capsys):
    out, stats = tmp_path / "a.mid", tmp_path / "s.json"
    take = REPO / "srlive" / "data" / "example_take.mid"
    code, stdout, err = run_main(capsys, "--in", str(take), "--out", str(out), "--preset", "sparse",
                                 "--stats", str(stats), "--bars", "4")
    assert code == 0, err
    assert "4 bars at 110 BPM" in stdout and out.exists() and stats.exists()  # the take's tempo, not sparse's 90
    code, stdout, err = run_main(capsys, "--in", str(take), "--out", str(out), "--tempo", "95", "--bars", "2")
    assert code == 0 and "2 bars at 95 BPM" in stdout


@pytest.mark.parametrize("argv, words", [
    (["--tempo", "400", "--demo"], ["--tempo 400", "20 to 300"]),
    (["--preset", "nosuch", "--demo"], ["no such preset", "jam"]),
    (["--demo", "{tmp}/x.mid", "--model", "/nonexistent/model"], ["/nonexistent/model"]),
    (["--in", "{tmp}/missing.mid"], ["no such MIDI file"]),
    (["--in", "{tmp}/bad.mid", "--out", "{tmp}/out.mid"], ["not a readable MIDI file"]),
    (["--demo", "{tmp}/nofolder/x.mid"], ["does not exist"]),
    (["--mode", "accompany", "--tempo", "100"], ["--in PORT"]),
    (["--in", "Bus 1", "--out", "bus 1"], ["same port", "--allow-feedback"]),
    (["--in", "p", "--record", "{tmp}/nofolder/take.mid"], ["--record", "does not exist"]),
    (["--bogus"], ["unrecognized arguments: --bogus"]),
    (["--velocity", "loud", "--demo"], ["model, follow"]),
])
def test_user_mistakes_are_one_line_and_exit_2(tmp_path, capsys, argv, words):
    (tmp_path / "bad.mid").write_bytes(b"MThd\x00\x00")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, out, err = run_main(capsys, *argv)
    assert_one_line_error(code, err, *words)
    assert not (tmp_path / "out.mid").exists() and not (tmp_path / "x.mid").exists()


def test_bad_preset_key_via_cli(tmp_path, capsys):
    p = tmp_path / "p.toml"
    p.write_text("moode = 'solo'\n")
    code, out, err = run_main(capsys, "--preset", str(p), "--demo", str(tmp_path / "x.mid"))
    assert_one_line_error(code, err, "'moode'", "did you mean mode?")


def test_console_script_entry_point_exit_code():
    res = subprocess.run([sys.executable, "-m", "srlive", "--tempo", "5", "--demo"], capture_output=True, text=True,
                         cwd=REPO, timeout=60)
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and res.stderr.startswith("srlive: --tempo 5")


def test_unexpected_errors_are_one_line_too(monkeypatch, capsys, tmp_path):
    import srlive.takes.filemode

    def boom(*a, **k):
        raise RuntimeError("the onnxruntime\nexploded")

    monkeypatch.setattr(srlive.takes.filemode, "run_file", boom)
    code, out, err = run_main(capsys, "--demo", str(tmp_path / "x.mid"))
    assert code == 1 and err.count("\n") == 1 and "RuntimeError: the onnxruntime exploded" in err


def test_the_models_own_temperature_plays_unless_one_is_given(tmp_path, capsys):
    from toy_models import GOOD_META, toy_step_model

    from srlive import cli, options

    model = toy_step_model(tmp_path / "m" / "step.onnx", meta={**GOOD_META, "srlive.temperature": "1.35"})
    cfg = {**options.defaults(), "model": str(model), "device": "cpu"}
    assert cfg["temperature"] is None  # unset: not a number that would hide the model's own
    settings = cli.settings_from(cfg, cli.load_model(cfg))  # built once, the model's defaults filled in
    assert settings.temperature == 1.35 and cfg["temperature"] is None  # the options are left as given
    cfg = {**options.defaults(), "model": str(model), "device": "cpu", "temperature": 0.7}
    settings = cli.settings_from(cfg, cli.load_model(cfg))
    assert cfg["temperature"] == settings.temperature == 0.7
    # the toy model's answer is the bar times the temperature: file mode plays at the model's 1.35
    take = REPO / "srlive" / "data" / "example_take.mid"
    out = tmp_path / "a.mid"
    code, _, err = run_main(capsys, "--in", str(take), "--out", str(out), "--model", str(model), "--bars", "2",
                            "--velocity", "model")
    assert code == 0, err
    vel = [m.velocity for m in mido.MidiFile(out).tracks[2] if m.type == "note_on" and m.velocity]
    assert vel and max(vel) == 127  # the take's loudest notes times 1.35 go past 1: capped at 127
    code, _, err = run_main(capsys, "--in", str(take), "--out", str(out), "--model", str(model), "--bars", "2",
                            "--velocity", "model", "--temperature", "1", "--overwrite")
    assert code == 0, err
    assert max(m.velocity for m in mido.MidiFile(out).tracks[2] if m.type == "note_on") < 127  # given: it wins


def test_the_settings_take_the_models_candidates_and_lay_selection_over_its_weights():
    from types import SimpleNamespace

    from srlive import cli, options
    from srlive.model.selection import Weights

    model = SimpleNamespace(temperature=1.2, candidates=16, selection=Weights(motif=2.0, critic=3.0))
    cfg = {**options.defaults(), "selection": {"critic": 1.0}}
    s = cli.settings_from(cfg, model, input_latency=0.002, input_cycle=0.005)
    assert (s.temperature, s.candidates, s.input_latency, s.input_cycle) == (1.2, 16, 0.002, 0.005)
    assert s.selection == Weights(motif=2.0, critic=1.0)  # the model's motif, the option's critic
    assert cfg["selection"] == {"critic": 1.0} and cfg["candidates"] is None  # the options are left as given
