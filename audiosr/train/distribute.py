"""Where and how precisely a run computes: the tf.distribute strategy, the dtype policy, the chief."""

import logging
import os

import keras

LOGGER = logging.getLogger("audiosr")
STRATEGIES = ("default", "mirrored", "multi_worker")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


def make_strategy(name):
    """The tf.distribute strategy called ``name``.

    "default": one device, no strategy. "mirrored": all local GPUs (or the
    logical CPUs configured before TensorFlow started). "multi_worker":
    synchronous training across the machines described by ``TF_CONFIG``
    (without it, one local worker).
    """
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            LOGGER.warning("strategy multi_worker without TF_CONFIG: training as a single local worker")
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"unknown strategy {name!r}; choose from {STRATEGIES}")


def set_precision(name):
    """Make ``name`` Keras' global dtype policy; models built afterwards compute in it.

    "float32": full precision. "mixed_bfloat16" / "mixed_float16": float32
    weights, bfloat16 / float16 computation (GPU tensor cores, CPUs with
    native bfloat16). The models keep their residual sum, discriminator
    score and losses in float32, and under "mixed_float16" both optimizers
    scale the loss. Call it before building the model.
    """
    if name not in PRECISIONS:
        raise ValueError(f"unknown precision {name!r}; choose from {PRECISIONS}")
    keras.mixed_precision.set_global_policy(name)


def is_chief(strategy):
    """Whether this process writes the run's files (always, except non-chief multi-worker tasks)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None:
        return True
    cluster = resolver.cluster_spec().as_dict()
    if not cluster:
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    return task_type == "chief" or (task_type == "worker" and task_id == 0 and "chief" not in cluster)
