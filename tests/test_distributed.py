"""tf.distribute: the three models under MirroredStrategy on two logical CPUs.

Logical devices must be configured before TensorFlow starts, so one script
(tests/mirrored_checks.py) runs in a fresh process and these tests assert on
what it measured.
"""

import json
import math
import os
import pathlib
import subprocess
import sys

import pytest

from audiosr.train import fit

pytestmark = pytest.mark.slow  # every test here runs whole programs

CHECKS = pathlib.Path(__file__).with_name("mirrored_checks.py")


@pytest.fixture(scope="module")
def mirrored(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mirrored")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, str(CHECKS), str(folder)], capture_output=True, text=True, env=env,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    return folder, json.loads(line[len("RESULT "):])


@pytest.mark.parametrize("kind", ["unet", "gan", "wgan"])
def test_mirrored_step_matches_one_device(mirrored, kind):
    _, result = mirrored
    assert result["replicas"] == 2
    r = result["one_step"][kind]
    # A gradient summed instead of averaged over replicas would move weights by ~max_update.
    assert r["max_update"] > 1e-5 and r["max_difference"] < 1e-3 * r["max_update"], (kind, r)
    assert r["loss_mirrored"] == pytest.approx(r["loss_single"], rel=1e-5)


def test_each_replica_draws_its_own_masks_and_shifts(mirrored):
    draws = mirrored[1]["draws"]
    assert draws["seeds"][0] != draws["seeds"][1]
    assert not draws["masks_equal"]
    assert all(0.4 < kept < 0.6 for kept in draws["mask_kept"])  # dropout 0.5 on each replica
    assert draws["shifts"][0] != draws["shifts"][1]
    assert all(-2 <= shift <= 2 for shifts in draws["shifts"] for shift in shifts)


def test_xla_and_multi_step_calls_are_refused_on_several_replicas(mirrored):
    jit, steps = mirrored[1]["refused"]
    assert jit.startswith("jit_compile=True / steps_per_execution=1 cannot train on 2 replicas")
    assert steps.startswith("jit_compile=False / steps_per_execution=2 cannot train on 2 replicas")


@pytest.mark.parametrize("kind", ["gan", "wgan"])
def test_mirrored_adam_runs_resume_both_optimizers(mirrored, kind):
    folder, result = mirrored
    r = result["resume"][kind]
    assert r["restored_epochs"] == 1 and r["weight_difference"] == 0.0 and r["seed_states_equal"]
    d_steps = 2 * (2 if kind == "wgan" else 1)  # two batches, n_critic = 2
    expected = {"optimizer": 2, "d_optimizer": d_steps}
    assert {name: steps[0] for name, steps in r["iterations"].items()} == expected
    for name, (before_kill, restored) in r["iterations"].items():
        assert restored == before_kill
        assert r["optimizer_differences"][name] == 0.0  # step counters and Adam moments
        # Each optimizer holds two Adam moments per weight of its own network (+ step and learning rate).
        assert r["optimizer_variables"][name] == 2 * r["trainable_variables"][name] + 2
    assert len(r["losses"]) == 2 and all(math.isfinite(loss) for loss in r["losses"])
    assert (folder / kind / "best.keras").is_file()
    assert fit.RunCheckpoint.read_state(folder / kind)["epoch"] == 2
