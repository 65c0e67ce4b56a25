"""A training run from its settings: the one place that turns settings into a built, fitted model.

:class:`RunSettings` holds everything that defines a run (the model, its
data, the optimizer, the schedule, where it computes); :func:`run_experiment`
checks them, builds the model and the data pipelines, fits in a resumable
run folder (:func:`audiosr.train.fit.fit_run`) and returns a
:class:`RunResult`. The entry points (experiments/train.py, the demo, the
quality benchmark) only turn their flags into settings.

>>> settings = RunSettings(model="unet", ratio=2, dataset="synthetic", preset="cpu", epochs=3)
>>> result = run_experiment(settings, os.path.join("runs", settings.name))
>>> print(result.summary())
"""

import dataclasses
import logging
import os
import time

import keras

from audiosr.data.pipeline import dataset_dir, make_dataset
from audiosr.data.records import Manifest
from audiosr.lowres import METHODS, MIXES, STUDY_METHOD, SUPPORTED_RATIOS, is_study, parse_methods
from audiosr.models import MODEL_CLASSES, PRESETS
from audiosr.train.distribute import PRECISIONS, STRATEGIES, is_chief, make_strategy, set_precision
from audiosr.train.fit import BEST_MODEL_NAME, fit_run

LOGGER = logging.getLogger("audiosr")


def run_name(dataset, ratio, model, content, preset, seed, lowres=STUDY_METHOD):
    """The folder name of a run, e.g. ``vctk-r2-wgan-c-paper-s0``; inputs made otherwise than by the study's
    decimation name their maker too: ``vctk-r2-unet-fast-real-s0``, ``...-fast-soxr+fft-s0``."""
    maker = "" if is_study(parse_methods(lowres)) else "-" + "+".join(p.strip() for p in str(lowres).split(","))
    return f"{dataset}-r{int(ratio)}-{model}{'-c' if content else ''}-{preset}{maker}-s{int(seed)}"


def build_compiled_model(kind, ratio, preset, input_length, learning_rate, strategy=None, content_network=None,
                         content_weight=1.0, seed=None, jit_compile=False, steps_per_execution=1, **model_kwargs):
    """``audiosr.models.build_model`` + Adam(``learning_rate``) for every optimizer, inside ``strategy``'s scope.

    Load a ``content_network`` under the same scope too. ``jit_compile``
    (True / False, passed on as given) compiles each training step with XLA;
    ``steps_per_execution`` runs that many steps per call from Python.
    ``learning_rate`` is used as given whatever the global batch size: when
    the batch grows with the number of replicas, scale it yourself (linearly
    is the usual rule for Adam at moderate sizes).
    """
    import tensorflow as tf

    from audiosr.models import build_model

    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        model = build_model(kind, ratio, preset=preset, input_length=input_length, content_network=content_network,
                            content_weight=content_weight, seed=seed, **model_kwargs)
        optimizers = {"optimizer": keras.optimizers.Adam(learning_rate)}
        if kind != "unet":
            optimizers["d_optimizer"] = keras.optimizers.Adam(learning_rate)
        model.compile(**optimizers, jit_compile=bool(jit_compile), steps_per_execution=int(steps_per_execution))
    return model


def setting(default, help, **flag_options):
    """A :class:`RunSettings` field: its default and what an entry point's flag for it says (``help``, and
    ``choices`` / ``lower_bound`` where the value is restricted); :mod:`audiosr.flag_checks` makes the flags."""
    return dataclasses.field(default=default, metadata={"help": help, **flag_options})


