"""Train one model of the study (UNet, GAN, WGAN, each optionally with content loss "-C").

Run from the repository root (flagfiles name each other by paths relative to it):

    python experiments/train.py --flagfile=experiments/configs/vctk-r2-wgan.flags
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

import dataclasses
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging  # noqa: E402

from audiosr.flag_checks import require_finite_floats  # noqa: E402

EXIT_USAGE, EXIT_NON_FINITE = 2, 3
# Flags that may change between the start of a run and its resumption. Not --lowres: it changes the task
# and the validation inputs, so best.keras, kept by the lowest validation loss, would compare epochs scored
# on different inputs.
RESUMABLE_CHANGES = ("epochs", "strategy", "verbose", "steps_per_epoch", "validation_steps", "jit_compile",
                     "steps_per_execution")


class RunSettingsError(ValueError):
    """A run folder exists but was started with other settings."""


def define_flags(fv=flags.FLAGS):
    """Define this app's flags on ``fv`` (tests use their own FlagValues)."""
    from audiosr.lowres import METHODS, MIXES, SUPPORTED_RATIOS
    from audiosr.models import PRESETS
    from audiosr.train.distribute import PRECISIONS, STRATEGIES

    flags.DEFINE_enum("model", "wgan", ["unet", "gan", "wgan"], "Model: AudioUNet alone, GAN or WGAN.", flag_values=fv)
    flags.DEFINE_bool("content", False, "Add the content (feature) loss: the study's -C models.", flag_values=fv)
    flags.DEFINE_string("content_network", "vggish", "Feature network of the content loss: 'vggish', a TF-Hub "
                        "handle or folder, or a .keras feature network.", flag_values=fv)
    flags.DEFINE_float("content_weight", 1.0, "Weight of the content loss.", flag_values=fv)
    # Default None, not 0: runs recorded before this flag existed resume with the same settings.
    flags.DEFINE_float("stft_weight", None, "Weight of the multi-resolution STFT loss (default: none).",
                       lower_bound=0.0, flag_values=fv)
    flags.DEFINE_enum("ratio", "2", [str(r) for r in SUPPORTED_RATIOS], "Upsampling ratio r.", flag_values=fv)
    flags.DEFINE_string("dataset", "vctk", "Name of the data set (names the run).", flag_values=fv)
    flags.DEFINE_string("data_dir", None, "Prepared data set folder (default: data/<dataset>, where data_prep/ "
                        "writes it).", flag_values=fv)
    # Default None, not "decimate": runs recorded before this flag existed resume with the same settings.
    flags.DEFINE_string("lowres", None, "How the low-rate inputs are made, for training and validation: "
                        f"decimate (the study's, default), a mix ({', '.join(MIXES)}) or a comma list of methods "
                        f"({', '.join(METHODS)}), one drawn per clip; see docs/input-makers.md.", flag_values=fv)
    flags.register_multi_flags_validator(
        ["lowres", "ratio"], lambda values: _check_lowres(values["lowres"], values["ratio"]), flag_values=fv)
    flags.DEFINE_enum("preset", "paper", sorted(PRESETS), "Generator: an AudioUNet size (paper, cpu, tiny) "
                      "or the fast low-rate U-Net (fast).", flag_values=fv)
    flags.DEFINE_integer("epochs", 50, "Epochs to train (a finished run given more epochs goes on).",
                         lower_bound=1, flag_values=fv)
    flags.DEFINE_float("learning_rate", 1e-4, "Adam learning rate (generator and discriminator).", flag_values=fv)
    flags.DEFINE_integer("batch_size", 64, "Global batch size, split across replicas. --learning_rate is used as "
                         "given: with N replicas, to keep 64 clips per replica pass N x 64 and scale --learning_rate "
                         "by N too (the linear rule).", lower_bound=1, flag_values=fv)
    flags.DEFINE_string("logdir", "runs", "Log directory, one folder per run (tensorboard --logdir=runs).",
                        flag_values=fv)
    flags.DEFINE_string("run_name", None, "Run folder name (default: from the settings).", flag_values=fv)
    flags.DEFINE_integer("seed", 0, "Seed of weights, data order, dropout and phase shuffle.", flag_values=fv)
    flags.DEFINE_enum("strategy", "default", list(STRATEGIES), "tf.distribute strategy: one device, all local "
                      "GPUs (mirrored) or the workers in TF_CONFIG (multi_worker).", flag_values=fv)
    flags.DEFINE_enum("precision", "float32", list(PRECISIONS), "Dtype policy: float32, or float32 weights with "
                      "bfloat16 / float16 computation (mixed_float16 scales the losses of both optimizers).",
                      flag_values=fv)
    flags.DEFINE_bool("jit_compile", False, "Compile each training step with XLA (one device only: Keras' fit "
                      "fails with it under a multi-replica strategy).", flag_values=fv)
    flags.DEFINE_integer("steps_per_execution", 1, "Training steps per call from Python (fewer per-step overheads; "
                         "callbacks see every N-th batch; one device only, as --jit_compile).", lower_bound=1,
                         flag_values=fv)
    flags.DEFINE_float("lambda_adv", 0.01, "Weight of the adversarial term (GAN, WGAN).", flag_values=fv)
    flags.DEFINE_integer("discriminator_filters", 32, "Filters of the discriminator's first layer.", flag_values=fv)
    flags.DEFINE_integer("n_critic", 5, "WGAN: critic updates per generator update.", lower_bound=1, flag_values=fv)
    flags.DEFINE_float("clip_value", 0.01, "WGAN: critic weight clipping bound (0: no clipping).", flag_values=fv)
    flags.DEFINE_float("gp_weight", 0.0, "WGAN: gradient-penalty weight (0: none).", flag_values=fv)
    flags.DEFINE_integer("steps_per_epoch", None, "Batches per epoch (default: the whole training split).",
                         flag_values=fv)
    flags.DEFINE_integer("validation_steps", None, "Validation batches (default: the whole val split).",
                         flag_values=fv)
    flags.DEFINE_integer("verbose", 1, "Keras verbosity: 0 silent, 1 progress bar, 2 one line per epoch.",
                         flag_values=fv)


