"""Train one model of the study (UNet, GAN, WGAN, each optionally with content loss "-C").

One flag per field of :class:`audiosr.train.experiment.RunSettings`, whose
defaults are the study's (``--helpfull`` lists them); ``--flagfile`` reads
flags from a file:

    python experiments/train.py --dataset=vctk --ratio=2 --model=gan --content   # make train-vctk-r2 MODEL=gan-c
    python experiments/train.py --model=unet --ratio=4 --dataset=synthetic --preset=cpu --epochs=3
    python experiments/train.py --model=unet --preset=fast --dataset=synthetic --lowres=real --epochs=3

The run goes to ``<logdir>/<dataset>-r<ratio>-<model>[-c]-<preset>[-<lowres>]-s<seed>/``
(``-<lowres>`` only for inputs made otherwise than by the study's decimation)
with the flags it ran with (flags.txt), per-epoch checkpoints, the best
model by validation loss (best.keras), history.csv and TensorBoard logs.
The same command after a crash or a kill resumes from the last finished
epoch. Exit status 2: unusable settings (a missing or unfinished data set,
an unavailable content network, a run folder started with other flags),
reported in one line before anything is written; 3: training stopped on a
NaN loss (the last good checkpoint is kept).
"""

import os
import sys

from audiosr.startup import import_tensorflow

import_tensorflow()

from absl import app, flags, logging  # noqa: E402

from audiosr.flag_checks import define_settings_flags, require_finite_floats, settings_from_flags  # noqa: E402

EXIT_USAGE, EXIT_NON_FINITE = 2, 3
# Flags that may change between the start of a run and its resumption. Not --lowres: it changes the task
# and the validation inputs, so best.keras, kept by the lowest validation loss, would compare epochs scored
# on different inputs. (Runs recorded before --lowres and --stft_weight existed lack them in flags.txt:
# they resume as those flags' defaults, which is what they ran with.)
RESUMABLE_CHANGES = ("epochs", "strategy", "verbose", "steps_per_epoch", "validation_steps", "jit_compile",
                     "steps_per_execution")


class RunSettingsError(ValueError):
    """A run folder exists but was started with other settings."""


def define_flags(fv=flags.FLAGS):
    """Define this app's flags on ``fv`` (tests use their own FlagValues): one per
    :class:`audiosr.train.experiment.RunSettings` field, with its default and help, and the run folder's."""
    from audiosr.train.experiment import RunSettings

    define_settings_flags(RunSettings(), flag_values=fv)
    flags.register_multi_flags_validator(
        ["lowres", "ratio"], lambda values: _check_lowres(values["lowres"], values["ratio"]), flag_values=fv)
    flags.DEFINE_string("logdir", "runs", "Log directory, one folder per run (tensorboard --logdir=runs).",
                        flag_values=fv)
    flags.DEFINE_string("run_name", None, "Run folder name (default: from the settings).", flag_values=fv)


def _check_lowres(text, ratio):
    """True, or flags.ValidationError with :func:`audiosr.lowres.parse_methods`' one line."""
    from audiosr.lowres import parse_methods

    try:
        parse_methods(text, int(ratio))
    except ValueError as error:
        raise flags.ValidationError(f"--lowres: {error}") from None
    return True


def run_settings(fv):
    """The :class:`audiosr.train.experiment.RunSettings` that the flags in ``fv`` describe."""
    from audiosr.train.experiment import RunSettings

    return settings_from_flags(RunSettings(), flag_values=fv)


def flags_text(fv):
    """The values of this app's flags in ``fv`` as flagfile text, sorted (unset ones left out)."""
    own = flags.FlagValues()
    define_flags(own)
    lines = [fv[name].serialize() for name in sorted(own) if fv[name].value is not None]
    return "".join(f"{line}\n" for line in lines)


def default_flags_text():
    """:func:`flags_text` of the defaults: what a flag missing from an older run's flags.txt stands for."""
    own = flags.FlagValues()
    define_flags(own)
    return flags_text(own)


def _parse_flag_lines(text):
    settings = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("--"):
            name, _, value = line[2:].partition("=")
            settings[name] = value
    return settings


def record_settings(run_dir, flags_text, may_change=RESUMABLE_CHANGES, defaults=""):
    """Write ``flags.txt`` into ``run_dir``, refusing to mix two runs' settings in one folder.

    ``flags_text`` is flagfile text (``--name=value`` lines). When the folder
    already holds a run, every setting except those in ``may_change`` must
    match; otherwise :class:`RunSettingsError` names the differences. A flag
    that one side lacks counts as its value in ``defaults`` (flagfile text):
    a run recorded before a setting existed resumes as long as the setting
    keeps its default (which must then be what such runs did).
    """
    from audiosr.atomic import write_text_atomic
    from audiosr.train.fit import SETTINGS_NAME

    path = os.path.join(os.fspath(run_dir), SETTINGS_NAME)
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as handle:
            old = {**_parse_flag_lines(defaults), **_parse_flag_lines(handle.read())}
        new = {**_parse_flag_lines(defaults), **_parse_flag_lines(flags_text)}
        differ = sorted(k for k in set(old) | set(new) if k not in may_change and old.get(k) != new.get(k))
        if differ:
            details = "; ".join(f"--{k}: {old.get(k)!r} then, {new.get(k)!r} now" for k in differ)
            raise RunSettingsError(
                f"{run_dir} holds a run started with other settings ({details}). "
                "Resume it with its own flags (--flagfile=" + path + "), or pick another --run_name or --logdir."
            )
    write_text_atomic(path, flags_text)
    return path


def run(fv):
    """Train (or resume) the run the flags in ``fv`` describe; returns (run folder, history)."""
    from audiosr.train.experiment import run_experiment

    settings = run_settings(fv)
    run_dir = os.path.join(fv.logdir, fv.run_name or settings.name)
    result = run_experiment(settings, run_dir, before_write=lambda folder: record_settings(
        folder, flags_text(fv), defaults=default_flags_text()))
    if result.history:  # the chief's
        print(result.summary())
    return run_dir, result.history


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    from audiosr.data.records import DataSetError
    from audiosr.features import ContentNetworkError
    from audiosr.models import DistributedCompileError
    from audiosr.train.callbacks import NonFiniteLossError

    try:
        run(flags.FLAGS)
    except NonFiniteLossError as error:
        logging.error("%s", error)
        sys.exit(EXIT_NON_FINITE)
    except (ContentNetworkError, DataSetError, RunSettingsError, DistributedCompileError, FileNotFoundError) as error:
        logging.error("%s", error)
        sys.exit(EXIT_USAGE)


if __name__ == "__main__":
    define_flags()
    require_finite_floats()
    app.run(main)
