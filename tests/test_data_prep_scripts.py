"""The data_prep/ absl apps run end to end on small inputs (never the network)."""

import os
import pathlib
import subprocess
import sys

import pytest

from audiosr.data.records import Manifest

pytestmark = pytest.mark.slow  # every test here runs whole programs

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run(script, *args, cwd=ROOT, **variables):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **variables}
    return subprocess.run([sys.executable, str(ROOT / script if "/" in script else ROOT / "data_prep" / script),
                           *args], capture_output=True, text=True, timeout=300, env=env, cwd=cwd)


def test_prep_synthetic_and_folder_scripts(tmp_path, test_corpus):
    result = run("prep_synthetic.py", f"--out_dir={tmp_path / 'synthetic'}", "--num_clips=16",
                 "--utterance_seconds=1", "--num_workers=0", "--ratios=2")
    assert result.returncode == 0, result.stderr[-2000:]
    manifest = Manifest.load(tmp_path / "synthetic")
    assert manifest.splits["train"].clips == 16 and manifest.ratios == [2]

    result = run("prep_folder.py", f"--folder={test_corpus / 'speech' / 'tts'}", f"--out_dir={tmp_path / 'tts'}",
                 "--num_clips=6", "--num_workers=0", "--val_fraction=0", "--clip_seconds=0.25")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "train 6" in result.stderr and Manifest.load(tmp_path / "tts").splits["train"].clips == 6


def test_scripts_fail_with_one_clear_line(tmp_path):
    result = run("prep_vctk.py")
    assert result.returncode != 0 and "pass --vctk_dir=/path/to/VCTK or --download" in result.stderr
    (tmp_path / "nothing").mkdir()
    result = run("prep_folder.py", f"--folder={tmp_path / 'nothing'}", f"--out_dir={tmp_path / 'out'}")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: {tmp_path / 'nothing'}: no audio files")
    assert "Traceback" not in result.stderr


def test_a_set_is_found_by_name_from_any_working_folder(tmp_path):
    """Prepared from one folder, trained on from another: data paths do not depend on the working folder."""
    root, here, there = tmp_path / "sets", tmp_path / "here", tmp_path / "there"
    here.mkdir()
    there.mkdir()
    result = run("prep_synthetic.py", "--num_clips=8", "--utterance_seconds=1", "--clip_seconds=0.128",
                 "--val_fraction=0.25", "--test_fraction=0.25", "--num_workers=0", "--ratios=2", cwd=here,
                 AUDIOSR_DATA_ROOT=str(root))
    assert result.returncode == 0, result.stderr[-2000:]
    assert Manifest.load(root / "synthetic").complete and not (here / "data").exists()
    assert "train and evaluate on it with --dataset=synthetic" in result.stderr
    result = run("experiments/train.py", "--dataset=synthetic", "--model=unet", "--preset=tiny", "--epochs=1",
                 "--batch_size=2", "--steps_per_epoch=1", "--validation_steps=1", "--verbose=0",
                 f"--logdir={tmp_path / 'runs'}", cwd=there, AUDIOSR_DATA_ROOT=str(root))
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "runs" / "synthetic-r2-unet-tiny-s0" / "best.keras").is_file()


def test_a_preparation_worker_does_not_start_tensorflow():
    """A decoding worker is spawned, and a spawned process first re-imports the script that started it (as
    ``__mp_main__``): each data_prep/ script must import without TensorFlow, or every worker pays its start-up
    (seconds) and memory (hundreds of MB)."""
    scripts = sorted(p.stem for p in (ROOT / "data_prep").glob("prep_*.py"))
    assert "prep_vctk" in scripts
    for script in scripts:  # one process each: every script defines its flags in absl's global registry
        probe = (f"import sys; sys.path.insert(0, 'data_prep'); import {script}; "
                 "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))")
        done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.strip() == "[]", (script, done.stdout[-500:])
