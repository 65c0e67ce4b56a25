"""Training under MirroredStrategy on two logical CPUs; run as a script by tests/test_distributed.py.

TensorFlow fixes its logical devices when it initialises, so these checks
need a fresh process. ``python tests/mirrored_checks.py RUN_FOLDER`` prints
one ``RESULT {json}`` line of measurements; the test module asserts on them.
"""

import json
import os
import sys

from audiosr.startup import import_tensorflow

import_tensorflow()

import tensorflow as tf  # noqa: E402

CPU = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(CPU, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

import audiosr.models as m  # noqa: E402
from audiosr.models.generator import UNetPreset  # noqa: E402
from audiosr.models.layers import PhaseShuffle, ReplicaDropout, replica_seed  # noqa: E402
from audiosr.train import experiment, fit  # noqa: E402

LENGTH = 512
NO_DROPOUT = UNetPreset(filters=(8, 16), kernel_sizes=(9, 5), dropout=0.0)
RNG = np.random.default_rng(0)
X = RNG.standard_normal((8, LENGTH, 1)).astype("float32")
Y = (X + 0.1 * RNG.standard_normal(X.shape)).astype("float32")


def deterministic(kind, **optimizers):
    """A model whose training step draws nothing: no dropout, no phase shuffle."""
    keras.utils.set_random_seed(0)
    generator = m.build_audiounet(NO_DROPOUT)
    if kind == "unet":
        model = m.UNetSR(generator, ratio=2)
    else:
        discriminator = m.build_discriminator(LENGTH, base_filters=4, phase_shuffle_radius=0)
        model = m.MODEL_CLASSES[kind](generator, discriminator, ratio=2, **({"n_critic": 2} if kind == "wgan" else {}))
    model.compile(**optimizers)
    return model


def sgd(kind):
    return {"optimizer": keras.optimizers.SGD(0.1), **({"d_optimizer": keras.optimizers.SGD(0.1)} if kind != "unet"
                                                        else {})}


def one_step_versus_one_device(strategy):
    """One SGD step (Adam would hide a wrong gradient scale) on the same global batch, mirrored vs one device."""
    result = {}
    for kind in ("unet", "gan", "wgan"):
        single = deterministic(kind, **sgd(kind))
        start = [w.copy() for w in single.get_weights()]
        single_logs = single.train_on_batch(X, Y, return_dict=True)
        with strategy.scope():
            mirrored = deterministic(kind, **sgd(kind))
        mirrored.set_weights(start)
        logs = mirrored.fit(tf.data.Dataset.from_tensor_slices((X, Y)).batch(8), epochs=1, verbose=0).history
        result[kind] = {
            "max_difference": max(float(np.abs(a - b).max()) for a, b in zip(single.get_weights(),
                                                                              mirrored.get_weights())),
            "max_update": max(float(np.abs(a - b).max()) for a, b in zip(single.get_weights(), start)),
            "loss_single": float(single_logs["loss"]), "loss_mirrored": float(logs["loss"][0]),
        }
    return result


class Kill(keras.callbacks.Callback):
    """Raises before the first batch of ``epoch``: a kill between two epochs."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt("killed")


def study_model(kind, strategy, **compile_kwargs):
    """The tiny preset with its dropout, phase shuffle and Adam, as experiments/train.py builds it."""
    keras.utils.set_random_seed(0)
    return experiment.build_compiled_model(kind, 2, "tiny", LENGTH, 1e-3, strategy=strategy, seed=0,
                                         discriminator_filters=4, **({"n_critic": 2} if kind == "wgan" else {}),
                                         **compile_kwargs)


def refused_compile_options(strategy):
    """XLA / several steps per call, which Keras' fit cannot run on several replicas, stop at compile."""
    messages = []
    for options in ({"jit_compile": True}, {"steps_per_execution": 2}):
        try:
            study_model("wgan", strategy, **options)
            messages.append(None)
        except m.DistributedCompileError as error:
            messages.append(str(error))
    return messages


def adam_runs_and_resume(strategy, folder):
    """GAN / WGAN with Adam (whose moments Keras would create inside the replica step), the study's dropout
    and phase shuffle, killed after one epoch, then resumed."""
    data = tf.data.Dataset.from_tensor_slices((X, Y)).batch(4)
    result = {}
    for kind in ("gan", "wgan"):
        run = os.path.join(folder, kind)
        first = study_model(kind, strategy)
        try:
            fit.fit_run(first, data, run, 2, val_data=data, callbacks=[Kill(epoch=1)], verbose=0)
        except KeyboardInterrupt:
            pass
        second = study_model(kind, strategy)
        with strategy.scope():
            epochs = fit.RunCheckpoint(run).restore(second)
        names = ["optimizer", "d_optimizer"]
        result[kind] = {
            "restored_epochs": epochs,
            "iterations": {n: [int(np.asarray(getattr(model, n).iterations)) for model in (first, second)]
                           for n in names},
            # Every optimizer variable: step counters and Adam moments.
            "optimizer_differences": {
                n: max(float(np.abs(np.asarray(a) - np.asarray(b)).max())
                       for a, b in zip(getattr(first, n).variables, getattr(second, n).variables)) for n in names},
            "optimizer_variables": {n: len(getattr(second, n).variables) for n in names},
            "trainable_variables": {"optimizer": len(second.generator.trainable_variables),
                                    "d_optimizer": len(second.discriminator.trainable_variables)},
            "weight_difference": max(float(np.abs(a - b).max()) for a, b in zip(first.get_weights(),
                                                                                 second.get_weights())),
            "seed_states_equal": all(np.array_equal(a, b) for a, b in zip(fit.seed_states(first),
                                                                          fit.seed_states(second))),
        }
        history = fit.fit_run(second, data, run, 2, val_data=data, verbose=0)
        result[kind]["losses"] = history["loss"]
    return result


def per_replica_draws(strategy):
    """What each replica draws from one mirrored seed state: seeds, dropout masks, phase shifts."""
    with strategy.scope():
        dropout = ReplicaDropout(0.5, seed=3)
        shuffle = PhaseShuffle(2, seed=3)
        generator = keras.random.SeedGenerator(3)
    ramp = tf.reshape(tf.range(64, dtype=tf.float32), (1, 64, 1))

    @tf.function
    def draw():
        shifted = [shuffle(ramp, training=True)[0, 10, 0] for _ in range(8)]
        return replica_seed(generator), dropout(tf.ones((1, 256, 1)), training=True), tf.stack(shifted)

    seeds, masks, shifts = (strategy.experimental_local_results(v) for v in strategy.run(draw))
    return {"seeds": [s.numpy().tolist() for s in seeds],
            "masks_equal": bool(np.array_equal(masks[0].numpy(), masks[1].numpy())),
            "mask_kept": [float(np.mean(mask.numpy() > 0)) for mask in masks],
            "shifts": [(10 - s.numpy()).tolist() for s in shifts]}


def main(folder):
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    result = {"replicas": strategy.num_replicas_in_sync,
              "one_step": one_step_versus_one_device(strategy),
              "draws": per_replica_draws(strategy),
              "refused": refused_compile_options(strategy),
              "resume": adam_runs_and_resume(strategy, folder)}
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
