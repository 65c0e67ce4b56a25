"""The study's runs as the Makefile starts them, and RunSettings as the one source of every training flag.

Each ``make train-<dataset>-r<r> MODEL=<model>`` command (read with ``make -n``)
parses with experiments/train.py's flags and builds its model (at a tiny
size); a default changed in RunSettings reaches train.py's help, the quality
benchmark and a run's flags.txt with no other edit; runs recorded by the
flagfiles that came before still resume.
"""

import dataclasses
import importlib.util
import itertools
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys

import numpy as np
import pytest
from absl import flags

import audiosr.models as m
from audiosr import features
from audiosr.data import pipeline, prepare
from audiosr.train import experiment

ROOT = pathlib.Path(__file__).resolve().parents[1]
BASE_FLAGS = ROOT / "experiments" / "configs" / "base.flags"
STUDY = list(itertools.product(("vctk", "fma"), (2, 4), ("unet", "unet-c", "gan", "gan-c", "wgan", "wgan-c")))
LENGTH = 1024
# flags.txt of a vctk-r2-gan-c run as train.py wrote it when the study's settings were 24 flagfiles
# including base.flags (before --lowres and --stft_weight were recorded).
FLAGFILE_ERA_RUN = """--batch_size=64
--clip_value=0.01
--content
--content_network=vggish
--content_weight=1.0
--dataset=vctk
--discriminator_filters=32
--epochs=50
--gp_weight=0.0
--nojit_compile
--lambda_adv=0.01
--learning_rate=0.0001
--logdir=runs
--model=gan
--n_critic=5
--precision=float32
--preset=paper
--ratio=2
--seed=0
--steps_per_execution=1
--strategy=default
--verbose=1
"""


