"""Export → load → parity on a freshly trained tiny checkpoint, metadata, refusal, atomic writes."""

from __future__ import annotations

import json
import shutil
import time

import numpy as np
import onnx
import pytest
import torch

from srlive.errors import ModelError
from srlive.model.runtime import load_runtime
from srlive_export import cli
from srlive_export.parity import check_parity, parity_inputs
from srlive_training.checkpoint import save_checkpoint
from srlive_training.config import LIVE
from srlive_training.model import VAEGAN

DATA_SUMMARY = {"sources": ["random test bars"], "bars": 64, "cache_key": "test"}
STEPS_TRAINED = 4


def _tiny_trained(seed=0) -> VAEGAN:
    """A few Adam steps of reconstruction on random sparse bars: weights that are not the init."""
    torch.manual_seed(seed)
    model = VAEGAN(LIVE)
    params = list(model.encoder.parameters()) + list(model.generator.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    bars = (torch.rand(64, 1, 88, 16) < 0.05).float()
    for _ in range(STEPS_TRAINED):
        mu, log_scale = model.encoder(bars)
        recon = model.generator(mu + torch.randn_like(mu) * torch.exp(log_scale))
        loss = torch.nn.functional.binary_cross_entropy(recon.clamp(1e-6, 1 - 1e-6), bars)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(model, checkpoint path, exported folder, CLI stdout)."""
    root = tmp_path_factory.mktemp("export")
    model = _tiny_trained()
    ckpt = root / "tiny.pt"
    save_checkpoint(ckpt, model, step=STEPS_TRAINED, data_summary=DATA_SUMMARY)
    out = root / "model"
    code = cli.main([str(ckpt), "--out", str(out), "--n-real", "200", "--n-random", "200"])
    assert code == 0
    return model, ckpt, out


def test_export_writes_four_checked_files_and_a_record(trained):
    _, _, out = trained
    assert sorted(p.name for p in out.iterdir()) == ["critic.onnx", "encoder.onnx", "export.json", "generator.onnx",
                                                     "step.onnx"]
    for name in ("encoder.onnx", "generator.onnx", "step.onnx", "critic.onnx"):
        proto = onnx.load(str(out / name))
        onnx.checker.check_model(proto, full_check=True)
        assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) >= 17
        assert proto.ir_version <= 9  # readable by onnxruntime 1.17, the oldest pyproject allows
    record = json.loads((out / "export.json").read_text())
    assert record["parity"]["flips"] == 0 and record["parity"]["max_abs_diff"] <= 1e-4


def test_metadata_present_and_read_back(trained):
    model, _, out = trained
    for name in ("encoder.onnx", "generator.onnx", "step.onnx", "critic.onnx"):
        meta = {p.key: p.value for p in onnx.load(str(out / name)).metadata_props}
        assert meta["srlive.format"] == "1"
        assert json.loads(meta["srlive.config"]) == json.loads(json.dumps(model.config.to_dict()))
        assert (meta["srlive.lowest_pitch"], meta["srlive.steps"], meta["srlive.latent"]) == ("21", "16", "128")
        assert json.loads(meta["srlive.data"]) == DATA_SUMMARY
        assert meta["srlive.trained_steps"] == str(STEPS_TRAINED)
        assert meta["srlive.created"].startswith("20")
    rt = load_runtime(out, device="cpu")
    assert rt.metadata["srlive.trained_steps"] == str(STEPS_TRAINED)
    assert rt.config["name"] == "live" and rt.latent == 128


def test_runtime_matches_torch_on_the_trained_checkpoint(trained):
    model, _, out = trained
    rt = load_runtime(out, device="cpu")
    rng = np.random.default_rng(3)
    bars = (rng.random((20, 88, 16)) < 0.08).astype(np.float32)
    noise = rng.standard_normal((20, 128)).astype(np.float32)
    with torch.no_grad():
        ref = model.step(torch.from_numpy(bars[:, None]), torch.from_numpy(noise), 0.7).numpy()[:, 0]
    got = np.stack([rt.step(b, n, 0.7) for b, n in zip(bars, noise)])
    assert np.abs(got - ref).max() <= 1e-4
    assert np.array_equal(got >= 0.5, ref >= 0.5)


def test_dynamic_batch_gives_per_item_results(trained):
    _, _, out = trained
    rt = load_runtime(out, device="cpu")
    rng = np.random.default_rng(4)
    bars = rng.random((5, 88, 16), dtype=np.float32)
    noise = rng.standard_normal((5, 128)).astype(np.float32)
    batch = rt.step_batch(bars, noise, 1.0)
    singles = np.stack([rt.step_batch(bars[i:i + 1], noise[i:i + 1], 1.0)[0] for i in range(5)])
    assert batch.shape == (5, 88, 16)
    np.testing.assert_allclose(batch, singles, atol=1e-6)
    np.testing.assert_allclose(singles, np.stack([rt.step(b, n, 1.0) for b, n in zip(bars, noise)]), atol=1e-6)


def test_encoder_generator_pair_equals_step(trained, tmp_path):
    _, _, out = trained
    for name in ("encoder.onnx", "generator.onnx"):
        shutil.copy(out / name, tmp_path / name)
    pair, fused = load_runtime(tmp_path, device="cpu"), load_runtime(out, device="cpu")
    assert set(pair.files) == {"encoder.onnx", "generator.onnx"}
    rng = np.random.default_rng(5)
    bar = (rng.random((88, 16)) < 0.1).astype(np.float32)
    noise = rng.standard_normal(128).astype(np.float32)
    np.testing.assert_allclose(pair.step(bar, noise, 0.8), fused.step(bar, noise, 0.8), atol=1e-5)


def test_temperature_zero_ignores_the_noise(trained):
    rt = load_runtime(trained[2], device="cpu")
    rng = np.random.default_rng(6)
    bar = (rng.random((88, 16)) < 0.1).astype(np.float32)
    a, b = rng.standard_normal(128).astype(np.float32), rng.standard_normal(128).astype(np.float32)
    assert np.array_equal(rt.step(bar, a, 0.0), rt.step(bar, b, 0.0))
    assert not np.array_equal(rt.step(bar, a, 1.0), rt.step(bar, b, 1.0))


def _exported_protos(folder, bump: float = 0.0) -> dict[str, onnx.ModelProto]:
    """The exported graphs, with `bump` added to the generator's last bias (a wrong export)."""
    protos = {name: onnx.load(str(folder / name)) for name in ("encoder.onnx", "generator.onnx", "step.onnx", "critic.onnx")}
    for proto in protos.values():
        for init in proto.graph.initializer:
            if init.name.endswith("body.5.bias"):  # "generator.body.5.bias" in step.onnx
                init.CopyFrom(onnx.numpy_helper.from_array(onnx.numpy_helper.to_array(init) + np.float32(bump), init.name))
    return protos


def test_parity_check_passes_the_export_and_catches_other_weights(trained):
    model, _, out = trained
    bars, noise, temp = parity_inputs(np.zeros((10, 88, 16), np.float32), 10, 128)
    good = check_parity(model, _exported_protos(out), bars, noise, temp, n_real=10, real_source="zeros")
    assert good.ok and good.flips == 0 and good.max_abs_diff <= 1e-4
    report = check_parity(_tiny_trained(seed=1), _exported_protos(out), bars, noise, temp, n_real=10, real_source="zeros")
    assert not report.ok and report.max_abs_diff > 1e-3
    assert "differs from torch by up to" in report.failure()


def test_the_critic_is_exported_with_parity_and_judges_like_the_discriminator(trained):
    model, _, out = trained
    bars, noise, temp = parity_inputs(np.zeros((4, 88, 16), np.float32), 20, 128)
    protos = _exported_protos(out)
    assert [i.name for i in protos["critic.onnx"].graph.input] == ["bar"]
    assert [o.name for o in protos["critic.onnx"].graph.output] == ["logit"]
    good = check_parity(model, {"critic.onnx": protos["critic.onnx"]}, bars, noise, temp, n_real=4, real_source="zeros")
    assert good.ok and good.files["critic.onnx"].max_abs_diff <= 1e-4
    own = {k: v.clone() for k, v in model.discriminator.state_dict().items()}
    model.discriminator.load_state_dict(VAEGAN(LIVE).discriminator.state_dict())  # E and G the same, D another's
    try:
        bad = check_parity(model, {"critic.onnx": protos["critic.onnx"]}, bars, noise, temp, n_real=4, real_source="zeros")
    finally:
        model.discriminator.load_state_dict(own)
    assert not bad.ok and "critic.onnx differs from torch" in bad.failure()


def test_failed_export_writes_nothing_and_says_by_how_much(trained, tmp_path, monkeypatch, capsys):
    import srlive_export.onnx_export as oe

    monkeypatch.setattr(oe, "export_protos", lambda model, **kw: _exported_protos(trained[2], bump=3e-3))
    out = tmp_path / "refused"
    code = cli.main([str(trained[1]), "--out", str(out), "--n-real", "20", "--n-random", "20"])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert not out.exists()
    assert not list(tmp_path.glob(".*tmp"))
    assert len(err.splitlines()) == 1 and "parity check failed" in err and "differs from torch by up to" in err
    assert "generator.onnx" in err and "step.onnx" in err and "encoder.onnx" not in err


def test_write_atomically_replaces_only_its_files(tmp_path):
    out = tmp_path / "m"
    cli.write_atomically({"a.onnx": b"1", "b.onnx": b"2"}, out)
    (out / "keep.txt").write_text("mine")
    cli.write_atomically({"a.onnx": b"3"}, out)
    assert (out / "a.onnx").read_bytes() == b"3" and (out / "b.onnx").read_bytes() == b"2"
    assert (out / "keep.txt").read_text() == "mine"
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no temp folder left behind


def test_the_exported_model_plays_at_the_temperature_it_was_exported_with(trained, tmp_path, capsys):
    assert load_runtime(trained[2], device="cpu").temperature == 1.0  # the default
    out = tmp_path / "warm"
    assert cli.main([str(trained[1]), "--out", str(out), "--n-real", "50", "--n-random", "50",
                     "--temperature", "1.35"]) == 0
    assert "plays at temperature 1.35" in capsys.readouterr().out
    for name in ("encoder.onnx", "generator.onnx", "step.onnx"):
        assert {p.key: p.value for p in onnx.load(str(out / name)).metadata_props}["srlive.temperature"] == "1.35"
    assert load_runtime(out, device="cpu").temperature == 1.35


def test_an_impossible_export_temperature_is_one_line_before_any_work(tmp_path, capsys):
    assert cli.main([str(tmp_path / "nope.pt"), "--out", str(tmp_path / "o"), "--temperature", "-1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--temperature -1: give a number from 0 to 4" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_missing_checkpoint_is_one_line_exit_2(tmp_path, capsys):
    assert cli.main([str(tmp_path / "nope.pt"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("srlive-export:") and "checkpoint not found" in err and len(err.splitlines()) == 1


def test_runtime_refuses_a_truncated_export(trained, tmp_path):
    data = (trained[2] / "step.onnx").read_bytes()
    (tmp_path / "step.onnx").write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelError, match="truncated or corrupt"):
        load_runtime(tmp_path, device="cpu")


@pytest.mark.slow
def test_paper_config_exports_with_parity(tmp_path, capsys):
    """`live` is exported with parity by the module fixture; `paper` is ~95 MB and ~50x the compute."""
    t0 = time.perf_counter()
    assert cli.main(["--untrained", "paper", "--out", str(tmp_path / "paper"), "--n-real", "200", "--n-random", "200"]) == 0
    report = json.loads((tmp_path / "paper" / "export.json").read_text())["parity"]
    assert report["flips"] == 0 and report["max_abs_diff"] <= 1e-4
    rt = load_runtime(tmp_path / "paper", device="cpu")
    assert rt.config["name"] == "paper" and rt.metadata["srlive.data"] == "untrained placeholder"
    with capsys.disabled():
        print(f"\npaper: {report['summary']} ({time.perf_counter() - t0:.1f} s)")


def test_real_bars_come_from_the_test_split_first(tmp_path):
    from srlive_export.parity import real_bars_from_corpus
    from srlive_training.corpus import BarCorpus

    bars = np.zeros((9, 88, 16), np.uint8)
    tune = np.repeat(np.arange(3), 3).astype(np.int32)
    bars[:, 40, 0] = (tune + 1) * 40  # tune 0 (train) 40, tune 1 (val) 80, tune 2 (test) 120
    BarCorpus(bars, tune, np.array([0, 1, 2], np.int8), ["a", "b", "c"]).save(tmp_path / "c.npz")
    rng = np.random.default_rng(0)
    got = real_bars_from_corpus(tmp_path / "c.npz", 3, rng)
    assert sorted(np.round(got[:, 40, 0] * 127).astype(int)) == [120, 120, 120]
    got = real_bars_from_corpus(tmp_path / "c.npz", 5, rng)
    assert sorted(np.round(got[:, 40, 0] * 127).astype(int)) == [80, 80, 120, 120, 120]


def test_data_summary_is_compacted_in_metadata():
    from srlive_export.metadata import build_metadata

    summary = {"tunes": 3, "failures": [f"f{i}.mid" for i in range(200)], "per_split": {"test": {"bars": 4}}}
    data = json.loads(build_metadata(LIVE.to_dict(), summary, 7)["srlive.data"])
    assert data["tunes"] == 3 and data["per_split"] == {"test": {"bars": 4}}
    assert data["failures"][:2] == ["f0.mid", "f1.mid"] and data["failures"][-1] == "... 192 more"
    assert len(data["failures"]) == 9


def test_metadata_and_the_export_record_carry_no_absolute_paths(trained, tmp_path):
    from srlive_export.metadata import build_metadata

    summary = {"cache_path": "/home/someone/cache/bars-1.npz", "midi_dirs": ["C:\\Users\\me\\midi"], "tunes": 3}
    data = json.loads(build_metadata(LIVE.to_dict(), summary, 7)["srlive.data"])
    assert data == {"cache_path": "bars-1.npz", "midi_dirs": ["midi"], "tunes": 3}
    out = tmp_path / "m"
    ckpt = trained[1]
    assert cli.main([str(ckpt), "--out", str(out), "--n-real", "20", "--n-random", "20"]) == 0
    assert str(ckpt.parent) not in (out / "export.json").read_text()
    assert json.loads((out / "export.json").read_text())["source"] == ckpt.name


def test_the_shipped_models_files_name_no_machines_paths():
    from srlive.model.runtime import default_model_path

    for folder in default_model_path().parent.iterdir():
        files = sorted(folder.glob("*.onnx"))
        assert files, folder
        for f in files:
            props = {p.key: p.value for p in onnx.load(str(f), load_external_data=False).metadata_props}
            assert not any(token in value for value in props.values() for token in ('"/', ":\\\\")), f
        assert '"/' not in (folder / "export.json").read_text()


def test_out_that_is_a_file_is_refused_before_exporting(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    assert cli.main(["--untrained", "live", "--out", str(tmp_path / "f")]) == 2
    assert "is a file" in capsys.readouterr().err


def test_the_model_selects_as_exported_and_bad_selection_is_one_line(trained, tmp_path, capsys):
    from srlive.model.selection import Weights

    _, ckpt, _ = trained
    out = tmp_path / "sel"
    code = cli.main([str(ckpt), "--out", str(out), "--n-real", "10", "--n-random", "10", "--candidates", "8",
                     "--selection", "critic=2,motif=3"])
    assert code == 0
    rt = load_runtime(out, device="cpu")
    assert rt.candidates == 8 and rt.selection == Weights(critic=2.0, motif=3.0)
    assert rt.has_critic
    for bad, says in ((["--candidates", "0"], "--candidates 0: give a whole number from 1 to 256"),
                      (["--selection", "groove=1"], "unknown weight 'groove'")):
        assert cli.main([str(ckpt), "--out", str(tmp_path / "bad"), *bad]) == 2
        err = capsys.readouterr().err.strip()
        assert says in err and "\n" not in err
    assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize("key,value", [("srlive.context", "3"), ("srlive.memory", "9"),
                                       ("srlive.memory_kind", "tune")])
def test_a_model_whose_context_is_unknown_is_one_line(trained, tmp_path, key, value):
    _, _, out = trained
    folder = tmp_path / "odd"
    shutil.copytree(out, folder)
    for name in ("encoder.onnx", "generator.onnx", "step.onnx", "critic.onnx"):
        proto = onnx.load(str(folder / name))
        for p in proto.metadata_props:
            if p.key == key:
                p.value = value
        if key not in {p.key for p in proto.metadata_props}:
            proto.metadata_props.add(key=key, value=value)
        onnx.save(proto, str(folder / name))
    with pytest.raises(ModelError, match=f"{key} is '{value}'.*re-export"):
        load_runtime(folder, device="cpu")
