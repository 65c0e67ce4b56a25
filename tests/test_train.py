"""Training runs: resume after a kill, NaN stop, logs, run folders, tf.distribute."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

import audiosr.models as m
from audiosr import lowres
from audiosr.data import synthetic
from audiosr.models.generator import UNetPreset
from audiosr.train import distribute, experiment, fit
from audiosr.train.callbacks import NonFiniteLossError, StepBudget, TimeBudget
from audiosr.train.history import read_history

LENGTH = 512
NO_DROPOUT = UNetPreset(filters=(8, 16), kernel_sizes=(9, 5), dropout=0.0)


@pytest.fixture(scope="module")
def clips():
    high = synthetic.generate_clips(16, LENGTH, seed=3)
    low = np.stack([lowres.simulate_lowres(c, 2) for c in high])
    return low[..., None], high[..., None]


def dataset(clips, nan=False):
    x, y = clips
    if nan:
        y = np.full_like(y, np.nan)
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(8)


def make_model(kind, preset=NO_DROPOUT):
    keras.utils.set_random_seed(0)
    extra = {"n_critic": 2} if kind == "wgan" else {}
    model = m.build_model(kind, 2, preset=preset, input_length=LENGTH, seed=0, discriminator_filters=4, **extra)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model


class Kill(keras.callbacks.Callback):
    """Simulates a kill: raises at the given (epoch, batch), before that batch's step."""

    def __init__(self, epoch, batch=0):
        super().__init__()
        self.at = (epoch, batch)
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise KeyboardInterrupt("killed")


def test_run_name_encodes_the_settings():
    assert experiment.run_name("vctk", 2, "wgan", True, "paper", 0) == "vctk-r2-wgan-c-paper-s0"
    assert experiment.run_name("fma", 4, "unet", False, "cpu", 7) == "fma-r4-unet-cpu-s7"
    assert experiment.run_name("vctk", 2, "unet", False, "fast", 0, "study") == "vctk-r2-unet-fast-s0"
    assert experiment.run_name("vctk", 2, "unet", False, "fast", 0, "real") == "vctk-r2-unet-fast-real-s0"
    assert experiment.run_name("vctk", 2, "unet", False, "fast", 0, "soxr, fft") == "vctk-r2-unet-fast-soxr+fft-s0"


def test_a_set_prepared_at_another_rate_is_refused_before_anything_is_written(tmp_path):
    """The models, input makers and content networks are 16 kHz: a 32 kHz set must not train as one."""
    from audiosr.data import prepare
    from audiosr.data.records import DataSetError

    data_dir = tmp_path / "wide"
    prepare.prepare_synthetic(data_dir, num_clips=8, utterance_seconds=1.0, val_fraction=0.25, test_fraction=0.25,
                              clip_seconds=0.128, ratios=(2,), sample_rate=32000, num_workers=0, progress=False)
    settings = experiment.RunSettings(model="unet", dataset="wide", data_dir=str(data_dir), preset="tiny", epochs=1,
                                      batch_size=2, steps_per_epoch=1, validation_steps=1, verbose=0)
    with pytest.raises(DataSetError) as refused:
        experiment.run_experiment(settings, tmp_path / "run")
    assert str(refused.value).startswith(f"{data_dir}: prepared at 32000 Hz") and "\n" not in str(refused.value)
    assert not (tmp_path / "run").exists()


# With dropout too: the checkpoint holds the seed generators' states, so the
# resumed run draws the masks the uninterrupted one drew.
@pytest.mark.slow
@pytest.mark.parametrize("preset", [NO_DROPOUT, "tiny"])
def test_resumed_unet_run_equals_an_uninterrupted_one(tmp_path, clips, preset):
    straight = make_model("unet", preset)
    fit.fit_run(straight, dataset(clips), tmp_path / "straight", 4, val_data=dataset(clips), verbose=0)

    run = tmp_path / "killed"
    with pytest.raises(KeyboardInterrupt):
        fit.fit_run(make_model("unet", preset), dataset(clips), run, 4, val_data=dataset(clips),
                         callbacks=[Kill(epoch=2, batch=1)], verbose=0)
    assert fit.RunCheckpoint.read_state(run)["epoch"] == 2
    # A kill after the CSV row of an epoch but before its checkpoint leaves a row
    # the checkpoint does not cover: resuming must drop it.
    with open(run / "history.csv", "a", encoding="utf-8") as handle:
        handle.write("2,9,9,9,9,9,9\n")
    resumed = make_model("unet", preset)
    history = fit.fit_run(resumed, dataset(clips), run, 4, val_data=dataset(clips), verbose=0)

    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert int(resumed.optimizer.iterations) == int(straight.optimizer.iterations) == 8
    expected = read_history(tmp_path / "straight" / "history.csv")
    assert history.keys() == expected.keys() and len(history["val_loss"]) == 4
    np.testing.assert_allclose(history["val_loss"], expected["val_loss"], rtol=1e-6)
    state = fit.RunCheckpoint.read_state(run)
    assert state["epoch"] == 4 and state["best"] == pytest.approx(min(history["val_loss"]))
    assert sorted(os.listdir(run / "checkpoints")) == ["epoch-0004.weights.h5", "state.json"]
    best = keras.saving.load_model(run / "best.keras")
    x = clips[0][:4]
    np.testing.assert_allclose(best.predict(x, verbose=0), resumed.predict(x, verbose=0), atol=1e-6)


