"""Keras callbacks for training runs: stop on NaN, listen to a clip, respect a time or step budget.

They take plain arguments (folders, arrays, seconds), so any ``model.fit``
can use them; :mod:`audiosr.train` wires them into a run.
"""

import math
import time

import keras
import numpy as np

from audiosr.lowres import SAMPLE_RATE


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or infinite loss term; nothing was saved for that epoch."""


def _non_finite_terms(logs):
    bad = {}
    for name, value in (logs or {}).items():
        value = float(np.asarray(value))
        if not math.isfinite(value):
            bad[name] = value
    return bad


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Raise :class:`NonFiniteLossError` as soon as any logged term is NaN or infinite.

    Keras' TerminateOnNaN only sets ``stop_training``, after which the epoch
    still ends and checkpoint callbacks would save the broken weights; raising
    aborts ``fit`` before any of them runs. Place it first in the callback list.
    """

    def __init__(self):
        super().__init__()
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def _check(self, logs, where):
        bad = _non_finite_terms(logs)
        if bad:
            terms = ", ".join(f"{name}={value}" for name, value in sorted(bad.items()))
            raise NonFiniteLossError(
                f"training stopped: non-finite loss ({terms}) at {where}. No checkpoint was written for "
                "this epoch; the last good one is kept. Try a lower learning rate or check the data."
            )

    def on_train_batch_end(self, batch, logs=None):
        self._check(logs, f"epoch {self._epoch + 1}, batch {batch + 1}")

    def on_epoch_end(self, epoch, logs=None):
        self._check(logs, f"the end of epoch {epoch + 1}")


class TimeBudget(keras.callbacks.Callback):
    """Stop training (cleanly, after the current batch) once ``seconds`` have passed since it began."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds = float(seconds)
        self._start = None
        self.exhausted = False

    def on_train_begin(self, logs=None):
        self._start = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        if time.monotonic() - self._start >= self.seconds:
            self.exhausted = True
            self.model.stop_training = True


class StepBudget(keras.callbacks.Callback):
    """Stop training after ``steps`` batches of this ``fit``: a budget that, unlike time, does not
    depend on what else the machine runs."""

    def __init__(self, steps):
        super().__init__()
        self.steps = int(steps)
        self._done = 0

    def on_train_batch_end(self, batch, logs=None):
        self._done += 1
        if self._done >= self.steps:
            self.model.stop_training = True


class AudioSampleLogger(keras.callbacks.Callback):
    """Each epoch, write the model's output for one fixed clip to TensorBoard.

    Logs the prediction as audio and a spectrogram image comparing spline
    input, prediction and high-res target, so a listener can follow what the
    network learns (and hear artefacts that SNR hides). The input and target
    are logged once, at the first epoch of each ``fit``.
    """

    def __init__(self, log_dir, spline_input, high_res, sample_rate=SAMPLE_RATE, name="validation_clip"):
        super().__init__()
        self.log_dir = str(log_dir)
        self.spline_input = np.asarray(spline_input, dtype=np.float32).reshape(-1)
        self.high_res = np.asarray(high_res, dtype=np.float32).reshape(-1)
        if self.spline_input.shape != self.high_res.shape:
            raise ValueError(f"clip lengths differ: {self.spline_input.shape} vs {self.high_res.shape}")
        self.sample_rate = int(sample_rate)
        self.name = name
        self._writer = None
        self._logged_references = False

    def _audio(self, tag, signal, step):
        import tensorflow as tf

        clip = np.clip(signal, -1.0, 1.0)[None, :, None]
        tf.summary.audio(f"{self.name}/{tag}", clip, self.sample_rate, step=step, encoding="wav")

    def on_train_begin(self, logs=None):
        import tensorflow as tf

        self._writer = tf.summary.create_file_writer(self.log_dir)

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf

        from audiosr.plots import figure_to_array, spectrogram_figure

        step = epoch  # Keras' TensorBoard callback counts epochs from 0 too
        prediction = keras.ops.convert_to_numpy(self.model(self.spline_input[None, :, None], training=False))[0, :, 0]
        figure = spectrogram_figure(
            {"spline input": self.spline_input, "prediction": prediction, "high-res target": self.high_res},
            self.sample_rate, title=f"epoch {epoch + 1}",
        )
        with self._writer.as_default():
            if not self._logged_references:
                self._audio("spline_input", self.spline_input, step)
                self._audio("high_res", self.high_res, step)
                self._logged_references = True
            self._audio("prediction", prediction, step)
            tf.summary.image(f"{self.name}/spectrograms", figure_to_array(figure)[None], step=step)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