@dataclasses.dataclass(frozen=True)
class RunSettings:
    """Everything that defines a training run, and the one place its defaults are written: the study's.

    experiments/train.py defines one flag per field (name, type, default and
    help from here); the demo and bench/bench_quality.py start from these
    defaults and change a few. ``steps_per_epoch=None`` makes an epoch one
    pass over the training split; ``validation_steps=None`` scores the
    whole validation split.
    """

    model: str = setting("wgan", "Model: AudioUNet alone, GAN or WGAN.", choices=tuple(MODEL_CLASSES))
    ratio: int = setting(2, "Upsampling ratio r.", choices=SUPPORTED_RATIOS)
    dataset: str = setting("vctk", "Name of the data set (names the run).")
    data_dir: str | None = setting(None, "Prepared data set folder (default: the set called --dataset where "
                                   "data_prep/ writes it, data/ of the checkout or $AUDIOSR_DATA_ROOT: "
                                   "audiosr.data.pipeline.dataset_dir).")
    lowres: str = setting(STUDY_METHOD, "How the low-rate inputs are made, for training and validation: decimate "
                          f"(the study's: the inputs stored in the set), a mix ({', '.join(MIXES)}) or a comma list "
                          f"of methods ({', '.join(METHODS)}), one drawn per clip; see docs/input-makers.md.")
    preset: str = setting("paper", "Generator: an AudioUNet size (paper, cpu, tiny) or the fast low-rate U-Net "
                          "(fast).", choices=tuple(sorted(PRESETS)))
    content: bool = setting(False, "Add the content (feature) loss: the study's -C models.")
    content_network: str = setting("vggish", "Feature network of the content loss: 'vggish', a TF-Hub handle or "
                                   "folder, or a .keras feature network.")
    content_weight: float = setting(1.0, "Weight of the content loss.")
    stft_weight: float = setting(0.0, "Weight of the multi-resolution STFT loss (0: none).", lower_bound=0.0)
    epochs: int = setting(50, "Epochs to train (a finished run given more epochs goes on).", lower_bound=1)
    learning_rate: float = setting(1e-4, "Adam learning rate (generator and discriminator).")
    batch_size: int = setting(64, "Global batch size, split across replicas. The learning rate is used as given: "
                              "with N replicas, to keep each replica's batch pass N times the batch size and scale "
                              "the learning rate by N too (the linear rule).", lower_bound=1)
    seed: int = setting(0, "Seed of weights, data order, dropout and phase shuffle.")
    strategy: str = setting("default", "tf.distribute strategy: one device, all local GPUs (mirrored) or the "
                            "workers in TF_CONFIG (multi_worker).", choices=STRATEGIES)
    precision: str = setting("float32", "Dtype policy: float32, or float32 weights with bfloat16 / float16 "
                             "computation (mixed_float16 scales the losses of both optimizers).", choices=PRECISIONS)
    jit_compile: bool = setting(False, "Compile each training step with XLA (one device only: Keras' fit fails "
                                "with it under a multi-replica strategy).")
    steps_per_execution: int = setting(1, "Training steps per call from Python (fewer per-step overheads; "
                                       "callbacks see every N-th batch; one device only, as jit_compile).",
                                       lower_bound=1)
    lambda_adv: float = setting(0.01, "Weight of the adversarial term (GAN, WGAN).")
    discriminator_filters: int = setting(32, "Filters of the discriminator's first layer.")
    n_critic: int = setting(5, "WGAN: critic updates per generator update.", lower_bound=1)
    clip_value: float | None = setting(0.01, "WGAN: critic weight clipping bound (0: no clipping).")
    gp_weight: float = setting(0.0, "WGAN: gradient-penalty weight (0: none).")
    steps_per_epoch: int | None = setting(None, "Batches per epoch (default: the whole training split).")
    validation_steps: int | None = setting(None, "Validation batches (default: the whole val split).")
    verbose: int = setting(1, "Keras verbosity: 0 silent, 1 progress bar, 2 one line per epoch.")

    @property
    def name(self):
        """The default run folder name, e.g. ``vctk-r2-wgan-c-paper-s0`` (:func:`run_name`)."""
        return run_name(self.dataset, self.ratio, self.model, self.content, self.preset, self.seed, self.lowres)

    @property
    def prepared_dir(self):
        """The prepared data set this run reads."""
        return os.fspath(self.data_dir) if self.data_dir else dataset_dir(self.dataset)

    def model_kwargs(self):
        """Keyword arguments of ``audiosr.models.build_model`` beyond kind, ratio, preset and content network."""
        kwargs = {"content_weight": self.content_weight, "stft_weight": self.stft_weight, "seed": self.seed}
        if self.model != "unet":
            kwargs.update(lambda_adv=self.lambda_adv, discriminator_filters=self.discriminator_filters)
        if self.model == "wgan":
            kwargs.update(n_critic=self.n_critic, clip_value=self.clip_value or None, gp_weight=self.gp_weight)
        return kwargs


