"""End to end: prepare a tiny set, train the six models, kill and resume a run, write the report, check
Figures 3-8, export a run as a shipped model (refused by the gate; written whole where it passes).

Also the training app's settings check, and the helpers the report is made of: the Figure 3 table, model
names, history files and the validation-loss figure.
"""

import csv
import importlib.util
import json
import math
import os
import pathlib
import re
import subprocess
import sys
import time

import numpy as np
import pytest
from absl import flags

from audiosr import features
from audiosr.data import prepare
from audiosr.evaluation import reporting
from audiosr.inference import load_model
from audiosr.models.naming import model_label, parse_model_name
from audiosr.train import distribute, fit, recipe
from audiosr.train.history import read_history

ROOT = pathlib.Path(__file__).resolve().parents[1]
SIX_MODELS = ("unet", "unet-c", "gan", "gan-c", "wgan", "wgan-c")
# Two runs also go through the speed flags: bfloat16 compute and two steps per call (a GAN with its content
# network), XLA and two steps per call (the UNet: XLA compiles the discriminator for 13 s more on a CPU, and
# tests/test_models.py compiles the adversarial step with XLA, the WGAN's).
SPEED_FLAGS = {"gan-c": ["--precision=mixed_bfloat16", "--steps_per_execution=2"],
               "unet": ["--jit_compile", "--steps_per_execution=2"]}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def load_app(name):
    spec = importlib.util.spec_from_file_location(f"{name}_app", ROOT / "experiments" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def app_flags(app_module, args):
    fv = flags.FlagValues()
    app_module.define_flags(fv)
    fv(["app", *args])
    return fv


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A tiny synthetic set, a content network, and the training flags every run shares."""
    root = tmp_path_factory.mktemp("study")
    data_dir = root / "tiny"
    prepare.prepare_synthetic(data_dir, num_clips=24, utterance_seconds=1.0, val_fraction=0.25, test_fraction=0.25,
                           clip_seconds=0.128, num_workers=0, progress=False)
    network = features.build_feature_network(n_fft=256, hop_length=64, widths=(8,), code_channels=4)
    features.save_feature_network(network, root / "features.keras")
    common = [f"--data_dir={data_dir}", "--dataset=tiny", "--preset=tiny", f"--logdir={root / 'runs'}",
              "--batch_size=8", "--steps_per_epoch=2", "--validation_steps=1", "--n_critic=2",
              "--discriminator_filters=4", f"--content_network={root / 'features.keras'}", "--content_weight=0.1",
              "--verbose=0", "--learning_rate=1e-3"]
    return root, data_dir, common


@pytest.fixture(scope="module")
def trained(study):
    """The six models at r=2, one short epoch each (in this process)."""
    root, _, common = study
    train_app = load_app("train")
    histories = {}
    for name in SIX_MODELS:
        kind, content = parse_model_name(name)
        args = [*common, "--ratio=2", f"--model={kind}", "--content" if content else "--nocontent", "--epochs=1",
                *SPEED_FLAGS.get(name, [])]
        try:
            run_dir, history = train_app.run(app_flags(train_app, args))
        finally:
            distribute.set_precision("float32")  # the app sets the process-wide policy
        histories[name] = (pathlib.Path(run_dir), history)
    return histories


@pytest.mark.slow
def test_each_model_trains_one_epoch_into_its_own_run_folder(trained):
    for name, (run_dir, history) in trained.items():
        assert run_dir.name == f"tiny-r2-{name}-tiny-s0"
        assert {"best.keras", "flags.txt", "history.csv", "checkpoints", "tensorboard"} <= set(os.listdir(run_dir))
        assert f"--model={name.split('-')[0]}" in (run_dir / "flags.txt").read_text()
        assert len(history["val_loss"]) == 1 and math.isfinite(history["val_loss"][0])
        assert ("content" in history) == name.endswith("-c")
        for flag in SPEED_FLAGS.get(name, []):
            assert flag in (run_dir / "flags.txt").read_text()


@pytest.fixture(scope="module")
def killed_and_resumed(study):
    """SIGKILL a real train.py process (r=4 UNet) after its first checkpoint, then run the same command again."""
    root, _, common = study
    command = [sys.executable, str(ROOT / "experiments" / "train.py"), *common, "--ratio=4", "--model=unet",
               "--epochs=6"]
    run_dir = root / "runs" / "tiny-r4-unet-tiny-s0"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while fit.RunCheckpoint.read_state(run_dir) is None:
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "no checkpoint within 240 s"
        time.sleep(0.05)
    process.kill()
    process.wait()
    process.stderr.close()
    killed_at = fit.RunCheckpoint.read_state(run_dir)["epoch"]
    resumed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return run_dir, killed_at, resumed


@pytest.mark.slow
def test_a_killed_training_resumes_with_the_same_command(killed_and_resumed):
    run_dir, killed_at, resumed = killed_and_resumed
    assert 1 <= killed_at < 6
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resumed {run_dir} after epoch {killed_at}" in resumed.stderr
    state = fit.RunCheckpoint.read_state(run_dir)
    assert state["epoch"] == 6 and state["best_epoch"] >= 1
    with open(run_dir / "history.csv", newline="") as handle:
        epochs = [int(row["epoch"]) for row in csv.DictReader(handle)]
    assert epochs == list(range(6))  # no epoch lost, none repeated
    assert sorted(os.listdir(run_dir / "checkpoints")) == ["epoch-0006.weights.h5", "state.json"]


@pytest.mark.slow
def test_report_writes_figure3_and_figures_with_finite_numbers(study, trained, killed_and_resumed):
    root, data_dir, _ = study
    report_app = load_app("report")
    out_dir = root / "results"
    summaries = report_app.run(app_flags(report_app, [
        f"--data_dir={data_dir}", "--dataset=tiny", "--preset=tiny", f"--logdir={root / 'runs'}",
        "--ratios=2,4", f"--models={','.join(SIX_MODELS)}", f"--out_dir={out_dir}", "--spectrogram_seconds=1",
        "--lowres=decimate,soxr"]))
    assert list(summaries) == ["decimate", "soxr"]

    columns = ["Spline", "UNet", "UNet-C", "GAN", "GAN-C", "WGAN", "WGAN-C"]
    with open(out_dir / "figure3.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["metric"], r["ratio"]) for r in rows] == [("snr", "2"), ("lsd", "2"), ("snr", "4"), ("lsd", "4")]
    assert list(rows[0]) == ["metric", "ratio", *columns]
    for row in rows[:2]:
        assert all(math.isfinite(float(row[c])) for c in columns)
    for row in rows[2:]:  # only the UNet was trained for r=4
        assert math.isfinite(float(row["Spline"])) and math.isfinite(float(row["UNet"]))
        assert all(row[c] == "" for c in columns[2:])
    markdown = (out_dir / "figure3.md").read_text()
    assert "| metric | r | " + " | ".join(columns) + " |" in markdown and "n/a" in markdown
    assert summaries["decimate"][2]["spline"]["files"] == summaries["decimate"][2]["WGAN-C"]["files"] >= 1

    # The same table for every other input maker, in its own files; its own (different) numbers.
    with open(out_dir / "figure3-soxr.csv", newline="") as handle:
        soxr_rows = list(csv.DictReader(handle))
    assert list(soxr_rows[0]) == ["metric", "ratio", *columns] and len(soxr_rows) == 4
    assert all(math.isfinite(float(row[c])) for row in soxr_rows[:2] for c in columns)
    assert soxr_rows[0]["Spline"] != rows[0]["Spline"]
    assert "inputs made by soxr" in (out_dir / "figure3-soxr.md").read_text()
    for name in ("figure4_r2.png", "figure4_r4.png", "spectrograms_r2.png", "spectrograms_r4.png",
                 "spectrograms_r2-soxr.png"):
        image = (out_dir / name).read_bytes()
        assert image.startswith(PNG_MAGIC) and len(image) > 10_000, name
    with open(out_dir / "per_file_r2.csv", newline="") as handle:
        per_file = list(csv.DictReader(handle))
    assert {r["method"] for r in per_file} == {"spline", *columns[1:]}
    assert {r["lowres"] for r in per_file} == {"decimate", "soxr"}
    assert all(math.isfinite(float(r["snr"])) and math.isfinite(float(r["lsd"])) for r in per_file)
    page = (out_dir / "listening_r2" / "index.html").read_text()  # the listening page (tests/test_page.py opens one)
    for label in ["Low-res_input", "Spline", *columns[1:], "Reference"]:
        assert f"-{label}.wav" in page, label


@pytest.mark.slow
def test_training_app_refuses_a_run_folder_with_other_settings(study, trained):
    root, _, common = study
    train_app = load_app("train")
    args = [*common, "--ratio=2", "--model=unet", "--nocontent", "--epochs=1", "--learning_rate=0.5"]
    with pytest.raises(train_app.RunSettingsError, match="--learning_rate"):
        train_app.run(app_flags(train_app, args))


def test_a_run_on_the_real_mix_trains_and_keeps_its_input_maker(study):
    root, _, common = study
    train_app = load_app("train")
    args = [*common, "--ratio=2", "--model=unet", "--nocontent", "--epochs=1"]
    run_dir, history = train_app.run(app_flags(train_app, [*args, "--lowres=real"]))
    run_dir = pathlib.Path(run_dir)
    assert run_dir.name == "tiny-r2-unet-tiny-real-s0"
    assert "--lowres=real\n" in (run_dir / "flags.txt").read_text()
    assert math.isfinite(history["val_loss"][0]) and (run_dir / "best.keras").is_file()
    # Another input maker is another task: its validation inputs differ, so the run folder refuses it.
    with pytest.raises(train_app.RunSettingsError, match=r"--lowres: 'real' then, 'soxr' now"):
        train_app.run(app_flags(train_app, [*args, "--lowres=soxr", f"--run_name={run_dir.name}"]))
    with pytest.raises(flags.IllegalFlagValueError, match="mp3 cannot make 4000 Hz"):
        app_flags(train_app, [*args, "--ratio=4", "--lowres=soxr,mp3"])


def test_record_settings_refuses_to_mix_runs(tmp_path):
    train_app = load_app("train")
    train_app.record_settings(tmp_path, "--model=wgan\n--epochs=10\n--learning_rate=0.0001\n")
    train_app.record_settings(tmp_path, "--model=wgan\n--epochs=50\n--learning_rate=0.0001\n")  # more epochs: fine
    assert "--epochs=50" in (tmp_path / "flags.txt").read_text()
    with pytest.raises(train_app.RunSettingsError, match=r"--learning_rate: '0.0001' then, '0.001' now"):
        train_app.record_settings(tmp_path, "--model=wgan\n--epochs=50\n--learning_rate=0.001\n")


# ------------------------------------------------------------------ reporting

SUMMARIES = {
    2: {"spline": {"snr": 15.0, "lsd": 3.0, "files": 4}, "UNet": {"snr": 16.5, "lsd": 2.0, "files": 4},
        "WGAN": {"snr": 14.0, "lsd": 1.5, "files": 4}},
    4: {"spline": {"snr": 9.0, "lsd": 4.0, "files": 4}, "UNet": {"snr": 9.5, "lsd": 3.5, "files": 4}},
}


def test_figure3_markdown_orders_columns_marks_the_best_and_gaps():
    text = reporting.figure3_markdown(SUMMARIES)
    lines = text.splitlines()
    assert lines[0] == "| metric | r | Spline | UNet | WGAN |"
    assert lines[2] == "| SNR (dB) | 2 | 15.00 | **16.50** | 14.00 |"
    assert lines[3] == "| LSD | 2 | 3.00 | 2.00 | **1.50** |"
    assert lines[4] == "| SNR (dB) | 4 | 9.00 | **9.50** | n/a |"


def test_figure3_csv_and_files(tmp_path):
    markdown, paths = reporting.write_figure3(SUMMARIES, tmp_path, title="t")
    assert markdown.startswith("**t**")
    assert (tmp_path / "figure3.csv").read_text().splitlines() == [
        "metric,ratio,Spline,UNet,WGAN", "snr,2,15.0000,16.5000,14.0000", "lsd,2,3.0000,2.0000,1.5000",
        "snr,4,9.0000,9.5000,", "lsd,4,4.0000,3.5000,"]
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".partial-")]


def test_model_names_parse_both_ways():
    assert parse_model_name("wgan-c") == ("wgan", True)
    assert parse_model_name("UNet") == ("unet", False)
    assert model_label("gan", True) == "GAN-C"
    with pytest.raises(ValueError, match="unknown model 'vae'"):
        parse_model_name("vae")


def test_read_history_and_validation_curves(tmp_path):
    (tmp_path / "a.csv").write_text("epoch,loss,val_loss\n0,2.0,1.5\n1,1.0,0.5\n")
    assert read_history(tmp_path / "a.csv") == {"loss": [2.0, 1.0], "val_loss": [1.5, 0.5]}
    plotted = reporting.plot_validation_curves({"A": tmp_path / "a.csv", "B": tmp_path / "missing.csv"},
                                               tmp_path / "curves.png")
    assert plotted == ["A"] and (tmp_path / "curves.png").read_bytes().startswith(PNG_MAGIC)


@pytest.mark.slow
def test_state_json_is_plain_json(study, trained):
    run_dir, _ = trained["wgan"]
    state = json.loads((run_dir / "checkpoints" / "state.json").read_text())
    assert state["epoch"] == 1 and (run_dir / "checkpoints" / state["weights"]).is_file()


def export_command(run_dir, out_dir):
    """experiments/export_pretrained.py as `make pretrained` runs it, on the test corpus' speakers."""
    return [sys.executable, str(ROOT / "experiments" / "export_pretrained.py"), f"--run={run_dir / 'best.keras'}",
            "--name=speech-r2", "--domain=speech", f"--data_root={ROOT / 'tests' / 'corpus'}", f"--out_dir={out_dir}"]


@pytest.mark.slow
def test_export_refuses_a_run_that_fails_the_gate_and_writes_nothing(study, trained):
    run_dir, _ = trained["unet"]
    out_dir = study[0] / "refused"
    done = subprocess.run(export_command(run_dir, out_dir), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 3, done.stderr[-2000:]  # one epoch of a tiny UNet does not beat spline
    assert "speech-r2 is not shipped: it fails the gate: " in done.stderr
    assert "# speech-r2: x2 speech super-resolution, 8000 Hz -> 16000 Hz" in done.stdout  # the card, to read why
    for maker in recipe.BEAT_SPLINE + recipe.NO_WORSE:
        assert re.search(rf"^\| {maker} \| -?[\d.]+ \| -?[\d.]+ \| [+-][\d.]+ \|", done.stdout, re.M), maker
    assert not out_dir.exists()


@pytest.mark.slow
def test_export_writes_the_model_its_metadata_and_its_card_when_the_gate_passes(study, trained, monkeypatch):
    run_dir, _ = trained["unet"]
    out_dir = study[0] / "shipped"
    exporter = load_app("export_pretrained")
    monkeypatch.setattr(recipe, "gate", lambda scores: [])  # the gate itself: tests/test_recipe.py
    meta, failures = exporter.export(str(run_dir / "best.keras"), "speech-r2", "speech", ROOT / "tests" / "corpus",
                                     str(out_dir))
    assert failures == []
    assert sorted(os.listdir(out_dir)) == ["speech-r2.json", "speech-r2.keras", "speech-r2.md"]
    assert json.loads((out_dir / "speech-r2.json").read_text()) == json.loads(json.dumps(meta))
    assert (out_dir / "speech-r2.md").read_text() == exporter.model_card(meta)
    assert meta["training"]["epochs_run"] == meta["training"]["best_epoch"] == 1 and meta["training"]["steps"] == 2
    assert "--model=unet" in meta["training"]["flags"] and not any("--logdir" in f for f in meta["training"]["flags"])
    assert meta["held_out"]["groups"] and meta["held_out"]["files"] >= len(meta["held_out"]["groups"])
    assert set(meta["scores"]) == set(recipe.BEAT_SPLINE + recipe.NO_WORSE)
    shipped, trained_model = load_model(out_dir / "speech-r2.keras"), load_model(run_dir / "best.keras")
    assert shipped.ratio == 2 and shipped.name == "speech-r2"
    for ours, theirs in zip(shipped.generator.get_weights(), trained_model.generator.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