def load_app(name):
    spec = importlib.util.spec_from_file_location(f"{name}_app", ROOT / "experiments" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


train_app = load_app("train")


def parse(args):
    """A fresh FlagValues holding train.py's flags, parsed from ``args`` (flagfiles included)."""
    fv = flags.FlagValues()
    train_app.define_flags(fv)
    fv(["train.py", *args])
    return fv


def study_command(target, model):
    """train.py's arguments in ``make -n <target> MODEL=<model>``, as the Makefile writes them."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MODEL", "DATASET", "RATIO", "TRAIN_ARGS")}
    shown = subprocess.run(["make", "-n", target, f"MODEL={model}"], cwd=ROOT, env=env, capture_output=True,
                           text=True, check=True).stdout
    [line] = [line for line in shown.splitlines() if "experiments/train.py" in line]
    words = shlex.split(line)
    return words[words.index("experiments/train.py") + 1:]


@pytest.fixture
def at_root(monkeypatch):
    monkeypatch.chdir(ROOT)  # the Makefile names base.flags relative to the repository root


@pytest.fixture(scope="module")
def stand_in_content_network():
    """An untrained spectral feature network: VGGish cannot be downloaded here."""
    return features.feature_extractor(features.build_feature_network(n_fft=256, hop_length=64, widths=(8,),
                                                                     code_channels=4))


@pytest.mark.parametrize("dataset,ratio,name", STUDY)
def test_study_target_parses_and_builds_its_model(at_root, stand_in_content_network, dataset, ratio, name):
    fv = parse(study_command(f"train-{dataset}-r{ratio}", name))
    kind, content = name.removesuffix("-c"), name.endswith("-c")
    settings = train_app.run_settings(fv)
    # The target and MODEL set these four; everything else is RunSettings' default, the study's.
    assert dataclasses.replace(settings, dataset="vctk", ratio=2, model="wgan", content=False) == \
        experiment.RunSettings()
    assert (settings.dataset, settings.ratio, settings.model, settings.content) == (dataset, ratio, kind, content)
    assert settings.prepared_dir == pipeline.dataset_dir(dataset)  # where data_prep/ writes it
    assert settings.name == f"{dataset}-r{ratio}-{name}-paper-s0" and fv.logdir == "runs"

    network = stand_in_content_network if content else None
    model = experiment.build_compiled_model(kind, ratio, "tiny", LENGTH, settings.learning_rate,
                                          content_network=network, **settings.model_kwargs())
    assert type(model) is m.MODEL_CLASSES[kind]
    assert model.ratio == ratio and (model.content_network is not None) == content
    if kind == "wgan":
        assert (model.n_critic, model.clip_value, model.gp_weight) == (5, 0.01, 0.0)
    if kind != "unet":
        assert model.lambda_adv == 0.01 and model.discriminator.input_shape == (None, LENGTH, 1)
    x = np.zeros((1, LENGTH, 1), "float32")
    assert model(x).shape == x.shape


def test_the_makefile_default_model_is_run_settings(at_root):
    """``make train-vctk-r2`` with no MODEL trains RunSettings' model, the study's best."""
    settings = train_app.run_settings(parse(study_command("train-vctk-r2", "")))
    assert settings == experiment.RunSettings() and settings.name == "vctk-r2-wgan-paper-s0"


def test_run_settings_defaults_are_the_study_and_base_flags_repeats_none(at_root):
    study = experiment.RunSettings()
    assert (study.preset, study.epochs, study.learning_rate, study.batch_size, study.seed) == ("paper", 50, 1e-4, 64, 0)
    assert (study.lambda_adv, study.n_critic, study.clip_value, study.gp_weight) == (0.01, 5, 0.01, 0.0)
    assert (study.content_network, study.content_weight, study.lowres) == ("vggish", 1.0, "decimate")
    fv = parse([f"--flagfile={BASE_FLAGS}"])
    defaults = parse([])
    repeated = [name for name in fv if fv[name].present and fv[name].value == defaults[name].value]
    assert not repeated, f"base.flags repeats RunSettings' defaults: {repeated}"


def test_flags_text_round_trips_through_a_flagfile(at_root, tmp_path):
    fv = parse(study_command("train-fma-r2", "gan-c"))
    text = train_app.flags_text(fv)
    assert "--model=gan" in text and "--content\n" in text and "--ratio=2" in text and "--lowres=decimate" in text
    (tmp_path / "flags.txt").write_text(text)
    again = parse([f"--flagfile={tmp_path / 'flags.txt'}"])
    assert train_app.flags_text(again) == text
    assert train_app.run_settings(again) == train_app.run_settings(fv)


def test_a_run_started_from_the_old_flagfiles_resumes(at_root, tmp_path):
    (tmp_path / "flags.txt").write_text(FLAGFILE_ERA_RUN)
    now = train_app.flags_text(parse(study_command("train-vctk-r2", "gan-c")))
    train_app.record_settings(tmp_path, now, defaults=train_app.default_flags_text())
    assert (tmp_path / "flags.txt").read_text() == now
    (tmp_path / "flags.txt").write_text(FLAGFILE_ERA_RUN)
    other = train_app.flags_text(parse([*study_command("train-vctk-r2", "gan-c"), "--lowres=real"]))
    with pytest.raises(train_app.RunSettingsError, match=r"--lowres: 'decimate' then, 'real' now"):
        train_app.record_settings(tmp_path, other, defaults=train_app.default_flags_text())


def test_every_training_flag_is_a_run_setting():
    """train.py only parses: each of its flags but the run folder's name and place is a RunSettings field."""
    fv = flags.FlagValues()
    train_app.define_flags(fv)
    assert {f.name for f in dataclasses.fields(experiment.RunSettings)} == set(fv) - {"logdir", "run_name"}
    for field in dataclasses.fields(experiment.RunSettings):
        assert fv[field.name].help.endswith(field.metadata["help"])  # enum flags add <choice|...>: before it


@pytest.mark.slow
def test_a_default_changed_in_run_settings_reaches_help_bench_and_flags_txt(tmp_path):
    """One edit of RunSettings in a copy of the package: train.py --helpfull, bench_quality's settings and a
    run's flags.txt all follow it."""
    copy = tmp_path / "copy"
    for part in ("audiosr", "experiments", "bench"):
        shutil.copytree(ROOT / part, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
    source = copy / "audiosr" / "train" / "experiment.py"
    text, old = source.read_text(), 'lambda_adv: float = setting(0.01,'
    assert text.count(old) == 1
    source.write_text(text.replace(old, 'lambda_adv: float = setting(0.25,'))
    env = {**os.environ, "PYTHONPATH": str(copy), "TF_CPP_MIN_LOG_LEVEL": "2"}
    data_dir = tmp_path / "tiny"
    prepare.prepare_synthetic(data_dir, num_clips=8, utterance_seconds=1.0, val_fraction=0.25, test_fraction=0.25,
                              clip_seconds=0.128, ratios=(2,), num_workers=0, progress=False)
    bench = ("import sys; sys.path.insert(0, 'bench'); import bench_quality; "
             "bench_quality.FLAGS(['bench_quality.py', '--train_dir=a', '--test_dir=b']); "
             "print(repr(bench_quality.training_settings()))")
    commands = {  # command line, exit status (absl's help exits with 1)
        "help": ([copy / "experiments" / "train.py", "--helpfull"], 1),
        "bench": (["-c", bench], 0),
        "train": ([copy / "experiments" / "train.py", f"--data_dir={data_dir}", "--dataset=tiny", "--model=unet",
                   "--preset=tiny", "--epochs=1", "--batch_size=2", "--steps_per_epoch=1", "--validation_steps=1",
                   "--verbose=0", f"--logdir={tmp_path / 'runs'}"], 0),
    }
    out = {}
    for name, (args, status) in commands.items():
        done = subprocess.run([sys.executable, *map(str, args)], cwd=copy, env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == status, done.stderr[-2000:]
        out[name] = done.stdout

    assert re.search(r"--lambda_adv: .*\n\s+\(default: '0.25'\)", out["help"])
    assert "lambda_adv=0.25," in out["bench"] and "preset='cpu'," in out["bench"]  # and the benchmark's own choices
    assert "--lambda_adv=0.25\n" in (tmp_path / "runs" / "tiny-r2-unet-tiny-s0" / "flags.txt").read_text()
