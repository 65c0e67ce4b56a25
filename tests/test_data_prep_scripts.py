"""The data_prep/ absl apps run end to end on small inputs (never the network)."""

import os
import pathlib
import subprocess
import sys

import pytest

from audiosr.data import pipeline
from audiosr.data.records import Manifest

pytestmark = pytest.mark.slow  # every test here runs whole programs

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run(script, *args):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, str(ROOT / "data_prep" / script), *args], capture_output=True,
                          text=True, timeout=300, env=env, cwd=ROOT)


def test_prep_synthetic_and_folder_scripts(tmp_path, test_corpus):
    result = run("prep_synthetic.py", f"--out_dir={tmp_path / 'synthetic'}", "--num_clips=16",
                 "--utterance_seconds=1", "--num_workers=0", "--ratios=2")
    assert result.returncode == 0, result.stderr[-2000:]
    manifest = Manifest.load(tmp_path / "synthetic")
    assert manifest.splits["train"].clips == 16 and manifest.ratios == [2]

    result = run("prep_folder.py", f"--folder={test_corpus / 'speech' / 'tts'}", f"--out_dir={tmp_path / 'tts'}",
                 "--num_clips=6", "--num_workers=0", "--val_fraction=0", "--clip_seconds=0.25")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "train 6" in result.stderr and pipeline.num_examples(tmp_path / "tts", "train") == 6


def test_scripts_fail_with_one_clear_line(tmp_path):
    result = run("prep_vctk.py")
    assert result.returncode != 0 and "pass --vctk_dir=/path/to/VCTK or --download" in result.stderr
    (tmp_path / "nothing").mkdir()
    result = run("prep_folder.py", f"--folder={tmp_path / 'nothing'}", f"--out_dir={tmp_path / 'out'}")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: {tmp_path / 'nothing'}: no audio files")
    assert "Traceback" not in result.stderr
