"""Shared fixtures: fixed seeds, quiet TensorFlow, the real recordings in ../shared/data."""

import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

SHARED_DATA = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def fixed_seeds():
    """Every test starts from the same numpy / Python / Keras seeds."""
    import keras

    keras.utils.set_random_seed(1234)
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def shared_data():
    """The real recordings that sit beside the project (see ../shared/data/README.md)."""
    if not SHARED_DATA.is_dir():
        raise FileNotFoundError(f"real test recordings not found at {SHARED_DATA}")
    return SHARED_DATA
