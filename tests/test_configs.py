"""Every shipped flagfile parses with experiments/train.py's flags and builds its model (at a tiny size)."""

import importlib.util
import itertools
import pathlib

import numpy as np
import pytest
from absl import flags

import audiosr.models as m
from audiosr import features
from audiosr.data import pipeline
from audiosr.train import experiment

ROOT = pathlib.Path(__file__).resolve().parents[1]
CONFIG_DIR = ROOT / "experiments" / "configs"
STUDY = [f"{dataset}-r{ratio}-{model}{suffix}.flags"
         for dataset, ratio, model, suffix in itertools.product(("vctk", "fma"), (2, 4), ("unet", "gan", "wgan"),
                                                                 ("", "-c"))]
LENGTH = 1024


def load_app(name):
    spec = importlib.util.spec_from_file_location(f"{name}_app", ROOT / "experiments" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


train_app = load_app("train")


def parse(path):
    """A fresh FlagValues holding train.py's flags, parsed from ``path`` (nested flagfiles included)."""
    fv = flags.FlagValues()
    train_app.define_flags(fv)
    fv(["train.py", f"--flagfile={path}"])
    return fv


@pytest.fixture
def at_root(monkeypatch):
    monkeypatch.chdir(ROOT)  # flagfiles include each other by paths relative to the repository root


@pytest.fixture(scope="module")
def stand_in_content_network():
    """An untrained spectral feature network: VGGish cannot be downloaded here."""
    return features.feature_extractor(features.build_feature_network(n_fft=256, hop_length=64, widths=(8,),
                                                                     code_channels=4))


def test_the_study_ships_all_24_configs():
    shipped = {p.name for p in CONFIG_DIR.glob("*-r*-*.flags")}
    assert shipped == set(STUDY)


@pytest.mark.parametrize("name", STUDY)
def test_config_parses_and_builds_its_model(at_root, stand_in_content_network, name):
    fv = parse(CONFIG_DIR / name)
    dataset, ratio, model, *content = name[:-len(".flags")].split("-")
    assert (fv.dataset, fv.ratio, fv.model, fv.content) == (dataset, ratio[1:], model, bool(content))
    assert (fv.preset, fv.epochs, fv.learning_rate, fv.logdir, fv.seed) == ("paper", 50, 1e-4, "runs", 0)
    assert fv.data_dir is None and pipeline.dataset_dir(fv.dataset) == f"data/{dataset}"  # where data_prep/ writes
    assert fv.content_network == "vggish"
    expected_run = f"{name[:-len('.flags')]}-paper-s0"
    assert experiment.run_name(fv.dataset, int(fv.ratio), fv.model, fv.content, fv.preset, fv.seed) == expected_run

    network = stand_in_content_network if fv.content else None
    model = experiment.build_compiled_model(fv.model, int(fv.ratio), "tiny", LENGTH, fv.learning_rate,
                                          content_network=network, **train_app.settings_from_flags(fv).model_kwargs())
    assert type(model) is m.MODEL_CLASSES[fv.model]
    assert model.ratio == int(fv.ratio) and (model.content_network is not None) == fv.content
    if fv.model == "wgan":
        assert (model.n_critic, model.clip_value, model.gp_weight) == (5, 0.01, 0.0)
    if fv.model != "unet":
        assert model.lambda_adv == 0.01 and model.discriminator.input_shape == (None, LENGTH, 1)
    x = np.zeros((1, LENGTH, 1), "float32")
    assert model(x).shape == x.shape


def test_base_config_holds_the_study_settings(at_root):
    fv = parse(CONFIG_DIR / "vctk-r4-wgan-c.flags")
    assert (fv.batch_size, fv.lambda_adv, fv.n_critic, fv.clip_value, fv.content_weight) == (64, 0.01, 5, 0.01, 1.0)
    assert fv.strategy == "default"


def test_flags_text_round_trips_through_a_flagfile(at_root, tmp_path):
    fv = parse(CONFIG_DIR / "fma-r2-gan-c.flags")
    text = train_app.flags_text(fv)
    assert "--model=gan" in text and "--content\n" in text and "--ratio=2" in text
    (tmp_path / "flags.txt").write_text(text)
    again = parse(tmp_path / "flags.txt")
    assert train_app.flags_text(again) == text
    assert again.model == "gan" and again.content and again.dataset == "fma" and again.epochs == 50


def test_every_training_flag_is_a_run_setting():
    """train.py only parses: each of its flags but the run folder's name and place is a RunSettings field."""
    import dataclasses

    from audiosr.train.experiment import RunSettings

    fv = flags.FlagValues()
    train_app.define_flags(fv)
    assert {f.name for f in dataclasses.fields(RunSettings)} == set(fv) - {"logdir", "run_name"}