@pytest.fixture(scope="module", params=["gan", "wgan"])
def killed_and_resumed(request, tmp_path_factory, clips):
    """An adversarial run killed at the start of epoch 2, then resumed to the end of epoch 2."""
    kind = request.param
    run = tmp_path_factory.mktemp(kind)
    first = make_model(kind)
    with pytest.raises(KeyboardInterrupt):
        fit.fit_run(first, dataset(clips), run, 2, val_data=dataset(clips), callbacks=[Kill(epoch=1)],
                         verbose=0)
    second = make_model(kind)
    with second.distribute_strategy.scope():
        restored_epochs = fit.RunCheckpoint(run).restore(second)
    restored = {"epochs": restored_epochs, "weights": [w.copy() for w in second.get_weights()],
                "d_optimizer": [np.array(v) for v in second.d_optimizer.variables]}
    history = fit.fit_run(second, dataset(clips), run, 2, val_data=dataset(clips), verbose=0)
    return kind, run, first, restored, second, history


@pytest.mark.slow
def test_adversarial_runs_resume_both_optimizers(killed_and_resumed):
    kind, run, first, restored, second, history = killed_and_resumed
    assert restored["epochs"] == 1
    for a, b in zip(first.get_weights(), restored["weights"]):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(first.d_optimizer.variables, restored["d_optimizer"]):
        np.testing.assert_array_equal(a, b)  # step counter and Adam moments of the critic
    assert int(first.d_optimizer.iterations) == (2 * first.n_critic if kind == "wgan" else 2)
    assert int(second.d_optimizer.iterations) == 2 * int(first.d_optimizer.iterations)
    assert len(history["loss"]) == 2 and int(second.optimizer.iterations) == 4
    assert "adv" in history and ("critic_loss" if kind == "wgan" else "d_loss") in history


@pytest.mark.slow
def test_tensorboard_gets_every_loss_term_audio_and_spectrograms(killed_and_resumed):
    kind, run, *_ = killed_and_resumed
    tags = {}
    for folder in ("train", "validation", "samples"):
        for name in os.listdir(run / "tensorboard" / folder):
            for event in tf.compat.v1.train.summary_iterator(str(run / "tensorboard" / folder / name)):
                for value in event.summary.value:
                    tags.setdefault((folder, value.tag), set()).add(event.step)
    adversarial = ("adv", "critic_loss" if kind == "wgan" else "d_loss")
    for term in ("loss", "l2", *adversarial):
        assert tags[("train", f"epoch_{term}")] == {0, 1}
    for term in ("loss", "l2", "snr", "lsd"):
        assert tags[("validation", f"epoch_{term}")] == {0, 1}
    assert tags[("samples", "validation_clip/prediction")] == {0, 1}
    assert tags[("samples", "validation_clip/spectrograms")] == {0, 1}
    assert ("samples", "validation_clip/high_res") in tags


