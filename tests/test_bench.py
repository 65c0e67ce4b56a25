"""Every benchmark under bench/ runs end to end at toy size and prints the figures it promises.

The README's benchmark commands time real sizes (minutes to an hour on a
CPU); these runs keep the scripts working and check the shape of their
reports, not the speeds.
"""

import os
import pathlib
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # every test here runs whole programs

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run_bench(script, *args, timeout=400):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(ROOT / "bench" / script), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_bench_models_reports_flops_speed_and_the_machine():
    out = run_bench("bench_models.py", "--presets", "tiny", "--repeats", "1", "--batch", "2", "--patch", "1024",
                    "--matmul_size", "256")
    assert "GFLOP" in out and "matmul" in out.lower()
    for kind in ("unet", "gan", "wgan"):
        assert re.search(rf"\b{kind}\b", out, flags=re.I), out
    # The multi-worker table: the GAN adds the discriminator's gradients once a step, the WGAN n_critic = 5 times.
    gradient_mb = {kind: float(re.search(rf"^\| tiny \| {kind} \| ([\d.e+-]+) \| [\d.e+-]+ / ", out, flags=re.M)
                                     .group(1)) for kind in ("unet", "gan", "wgan")}
    discriminator = gradient_mb["gan"] - gradient_mb["unet"]
    assert discriminator > 0 and gradient_mb["wgan"] == pytest.approx(gradient_mb["unet"] + 5 * discriminator,
                                                                      rel=0.01)
    assert "all-reduce ms at 1 / 10 / 100 Gbit/s" in out


def test_bench_infer_reports_real_time_factors_streaming_latency_and_tflite_speed():
    out = run_bench("bench_infer.py", "--presets", "fast", "--seconds", "2", "--repeats", "1", "--matmul_size", "256",
                    "--stream_models", "speech-r2", "--stream_seconds", "1", "--quantizations", "none", "dynamic")
    assert "fast" in out and "GFLOP" in out
    assert re.search(r"pipeline [\d.]+ / [\d.]+ / [\d.]+ x real time", out), out
    assert re.search(r"TensorFlow and Keras imported as the programs do [\d.]+ / [\d.]+ / [\d.]+ s, "
                     r"plainly [\d.]+ / [\d.]+ / [\d.]+ s \(median ratio [\d.]+\)", out), out
    assert re.search(r"latency: announced 35.2 ms, through a pipe [\d.]+ / [\d.]+ / [\d.]+ ms", out), out
    assert re.search(r"\| speech-r2 \| [\d.]+ / [\d.]+ / [\d.]+ \|", out), out
    for quantization in ("none", "dynamic"):
        assert re.search(rf"TFLite {quantization}: [\d.]+ / [\d.]+ / [\d.]+ x real time", out), out


def test_bench_quality_trains_for_a_step_budget_and_prints_figure3(tmp_path, test_corpus):
    train, test = tmp_path / "train", tmp_path / "test"
    train.mkdir()
    test.mkdir()
    librispeech = sorted((test_corpus / "speech" / "librispeech").glob("*.flac"))
    for path in librispeech[:3]:
        (train / path.name).symlink_to(path)
    (test / librispeech[3].name).symlink_to(librispeech[3])
    out = run_bench("bench_quality.py", f"--train_dir={train}", f"--test_dir={test}", "--scales=2", "--models=unet",
                    "--steps=2", "--preset=tiny", "--batch_size=4", "--steps_per_epoch=2", "--validation_steps=1",
                    "--num_clips=32", "--max_test_files=1", f"--work_dir={tmp_path / 'work'}", "--verbose=0",
                    "--train_lowres=real", "--lowres=decimate,soxr", f"--out_dir={tmp_path / 'out'}")
    assert "Spline" in out and "UNet" in out
    assert "inputs made by decimate" in out and "inputs made by soxr" in out and "inputs by real" in out
    numbers = [float(x) for x in re.findall(r"\|\s*(-?\d+\.\d+)", out)]
    assert numbers and all(abs(x) < 1e3 for x in numbers), out
    assert out.count("| SNR (dB) | 2 |") == out.count("| LSD | 2 |") == 2  # a table per input maker
    assert {p.name for p in (tmp_path / "out").iterdir()} == {
        "quality.md", "quality.csv", "quality-soxr.md", "quality-soxr.csv", "quality_per_file_r2.csv"}


def test_bench_data_reports_preparation_and_pipeline_rates(test_corpus):
    out = run_bench("bench_data.py", f"--shared_data={test_corpus}", "--copies=1", "--dense_clips=64",
                    "--num_workers=0", "--batch_size=8", "--pipeline_batches=2", "--presets=tiny", "--mix_ratios=4",
                    "--rounds=2", "--mix_batches=2", "--fast_steps=1")
    assert "real time" in out and "clips/s" in out and "tiny preset" in out
    assert re.search(r"r=4: pipeline making inputs from the 'real' mix [\d.]+ / [\d.]+ / [\d.]+ clips/s; fast UNet "
                     r"trains on [\d.]+ / [\d.]+ / [\d.]+ clips/s \(batch 16\); the pipeline is [\d.]+ / [\d.]+ / "
                     r"[\d.]+x faster", out), out


def test_bench_safety_prints_model_fallback_and_spline_per_input_maker(shared_data):
    out = run_bench("bench_safety.py", f"--data_root={shared_data}", "--models=speech-r2", "--methods=decimate,soxr",
                    "--max_files=1")
    rows = [line for line in out.splitlines() if line.startswith("| speech-r2 |")]
    assert [row.split("|")[2].strip() for row in rows] == ["decimate", "soxr"]
    for row in rows:  # the model's output kept whole (no file to spline), and better than spline
        cells = [cell.strip() for cell in row.split("|")[1:-1]]
        assert cells[-1] == "0 / 1" and float(cells[5]) > float(cells[2]) and float(cells[9]) < float(cells[6]), row
    out = run_bench("bench_safety.py", f"--data_root={shared_data}", "--calibrate", "--methods=soxr",
                    "--calibration_files=1")
    assert re.search(r"\| 2 \| soxr \| \d+ \|", out) and re.search(r"\| 4 \| soxr \| \d+ \|", out), out


def test_bench_bandwidth_prints_both_tables(test_corpus):
    out = run_bench("bench_bandwidth.py", f"--data_root={test_corpus}", "--per_folder=1", "--seconds=5", "--files=4",
                    "--methods=soxr", "--rates=16000")
    assert re.search(r"\| speech/vctk \| 48000 \| 1 \| [\d.]+ / [\d.]+ \| 1 / 1 \|", out), out
    assert re.search(r"\| 8000 Hz \| soxr \| [\d./ ]+, 4/4 \| [\d./ ]+, 4/4 \|", out), out
