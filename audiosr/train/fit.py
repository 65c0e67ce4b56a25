"""Fitting a compiled model in a run folder: checkpoints that resume after a kill, logs, samples.

A run folder (named by :func:`audiosr.train.experiment.run_name` after its settings) holds::

    flags.txt            the settings it was started with (written by experiments/train.py)
    checkpoints/         state.json (with the random-seed states) + the latest epoch's weights and
                         both optimizers' states
    best.keras           the model with the lowest validation loss so far
    history.csv          one row per epoch: every training and validation term
    tensorboard/         scalars (train/, validation/), audio and spectrograms (samples/)

Killing a run at any moment and calling :func:`fit_run` again with the same
folder continues from the last finished epoch: every file is written under a
temporary name and renamed, and ``state.json`` names a weights file only
after that file is complete. The seed generators' states (dropout masks,
phase shifts, gradient-penalty mixes; Keras leaves them out of weights files)
are saved in ``state.json``, so a resumed run draws what an uninterrupted one
would have drawn. Keras' BackupAndRestore is not used because it
writes in place (a kill mid-write corrupts the only copy), builds only the
main optimizer before loading (the GAN's ``d_optimizer`` would be missing)
and forgets the best validation loss, so a resumed run could overwrite a
better ``best.keras``.

Across several worker processes (``MultiWorkerMirroredStrategy``) only the
chief writes and reads the run folder; the other workers write the same files
into scratch folders of their own, removed when training ends
(:func:`audiosr.train.distribute.write_dir`), and on resuming receive the
chief's checkpoint (``state.json`` and the weights file) over the
collective channel into their scratch folders
(:func:`audiosr.train.distribute.broadcast_from_chief`) before all load it,
so the run folder need not be shared between machines. Killing any worker
and rerunning every worker's command resumes the run.
"""

import json
import logging
import os
import pathlib
import shutil

import keras
import numpy as np

from audiosr.atomic import atomic_path, remove_stale_partials, save_atomic, write_text_atomic
from audiosr.lowres import SAMPLE_RATE
from audiosr.train.callbacks import AudioSampleLogger, StopOnNonFiniteLoss
from audiosr.train.distribute import broadcast_from_chief, is_chief, wait_for_all_workers, worker_count, write_dir
from audiosr.train.history import read_history

LOGGER = logging.getLogger("audiosr")
# The files of a run folder that others read (the layout above).
SETTINGS_NAME, BEST_MODEL_NAME, HISTORY_NAME, STATE_NAME = "flags.txt", "best.keras", "history.csv", "state.json"


def seed_states(model):
    """The model's random-seed state variables (every Keras SeedGenerator in it), in a fixed order."""
    weights = {id(weight) for weight in model.weights}
    return [variable for variable in model.variables if id(variable) not in weights]


class RunCheckpoint(keras.callbacks.Callback):
    """Saves the full training state every epoch and the best model by ``monitor``.

    Order of writes per epoch: ``epoch-NNNN.weights.h5`` (model weights, both
    optimizers' states), then ``best.keras`` if the monitored value improved,
    then ``state.json`` pointing at the new weights (epoch done, best value and
    epoch, seed-generator states), then the old weights are deleted. A
    kill between any two steps leaves a consistent state.
    """

    def __init__(self, run_dir, monitor="val_loss"):
        super().__init__()
        self.run_dir = os.fspath(run_dir)
        self.folder = os.path.join(self.run_dir, "checkpoints")
        self.best_path = os.path.join(self.run_dir, BEST_MODEL_NAME)
        self.monitor = monitor
        self.state = self.read_state(run_dir) or {"epoch": 0, "weights": None, "best": None, "best_epoch": None}

    @staticmethod
    def read_state(run_dir):
        """The saved ``state.json`` of a run folder, or None before its first epoch ends."""
        path = os.path.join(os.fspath(run_dir), "checkpoints", STATE_NAME)
        if not os.path.isfile(path):
            return None
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)

    def restore(self, model):
        """Load the last saved state into compiled ``model``; returns the number of epochs done.

        Under several workers every one must call it: the others first copy
        the chief's checkpoint into their own folders, then all load it the
        same way (loading may create variables, which under
        MultiWorkerMirroredStrategy is a collective every worker must join).
        """
        self.set_model(model)
        if worker_count(model.distribute_strategy) > 1:
            self._copy_chiefs_checkpoint(model.distribute_strategy)
        if not self.state["weights"]:
            return 0
        path = os.path.join(self.folder, self.state["weights"])
        try:
            model.load_weights(path)
        except Exception as error:  # h5py / Keras raise many types for a bad or foreign file
            raise RuntimeError(
                f"{path}: cannot resume from this checkpoint ({error}). Was the run started with another "
                "model, preset or content network? Delete the run folder to start afresh."
            ) from error
        seeds = self.state.get("seeds")
        variables = seed_states(model)
        if seeds is not None and len(seeds) == len(variables):
            for variable, value in zip(variables, seeds):
                variable.assign(np.asarray(value, dtype=variable.dtype))
        else:
            LOGGER.warning("%s: no seed states saved for this model; dropout and phase-shift draws restart",
                           self.run_dir)
        LOGGER.info("resumed %s after epoch %d", self.run_dir, self.state["epoch"])
        return int(self.state["epoch"])

    def _copy_chiefs_checkpoint(self, strategy):
        """Make this folder's checkpoint the chief's: ``state.json`` and the weights file it names."""
        def shared(name):
            path = os.path.join(self.folder, name)
            data = b""
            if is_chief(strategy) and os.path.isfile(path):
                with open(path, "rb") as handle:
                    data = handle.read()
            data = broadcast_from_chief(strategy, data)
            if data and not is_chief(strategy):
                with atomic_path(path) as tmp:
                    pathlib.Path(tmp).write_bytes(data)
            return data

        state = shared(STATE_NAME)
        if not state:
            return
        self.state = json.loads(state)
        if self.state["weights"]:
            shared(self.state["weights"])

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        os.makedirs(self.folder, exist_ok=True)
        weights = f"epoch-{epoch + 1:04d}.weights.h5"
        save_atomic(self.model.save_weights, os.path.join(self.folder, weights))
        value = logs.get(self.monitor, logs.get("loss"))
        seeds = [np.asarray(variable).tolist() for variable in seed_states(self.model)]
        state = dict(self.state, epoch=epoch + 1, weights=weights, seeds=seeds)
        if value is not None and (state["best"] is None or float(value) < state["best"]):
            save_atomic(self.model.save, self.best_path)
            state.update(best=float(value), best_epoch=epoch + 1)
        write_text_atomic(os.path.join(self.folder, STATE_NAME), json.dumps(state, indent=1))
        if self.state["weights"] and self.state["weights"] != weights:
            old = os.path.join(self.folder, self.state["weights"])
            if os.path.exists(old):
                os.remove(old)
        self.state = state


