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


def test_bench_infer_reports_real_time_factors():
    out = run_bench("bench_infer.py", "--presets", "fast", "--seconds", "2", "--repeats", "1",
                    "--matmul_size", "256")
    assert "fast" in out and "GFLOP" in out
    assert re.search(r"pipeline [\d.]+ / [\d.]+ / [\d.]+ x real time", out), out


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
                    "--num_clips=32", "--max_test_files=1", f"--work_dir={tmp_path / 'work'}", "--verbose=0")
    assert "Spline" in out and "UNet" in out
    numbers = [float(x) for x in re.findall(r"\|\s*(-?\d+\.\d+)", out)]
    assert numbers and all(abs(x) < 1e3 for x in numbers), out


def test_bench_data_reports_preparation_and_pipeline_rates(test_corpus):
    out = run_bench("bench_data.py", f"--shared_data={test_corpus}", "--copies=1", "--dense_clips=64",
                    "--num_workers=0", "--batch_size=8", "--pipeline_batches=2", "--presets=tiny")
    assert "real time" in out and "clips/s" in out and "tiny preset" in out
