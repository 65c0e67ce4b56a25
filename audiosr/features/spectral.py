"""A content network the package trains itself: an autoencoder of high-res log spectra.

VGGish cannot be downloaded everywhere, was trained on YouTube sound events
rather than on the data being upsampled, and looks at 64 mel bands from 125
to 7500 Hz, so the band an r = 2 model must restore (4-8 kHz) is a fifth of
its input and 7.5-8 kHz none of it. This network is the alternative the
study's discussion suggests, trained on the training data itself:

- input: 16 kHz audio -> log10 power spectrogram on a LINEAR frequency axis
  (512-point STFT, hop 128, 257 bins), so the upper half of the band is half
  of the input, then standardised per frequency bin (a Normalization layer
  adapted on the training clips), so a quiet but present high band weighs as
  much as the loud low band;
- an autoencoder over time (frequency bins as channels, 1-D convolutions of
  5 frames, about 40 ms): encoder 257 -> 128 -> 64 -> a 16-channel code,
  decoder back to the 257 standardised bins, trained with mean squared
  error on high-res clips only. No labels are needed, so any folder of audio
  will do, and squeezing each frame's spectrum through 16 numbers makes the
  encoder learn the structure of real spectra (harmonics, formants, noise
  bands) rather than an identity.

For the content loss only the encoder is used (:func:`feature_extractor`):
its three feature maps, stacked so that each counts equally. A
spline-upsampled input, whose upper band is empty, lands far from its
target there; a generator that restores a plausible upper band comes close.
About 0.4 M parameters: an epoch over 2,000 clips of 0.5 s takes seconds.

Scale: on speech, the content loss between a spline input and its target is
about 1.4-2.2 while their L2 loss is 0.0004-0.002, so ``content_weight``
near 1e-3 makes the two terms comparable (1.0 lets the content term rule).
"""

import os

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from audiosr.features.common import ContentNetworkError, FeatureStack

FEATURE_LAYERS = ("encoder0", "encoder1", "code")
SPECTRUM_LAYER = "spectrum"
HOW_TO_TRAIN = (
    "Train one with `python experiments/train_features.py --data_dir=<prepared data> --output=<file>.keras` "
    "(without --data_dir it trains on the embedded synthetic clips), or with "
    "audiosr.features.train_feature_network in your own code."
)