def _check_lowres(text, ratio):
    """True, or flags.ValidationError with :func:`audiosr.lowres.parse_methods`' one line."""
    from audiosr.lowres import STUDY_METHOD, parse_methods

    try:
        parse_methods(text or STUDY_METHOD, int(ratio))
    except ValueError as error:
        raise flags.ValidationError(f"--lowres: {error}") from None
    return True


def settings_from_flags(fv):
    """The :class:`audiosr.train.experiment.RunSettings` that the flags in ``fv`` describe."""
    from audiosr.lowres import STUDY_METHOD
    from audiosr.train.experiment import RunSettings

    values = {field.name: fv[field.name].value for field in dataclasses.fields(RunSettings)}
    return RunSettings(**dict(values, ratio=int(fv.ratio), stft_weight=fv.stft_weight or 0.0,
                              lowres=fv.lowres or STUDY_METHOD))


def flags_text(fv):
    """The values of this app's flags in ``fv`` as flagfile text, sorted (unset ones left out)."""
    own = flags.FlagValues()
    define_flags(own)
    lines = [fv[name].serialize() for name in sorted(own) if fv[name].value is not None]
    return "".join(f"{line}\n" for line in lines)


def _parse_flag_lines(text):
    settings = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("--"):
            name, _, value = line[2:].partition("=")
            settings[name] = value
    return settings


def record_settings(run_dir, flags_text, may_change=RESUMABLE_CHANGES):
    """Write ``flags.txt`` into ``run_dir``, refusing to mix two runs' settings in one folder.

    ``flags_text`` is flagfile text (``--name=value`` lines). When the folder
    already holds a run, every setting except those in ``may_change`` must
    match; otherwise :class:`RunSettingsError` names the differences.
    """
    from audiosr.atomic import write_text_atomic
    from audiosr.train.fit import SETTINGS_NAME

    path = os.path.join(os.fspath(run_dir), SETTINGS_NAME)
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as handle:
            old = _parse_flag_lines(handle.read())
        new = _parse_flag_lines(flags_text)
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

    settings = settings_from_flags(fv)
    run_dir = os.path.join(fv.logdir, fv.run_name or settings.name)
    result = run_experiment(settings, run_dir, before_write=lambda folder: record_settings(folder, flags_text(fv)))
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
