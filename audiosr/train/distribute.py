"""Where and how precisely a run computes: the tf.distribute strategy, the dtype policy, the chief."""

import hashlib
import logging
import os
import tempfile

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
        return _multi_worker_strategy()
    raise ValueError(f"unknown strategy {name!r}; choose from {STRATEGIES}")


def _multi_worker_strategy():
    """MultiWorkerMirroredStrategy whose ``reduce`` takes what Keras 3's ``fit`` passes it.

    Keras 3 reduces a nest (the first batch, to build the model) and scalars
    with ``axis=0`` (the logs of every step); across workers
    MultiWorkerMirroredStrategy refuses both (keras-team/keras#20585), so
    ``fit`` fails before its first step. Here each leaf is reduced on its own,
    a scalar over the replicas only (the mean of the replicas' values, what
    ``axis=0`` means for a tensor with a batch axis).
    """
    import tensorflow as tf

    class MultiWorkerStrategy(tf.distribute.MultiWorkerMirroredStrategy):
        def reduce(self, reduce_op, value, axis=None):
            def one(leaf):
                rank = self.experimental_local_results(leaf)[0].shape.rank
                return super(MultiWorkerStrategy, self).reduce(reduce_op, leaf, axis if rank else None)

            return tf.nest.map_structure(one, value)

    return MultiWorkerStrategy()


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


def _task(strategy):
    """(task type, task id, cluster as a dict) of this process; ("worker", 0, {}) without a cluster."""
    resolver = getattr(strategy, "cluster_resolver", None)
    cluster = resolver.cluster_spec().as_dict() if resolver is not None else {}
    return (resolver.task_type, resolver.task_id, cluster) if cluster else ("worker", 0, {})


def worker_count(strategy):
    """How many worker processes train together under ``strategy`` (1 unless multi-worker)."""
    cluster = _task(strategy)[2]
    return max(1, sum(len(cluster.get(kind, ())) for kind in ("chief", "worker")))


def is_chief(strategy):
    """Whether this process writes the run's files (always, except non-chief multi-worker tasks)."""
    task_type, task_id, cluster = _task(strategy)
    return task_type == "chief" or (task_type == "worker" and task_id == 0 and "chief" not in cluster)


def write_dir(run_dir, strategy):
    """Where this process writes the files of the run folder ``run_dir``.

    The chief writes ``run_dir`` itself. Every other worker writes the same
    files (so all processes run the same code, collectives included) into a
    scratch folder of its own, outside ``run_dir``, which the caller removes
    when training ends -- TensorFlow's ``write_filepath`` rule for
    multi-worker Keras, with the folder in the system's temporary directory
    so that the run folder holds the chief's files only, wherever it lives.
    The name is fixed by the run folder and the task, so a rerun finds (and
    clears) what a killed worker left.
    """
    if is_chief(strategy):
        return os.fspath(run_dir)
    task_type, task_id, _ = _task(strategy)
    digest = hashlib.sha1(os.path.abspath(os.fspath(run_dir)).encode()).hexdigest()[:12]
    return os.path.join(tempfile.gettempdir(), f"audiosr-{task_type}{task_id}-{digest}")


def broadcast_from_chief(strategy, data):
    """The chief's ``data`` (bytes) on every worker; what the other workers pass is ignored.

    Every worker must call it (it is two all-reduces, in which the first
    replica -- the chief's -- gives its values and every other replica
    zeros, so the sum is exact). With one worker it returns ``data``.
    """
    if worker_count(strategy) == 1:
        return data
    import numpy as np

    size = int(_first_replicas(strategy, np.array([len(data)], np.int64))[0])
    # The collectives carry 32-bit words, not bytes, and at least one (an empty all-reduce crashes).
    words = np.zeros(max(1, -(-size // 4)), np.int32)
    if is_chief(strategy):
        words.view(np.uint8)[:size] = np.frombuffer(data, np.uint8)
    return _first_replicas(strategy, words).view(np.uint8)[:size].tobytes()


def wait_for_all_workers(strategy):
    """Return once every worker has called it (one small all-reduce; nothing to wait for with one worker).

    The chief's process serves the cluster's coordination service: had it
    exited while another worker still worked, that worker would lose it.
    """
    if worker_count(strategy) > 1:
        import numpy as np

        _first_replicas(strategy, np.zeros(1, np.int32))


def _first_replicas(strategy, array):
    """The first replica's ``array`` on every worker (an all-reduce of it and zeros)."""
    import numpy as np
    import tensorflow as tf

    def contribution(context):
        return tf.constant(array if context.replica_id_in_sync_group == 0 else np.zeros_like(array))

    return np.asarray(strategy.reduce("SUM", strategy.experimental_distribute_values_from_function(contribution)))


def gradient_bytes(model):
    """Bytes of gradients one training step of ``model`` all-reduces across replicas.

    Each optimizer update all-reduces one float32 gradient per trainable
    weight of the network it trains (gradients take the weights' dtype,
    float32 under every precision policy): the generator once per step, the
    discriminator once (GAN) or ``n_critic`` times (WGAN).
    """
    import math

    updates = {"optimizer": 1, "d_optimizer": getattr(model, "n_critic", 1)}
    return sum(4 * updates[name] * sum(math.prod(w.shape) for w in getattr(model, network).trainable_weights)
               for name, network in model.OPTIMIZERS.items())


def ring_allreduce_seconds(num_bytes, workers, link_gbps):
    """Seconds a ring all-reduce of ``num_bytes`` over ``workers`` takes on links of ``link_gbps`` Gbit/s.

    Each worker sends (and receives) 2 (N - 1) / N of the bytes; latency
    and any overlap with computation are left out.
    """
    return 2 * (workers - 1) / workers * num_bytes * 8 / (link_gbps * 1e9)
