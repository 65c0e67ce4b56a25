"""experiments/train.py runs in one process on two logical CPUs, the reference of tests/test_multi_worker.py.

``python tests/mirrored_runs.py`` reads one line of train.py flags per line
of standard input and runs each as ``experiments/train.py FLAGS
--strategy=mirrored`` would (settings, run folder, resume), in order, in
this one process; after each it prints ``DONE <run folder>``. Two logical
CPUs make MirroredStrategy's two replicas -- replica ids 0 and 1, each with
half of every global batch, as the two workers of a multi-worker run have
-- which TensorFlow only allows before it starts, hence a process of its
own. Every run uses one MirroredStrategy: the collectives of a second one
in the same process would take the first one's instance keys (and fail on
their shapes).
"""

import importlib.util
import pathlib
import shlex
import sys

from audiosr.startup import import_tensorflow

import_tensorflow()

import tensorflow as tf  # noqa: E402

CPU = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(CPU, [tf.config.LogicalDeviceConfiguration()] * 2)

from absl import flags  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]


def load_train_app():
    spec = importlib.util.spec_from_file_location("train_app", ROOT / "experiments" / "train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    from audiosr.train import experiment

    strategy = tf.distribute.MirroredStrategy()
    experiment.make_strategy = lambda name: strategy
    train_app = load_train_app()
    for line in sys.stdin:
        fv = flags.FlagValues()
        train_app.define_flags(fv)
        fv(["train.py", *shlex.split(line), "--strategy=mirrored"])
        run_dir, _ = train_app.run(fv)
        print(f"DONE {run_dir}", flush=True)


if __name__ == "__main__":
    main()