def _truncate_history(path, epochs):
    """Drop rows of epochs not covered by the checkpoint (written before a kill)."""
    if not os.path.isfile(path):
        return
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines(keepends=True)
    if epochs == 0:
        os.remove(path)
    elif len(lines) > epochs + 1:
        write_text_atomic(path, "".join(lines[:epochs + 1]))


def first_clip(dataset):
    """The first example of a batched (spline, high-res) dataset, as two 1-D arrays."""
    x, y = next(iter(dataset))
    return np.asarray(x)[0, :, 0], np.asarray(y)[0, :, 0]


def fit_run(model, train_data, run_dir, epochs, val_data=None, steps_per_epoch=None, validation_steps=None,
            sample_clip=None, sample_rate=SAMPLE_RATE, callbacks=(), verbose="auto"):
    """Train compiled ``model`` in ``run_dir`` up to ``epochs``, resuming what is there.

    ``sample_clip`` is a (spline input, high-res) pair logged to TensorBoard
    each epoch (default: the first validation example). ``validation_steps``
    scores the same first batches of ``val_data`` every epoch. Under several
    workers only the chief writes ``run_dir``; the others write a scratch
    folder removed at the end (see the module docstring). ``callbacks`` are
    run after the NaN check and before the checkpoint. Returns the run's
    whole history ({metric: [per epoch]}), earlier sessions included, on the
    chief; {} on the other workers.
    """
    strategy = model.distribute_strategy
    chief, folder = is_chief(strategy), write_dir(run_dir, strategy)
    if not chief:  # a killed worker's leftovers: this worker takes the chief's state instead
        shutil.rmtree(folder, ignore_errors=True)
    try:
        history = _fit_in(folder, model, train_data, epochs, val_data, steps_per_epoch, validation_steps,
                          sample_clip, sample_rate, callbacks, verbose)
    finally:
        if not chief:
            shutil.rmtree(folder, ignore_errors=True)
    wait_for_all_workers(strategy)
    return history if chief else {}


def _fit_in(run_dir, model, train_data, epochs, val_data, steps_per_epoch, validation_steps, sample_clip,
            sample_rate, callbacks, verbose):
    """:func:`fit_run`, writing into ``run_dir`` (the run folder, or a worker's scratch folder)."""
    history_path = os.path.join(run_dir, HISTORY_NAME)
    checkpoint = RunCheckpoint(run_dir)
    with model.distribute_strategy.scope():
        initial_epoch = checkpoint.restore(model)
    if initial_epoch >= epochs:
        LOGGER.warning("%s already finished %d of %d epochs: nothing to do", run_dir, initial_epoch, epochs)
        return read_history(history_path) if os.path.isfile(history_path) else {}

    os.makedirs(run_dir, exist_ok=True)
    for folder in (run_dir, checkpoint.folder):  # temporary files of a killed session
        remove_stale_partials(folder)
    _truncate_history(history_path, initial_epoch)
    if sample_clip is None and val_data is not None:
        sample_clip = first_clip(val_data)
    all_callbacks = [
        StopOnNonFiniteLoss(), *callbacks,
        keras.callbacks.CSVLogger(history_path, append=True),
        keras.callbacks.TensorBoard(os.path.join(run_dir, "tensorboard"), write_graph=False),
    ]
    if sample_clip is not None:
        all_callbacks.append(AudioSampleLogger(os.path.join(run_dir, "tensorboard", "samples"),
                                               *sample_clip, sample_rate=sample_rate))
    all_callbacks.append(checkpoint)
    if val_data is not None and validation_steps:
        # Keras would carry a validation iterator over from one epoch to the next,
        # scoring a different subset each time; the same batches every epoch keep
        # "best by validation loss" meaningful.
        val_data = val_data.take(validation_steps)
    model.fit(
        train_data, validation_data=val_data, epochs=epochs, initial_epoch=initial_epoch,
        steps_per_epoch=steps_per_epoch, callbacks=all_callbacks,
        verbose=verbose, shuffle=False,  # datasets shuffle themselves
    )
    return read_history(history_path)
