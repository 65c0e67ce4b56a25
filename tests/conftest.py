"""Shared fixtures: fixed seeds, quiet TensorFlow, the recordings the tests read.

Patterns for tests (keep new tests on them):

- Real recordings: take the session fixture ``test_corpus`` (tests/corpus/,
  a few MB that ship with the repository; tests/corpus/README.md lists every
  file, its source and licence). Every test that only needs *some* real
  speech or music reads it, so a bare clone passes the suite.
- The larger corpus: take ``shared_data`` only when a test truly needs it
  (the shipped models' held-out files, the whole corpus walked by the
  pretrained recipe). It is AUDIOSR_SHARED_DATA (default ../shared/data beside
  the repository; a relative path is taken from the repository root); where
  it is absent the test is skipped with a one-line reason, which ``make test``
  prints (pytest -rs).
- Slow end-to-end tests (make targets, README commands, whole benchmarks,
  anything over ~10 s) carry ``@pytest.mark.slow``; ``make test-fast`` leaves
  them out, ``make test`` runs everything.
- Expensive things several tests read (prepared sets, trained tiny models,
  a working copy) are built once in session- or module-scoped fixtures;
  a test that changes such a thing copies it first.
"""

import os
import pathlib

import numpy as np
import pytest

from audiosr.startup import import_tensorflow

import_tensorflow()  # quietly, and the modules it loads left out of the garbage collector's rounds

ROOT = pathlib.Path(__file__).resolve().parents[1]
TEST_CORPUS = ROOT / "tests" / "corpus"
SHARED_DATA = (ROOT / os.environ.get("AUDIOSR_SHARED_DATA", "../shared/data")).resolve()


# The longest test files (minutes each, on a 2-core CPU), started first: make test shares the files among
# TEST_WORKERS processes in collection order, and a long file started last would leave the others idle.
LONGEST_FIRST = ("test_multi_worker.py", "test_readme.py", "test_bench.py", "test_models.py", "test_report.py",
                 "test_distributed.py", "test_flow.py")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's, which reads the groups into the test ids
def pytest_collection_modifyitems(items):
    """``split`` tests first (the README's two parts: the longest), then the files of LONGEST_FIRST in its order,
    then the others as collected. Each file is one group of make test's processes (pytest-xdist's loadgroup), and
    each parametrization of a ``split`` test a group of its own.

    pytest-xdist gives each process one group, then one more to each process with at most two tests to go. The
    README's parts are one test each, so with three processes the fourth and fifth groups are queued behind them
    from the start: the multi-worker runs (one long module fixture) come third, for a process of their own, and
    the README's short tests fourth, behind its longest part."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: (not item.get_closest_marker("split"), rank.get(item.path.name, len(rank))))
    for item in items:
        group = item.nodeid if item.get_closest_marker("split") else item.path.name
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(autouse=True)
def fixed_seeds():
    """Every test starts from the same numpy / Python / Keras seeds."""
    import keras

    keras.utils.set_random_seed(1234)
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def dead_pid():
    """The id of a process that has ended (what a SIGKILLed writer leaves behind)."""
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.fixture(scope="session")
def test_corpus():
    """The real recordings that ship with the tests (tests/corpus/README.md)."""
    return TEST_CORPUS


@pytest.fixture(scope="session")
def shared_data():
    """The larger corpus of real recordings (AUDIOSR_SHARED_DATA); the test is skipped without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"needs the larger corpus: AUDIOSR_SHARED_DATA={SHARED_DATA} is not a folder")
    return SHARED_DATA


def build_mock_vggish(folder, seed=0):
    """Save a small SavedModel with exactly VGGish's TF-Hub signature to ``folder``.

    Built the way tensorflow/models' vggish_export_tfhub.py builds the real
    one (a tf.Module whose tf.function calls a wrap_function'd graph with
    variables made by a creator hook): one 1-D float32 waveform in, [N, 128]
    float32 out, from VGGish's log-mel front end, two 3x3 convolutions with
    2x2 max-pooling and a linear 128-d embedding layer.
    """
    import tensorflow as tf

    from audiosr.features.vggish import log_mel_patches

    rng = np.random.default_rng(seed)
    initial = {
        "conv1": rng.normal(0, 0.1, (3, 3, 1, 8)).astype("float32"),
        "conv2": rng.normal(0, 0.1, (3, 3, 8, 16)).astype("float32"),
        "embedding": rng.normal(0, 0.01, (24 * 16 * 16, 128)).astype("float32"),
    }

    class MockVGGish(tf.Module):
        def __init__(self):
            super().__init__()
            self._variables = []

            def track(next_creator, **kwargs):
                kwargs["initial_value"] = initial[kwargs["name"]]
                variable = next_creator(**kwargs)
                self._variables.append(variable)
                return variable

            def define(waveform):
                with tf.variable_creator_scope(track):
                    weights = {name: tf.compat.v1.get_variable(name, value.shape) for name, value in initial.items()}
                    x = tf.reshape(log_mel_patches(waveform), [-1, 96, 64, 1])
                    for name in ("conv1", "conv2"):
                        x = tf.nn.max_pool2d(tf.nn.relu(tf.nn.conv2d(x, weights[name], 1, "SAME")), 2, 2, "SAME")
                    return tf.matmul(tf.reshape(x, [-1, 24 * 16 * 16]), weights["embedding"])

            self._vggish_fn = tf.compat.v1.wrap_function(define, signature=(tf.TensorSpec([None], tf.float32),))

        @tf.function(input_signature=(tf.TensorSpec([None], tf.float32),))
        def __call__(self, waveform):
            return self._vggish_fn(waveform)

    tf.saved_model.save(MockVGGish(), str(folder))
    return folder


@pytest.fixture(scope="session")
def mock_vggish(tmp_path_factory):
    """Folder of a SavedModel with VGGish's TF-Hub signature (see build_mock_vggish)."""
    return build_mock_vggish(tmp_path_factory.mktemp("mock_vggish"))


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    """An untrained tiny x2 UNet saved as .keras: what the command-line tests upsample and score with."""
    import keras

    from audiosr.models import build_model

    keras.utils.set_random_seed(5)
    path = tmp_path_factory.mktemp("models") / "tiny_x2.keras"
    build_model("unet", 2, preset="tiny").save(path)
    return path