@keras.saving.register_keras_serializable(package="audiosr")
class LogSpectrogram(keras.layers.Layer):
    """(batch, T, 1) audio -> (batch, 1 + T // hop, n_fft // 2 + 1) log10 power.

    Centred Hann frames (as :func:`audiosr.metrics.lsd_per_example`);
    ``floor`` (in power units of a 512-point frame: about a -70 dBFS sine)
    keeps the log finite and stops inaudible differences from dominating.
    """

    def __init__(self, n_fft=512, hop_length=128, floor=1e-3, **kwargs):
        super().__init__(**kwargs)
        self.n_fft, self.hop_length, self.floor = int(n_fft), int(hop_length), float(floor)

    def call(self, audio):
        signals = ops.reshape(audio, (ops.shape(audio)[0], -1))
        real, imag = ops.stft(signals, self.n_fft, self.hop_length, self.n_fft, window="hann", center=True)
        return ops.log10(ops.square(real) + ops.square(imag) + self.floor)

    def compute_output_shape(self, input_shape):
        batch, length = input_shape[0], input_shape[1]
        frames = None if length is None else 1 + length // self.hop_length
        return (batch, frames, self.n_fft // 2 + 1)

    def get_config(self):
        return {**super().get_config(), "n_fft": self.n_fft, "hop_length": self.hop_length, "floor": self.floor}


def build_feature_network(n_fft=512, hop_length=128, widths=(128, 64), code_channels=16, kernel_size=5):
    """The untrained spectral autoencoder: (batch, T, 1) audio -> (batch, frames, bins) standardised log spectrum.

    Layers named ``encoder<i>`` and ``code`` are the feature maps
    :func:`feature_extractor` exposes; ``spectrum`` is the training target.
    """
    inputs = keras.Input((None, 1), name="audio")
    spectrum = LogSpectrogram(n_fft, hop_length, name="log_spectrogram")(inputs)
    spectrum = keras.layers.Normalization(axis=-1, name=SPECTRUM_LAYER)(spectrum)
    x = spectrum
    for level, width in enumerate(widths):
        x = keras.layers.Conv1D(width, kernel_size, padding="same", activation="elu", name=f"encoder{level}")(x)
    x = keras.layers.Conv1D(code_channels, kernel_size, padding="same", name="code")(x)
    for level, width in reversed(list(enumerate(widths))):
        x = keras.layers.Conv1D(width, kernel_size, padding="same", activation="elu", name=f"decoder{level}")(x)
    outputs = keras.layers.Conv1D(n_fft // 2 + 1, kernel_size, padding="same", name="reconstruction")(x)
    return keras.Model(inputs, outputs, name="spectral_autoencoder")


def _audio_batches(clips, batch_size, shuffle, seed):
    """Batches of (batch, T, 1) float32 high-res audio from arrays or a tf.data dataset.

    A dataset may yield audio batches or ``(spline_input, high_res)`` pairs
    (as :func:`audiosr.data.pipeline.make_dataset` does): only the high-res half is used.
    """
    if isinstance(clips, tf.data.Dataset):
        if isinstance(clips.element_spec, tuple):
            clips = clips.map(lambda *pair: pair[-1])
        return clips.map(lambda audio: tf.reshape(tf.cast(audio, tf.float32), (tf.shape(audio)[0], -1, 1)))
    clips = np.asarray(clips, dtype=np.float32)
    if clips.ndim == 2:
        clips = clips[..., None]
    if clips.ndim != 3 or clips.shape[-1] != 1:
        raise ValueError(f"expected clips of shape (count, samples) or (count, samples, 1), got {clips.shape}")
    dataset = tf.data.Dataset.from_tensor_slices(clips)
    if shuffle:
        dataset = dataset.shuffle(len(clips), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size)


def train_feature_network(clips, epochs=10, batch_size=32, learning_rate=1e-3, validation_clips=None,
                          steps_per_epoch=None, seed=0, verbose="auto", callbacks=None, adapt_batches=100,
                          **network_kwargs):
    """Build and train the spectral autoencoder on high-res 16 kHz clips; returns the trained model.

    ``clips`` / ``validation_clips``: arrays (count, samples[, 1]) or tf.data
    datasets of audio batches or (spline, high_res) batch pairs. The
    per-bin standardisation is fitted on (up to ``adapt_batches`` batches
    of) the training clips first. ``seed`` fixes weights and data order.
    ``batch_size`` batches arrays (datasets come batched). ``network_kwargs``
    go to :func:`build_feature_network`.
    """
    keras.utils.set_random_seed(seed)
    model = build_feature_network(**network_kwargs)
    train = _audio_batches(clips, batch_size, shuffle=True, seed=seed)
    log_spectrogram = model.get_layer("log_spectrogram")
    model.get_layer(SPECTRUM_LAYER).adapt(train.take(adapt_batches).map(log_spectrogram))
    spectrum = keras.Model(model.input, model.get_layer(SPECTRUM_LAYER).output)

    def with_target(batches):
        return batches.map(lambda audio: (audio, spectrum(audio))).prefetch(tf.data.AUTOTUNE)

    val = None if validation_clips is None else with_target(_audio_batches(validation_clips, batch_size, False, seed))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
    model.fit(with_target(train), validation_data=val, epochs=epochs, steps_per_epoch=steps_per_epoch,
              shuffle=False, verbose=verbose, callbacks=callbacks)  # the dataset shuffles itself
    return model


def save_feature_network(model, path):
    """Write ``model`` to ``path`` (.keras) atomically: a temporary file, then a rename."""
    from audiosr.atomic import save_atomic

    if not os.fspath(path).endswith(".keras"):
        raise ValueError(f"feature networks are saved as .keras files, got {path}")
    save_atomic(model.save, path)


def load_feature_network(path):
    """The trained network saved at ``path``, or :class:`ContentNetworkError` saying how to get one."""
    path = os.path.expanduser(os.fspath(path))
    if not os.path.isfile(path):
        raise ContentNetworkError(f"content network file {path} not found. {HOW_TO_TRAIN}")
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as err:  # a truncated zip, a foreign file, an unknown layer class ...
        raise ContentNetworkError(
            f"could not load the content network {path} ({type(err).__name__}: {err}). {HOW_TO_TRAIN}"
        ) from err


def feature_extractor(model, layer_names=None, name="content_features"):
    """A frozen model: (batch, T, 1) audio -> the stacked feature maps of ``model``'s ``layer_names``.

    By default the encoder of :func:`build_feature_network`'s autoencoder;
    for any other single-input audio model (a classifier, say) the output
    of its penultimate layer, never its logits.
    """
    if len(model.inputs) != 1 or len(model.inputs[0].shape) != 3 or model.inputs[0].shape[-1] != 1:
        raise ContentNetworkError(
            f"content network {model.name!r} must take one (batch, time, 1) audio input, "
            f"it takes {[tuple(t.shape) for t in model.inputs]}. {HOW_TO_TRAIN}"
        )
    if layer_names is None:
        names = {layer.name for layer in model.layers}
        layer_names = FEATURE_LAYERS if set(FEATURE_LAYERS) <= names else (model.layers[-2].name,)
    try:
        maps = [model.get_layer(layer_name).output for layer_name in layer_names]
    except ValueError as err:
        raise ContentNetworkError(f"content network {model.name!r}: {err}") from err
    extractor = keras.Model(model.input, FeatureStack(name="stack")(maps), name=name)
    extractor.trainable = False
    return extractor