def test_non_finite_loss_stops_with_a_clear_error_and_keeps_the_last_checkpoint(tmp_path, clips):
    run = tmp_path / "nan"
    model = make_model("unet")
    fit.fit_run(model, dataset(clips), run, 1, val_data=dataset(clips), verbose=0)
    best_before = (run / "best.keras").read_bytes()
    with pytest.raises(NonFiniteLossError, match=r"non-finite loss \(.*l2=nan.*\) at epoch 2, batch 1"):
        fit.fit_run(model, dataset(clips, nan=True), run, 2, val_data=dataset(clips), verbose=0)
    state = fit.RunCheckpoint.read_state(run)
    assert state["epoch"] == 1 and state["weights"] == "epoch-0001.weights.h5"
    assert (run / "best.keras").read_bytes() == best_before
    assert len(read_history(run / "history.csv")["loss"]) == 1
    restored = make_model("unet")
    with restored.distribute_strategy.scope():
        fit.RunCheckpoint(run).restore(restored)
    assert all(np.isfinite(w).all() for w in restored.get_weights())


@pytest.mark.slow
def test_finished_run_is_left_alone_and_more_epochs_continue_it(tmp_path, clips):
    run = tmp_path / "done"
    fit.fit_run(make_model("unet"), dataset(clips), run, 1, val_data=dataset(clips), verbose=0)
    again = make_model("unet")
    history = fit.fit_run(again, dataset(clips), run, 1, val_data=dataset(clips), verbose=0)
    assert len(history["loss"]) == 1 and int(again.optimizer.iterations) == 2  # restored, not trained
    history = fit.fit_run(again, dataset(clips), run, 2, val_data=dataset(clips), verbose=0)
    assert len(history["loss"]) == 2 and int(again.optimizer.iterations) == 4


def test_time_budget_stops_training(clips):
    model = make_model("unet")
    budget = TimeBudget(0.0)
    history = model.fit(dataset(clips).repeat(), epochs=5, steps_per_epoch=100, callbacks=[budget], verbose=0)
    assert budget.exhausted and len(history.history["loss"]) == 1 and int(model.optimizer.iterations) == 1


def test_step_budget_stops_training_mid_epoch(clips):
    model = make_model("unet")
    history = model.fit(dataset(clips).repeat(), epochs=5, steps_per_epoch=4, callbacks=[StepBudget(6)], verbose=0)
    assert len(history.history["loss"]) == 2 and int(model.optimizer.iterations) == 6
class FakeResolver:
    def __init__(self, cluster, task_type, task_id):
        self.task_type, self.task_id, self._cluster = task_type, task_id, cluster

    def cluster_spec(self):
        return tf.train.ClusterSpec(self._cluster)


@pytest.mark.parametrize("cluster,task,chief", [
    ({"chief": ["a:1"], "worker": ["b:1", "c:1"]}, ("chief", 0), True),
    ({"chief": ["a:1"], "worker": ["b:1", "c:1"]}, ("worker", 0), False),
    ({"worker": ["b:1", "c:1"]}, ("worker", 0), True),
    ({"worker": ["b:1", "c:1"]}, ("worker", 1), False),
])
def test_only_the_chief_writes(cluster, task, chief):
    strategy = type("Strategy", (), {"cluster_resolver": FakeResolver(cluster, *task)})()
    assert distribute.is_chief(strategy) is chief
    assert distribute.is_chief(tf.distribute.get_strategy())


MULTI_WORKER_SCRIPT = textwrap.dedent("""
    import json, os, sys
    os.environ.pop("TF_CONFIG", None)
    from audiosr.train import distribute, experiment, fit
    strategy = distribute.make_strategy("multi_worker")  # first, before any other TF work
    import numpy as np, tensorflow as tf
    x = np.random.default_rng(0).standard_normal((8, 512, 1)).astype("float32")
    data = tf.data.Dataset.from_tensor_slices((x, x)).batch(4)
    model = experiment.build_compiled_model("wgan", 2, "tiny", 512, 1e-3, strategy=strategy, seed=0, n_critic=1,
                                          discriminator_filters=4)
    history = fit.fit_run(model, data, sys.argv[1], 1, val_data=data, verbose=0)
    is_mwms = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
    print("RESULT " + json.dumps({"multi_worker": is_mwms, "replicas": strategy.num_replicas_in_sync,
                                  "epochs": len(history["loss"])}))
""")


@pytest.mark.slow
def test_multi_worker_strategy_trains_as_a_single_local_worker_without_tf_config(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    done = subprocess.run([sys.executable, "-c", MULTI_WORKER_SCRIPT, str(tmp_path / "run")], capture_output=True,
                          text=True, env={**env, "TF_CPP_MIN_LOG_LEVEL": "2"}, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))[len("RESULT "):])
    assert result == {"multi_worker": True, "replicas": 1, "epochs": 1}
    assert (tmp_path / "run" / "best.keras").is_file()