@dataclasses.dataclass(frozen=True)
class RunResult:
    """What a run left: its folder, its whole history and optimizer steps (earlier sessions included), and the
    seconds this call trained."""

    run_dir: str
    history: dict
    steps: int
    seconds: float

    @property
    def best_model_path(self):
        return os.path.join(self.run_dir, BEST_MODEL_NAME)

    @property
    def best_epoch(self):
        """Index of the epoch with the lowest validation loss (None before any validation)."""
        losses = self.history.get("val_loss")
        return min(range(len(losses)), key=losses.__getitem__) if losses else None

    def summary(self):
        """One line: epochs, the best validation loss, SNR and LSD, and where the best model is."""
        best = self.best_epoch
        if best is None:
            return f"{self.run_dir}: no validated epoch"
        h = self.history
        return (f"{self.run_dir}: {len(h['val_loss'])} epochs; best val_loss {h['val_loss'][best]:.4g} at epoch "
                f"{best + 1} (val SNR {h['val_snr'][best]:.2f} dB, LSD {h['val_lsd'][best]:.3f}) -> "
                f"{self.best_model_path}")


def run_experiment(settings, run_dir, callbacks=(), before_write=None):
    """Train (or resume) the run ``settings`` describe in ``run_dir``; returns a :class:`RunResult`.

    Every check that can refuse the settings (the strategy and compile
    options, the prepared set, its ratio and splits, the content network)
    runs before anything is written; then ``before_write(run_dir)`` is
    called on the writing process (the chief), which is where an entry point
    records or compares the settings it was started with. ``callbacks`` go
    to ``fit`` (e.g. a time or step budget). Sets the global random seed and
    dtype policy of the process.
    """
    from audiosr.models import check_compile_options

    strategy = make_strategy(settings.strategy)  # first: multi-worker collectives precede other TF work
    check_compile_options(strategy, settings.jit_compile, settings.steps_per_execution)
    keras.utils.set_random_seed(settings.seed)
    set_precision(settings.precision)  # before any model or content network is built
    ratio, data_dir = int(settings.ratio), settings.prepared_dir
    parse_methods(settings.lowres, ratio)  # an unknown input maker, or one that cannot make the low rate
    manifest = Manifest.load(data_dir)  # a missing, unfinished or unsuitable set stops here, or in make_dataset
    manifest.check_ratio(ratio, data_dir)
    train_data = make_dataset(data_dir, "train", ratio, settings.batch_size, shuffle=True, seed=settings.seed,
                              repeat=settings.steps_per_epoch is not None, lowres=settings.lowres)
    # Several replicas validate whole global batches only: a last, partial batch would give some replicas
    # fewer clips than others, or none (a NaN mean, or workers out of step in the collectives).
    val_data = make_dataset(data_dir, "val", ratio, settings.batch_size, shuffle=False, deterministic=True,
                            drop_remainder=strategy.num_replicas_in_sync > 1, lowres=settings.lowres)
    content_network = None
    if settings.content:  # an unavailable network stops here too
        from audiosr.features import load_content_network

        with strategy.scope():
            content_network = load_content_network(settings.content_network)
    if is_chief(strategy) and before_write is not None:
        before_write(run_dir)
    LOGGER.info("run %s on %d replica(s)", run_dir, strategy.num_replicas_in_sync)
    model = build_compiled_model(settings.model, ratio, settings.preset, manifest.clip_samples,
                                 settings.learning_rate, strategy=strategy, content_network=content_network,
                                 jit_compile=settings.jit_compile, steps_per_execution=settings.steps_per_execution,
                                 **settings.model_kwargs())
    started = time.monotonic()
    history = fit_run(model, train_data, run_dir, settings.epochs, val_data=val_data,
                      steps_per_epoch=settings.steps_per_epoch, validation_steps=settings.validation_steps,
                      callbacks=callbacks, verbose=settings.verbose)
    steps = int(keras.ops.convert_to_numpy(model.optimizer.iterations))  # a MirroredVariable under a strategy
    return RunResult(os.fspath(run_dir), history, steps, time.monotonic() - started)
