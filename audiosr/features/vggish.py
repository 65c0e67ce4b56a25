"""VGGish (pre-trained on AudioSet, from TF-Hub) as a frozen Keras 3 layer: the study's content network.

``hub.KerasLayer`` is a Keras 2 (tf_keras) layer and fails inside Keras 3
models, so the SavedModel is loaded with ``tensorflow_hub.load`` and its
callable wrapped in :class:`VGGishFeatures`.

VGGish's TF-Hub signature takes ONE 1-D float32 waveform at 16 kHz and
returns one 128-d embedding per full 0.96 s patch (96 log-mel frames of
10 ms); shorter audio yields no embedding at all. The choice made here:
each clip of a batch is zero-padded to a whole number of patches (at least
one: a 0.5 s training clip fills about half of its patch) and the padded
clips are joined into one waveform, so a batch costs one call of the model,
and every patch sees one clip only (see :func:`clips_to_stream`). The
result is reshaped to (batch, patches per clip, 128).

The published module exposes only the embeddings, not VGGish's inner
feature maps; the one earlier representation that can be had exactly is
its input, the log-mel spectrogram, which :func:`log_mel_spectrogram`
computes with VGGish's own front end (select it with ``outputs``).
"""

import math
import os

import keras
import tensorflow as tf

from audiosr.features.common import ContentNetworkError, FeatureStack

# The handle the study used; tfhub.dev now redirects to Kaggle, whose address is KAGGLE_HANDLE.
VGGISH_HANDLE = "https://tfhub.dev/google/vggish/1"
KAGGLE_HANDLE = "https://www.kaggle.com/models/google/vggish/TensorFlow2/vggish/1"

# VGGish's front end (tensorflow/models research/audioset/vggish/vggish_params.py).
SAMPLE_RATE = 16000
STFT_WINDOW = 400  # 25 ms
STFT_HOP = 160  # 10 ms
FFT_LENGTH = 512
MEL_BANDS = 64
MEL_MIN_HZ = 125.0
MEL_MAX_HZ = 7500.0
LOG_OFFSET = 0.01
PATCH_FRAMES = 96  # 0.96 s, patches do not overlap
PATCH_SAMPLES = PATCH_FRAMES * STFT_HOP  # 15360: one patch's hop in samples
# A patch's last STFT window reaches this far past the patch hop.
WINDOW_OVERHANG = STFT_WINDOW - STFT_HOP  # 240
MIN_SAMPLES = PATCH_SAMPLES + WINDOW_OVERHANG  # 15600: the shortest waveform that gives one embedding

HOW_TO_GET_VGGISH = (
    "VGGish cannot be downloaded from a machine without internet. Either (1) on a machine with internet run "
    "`TFHUB_CACHE_DIR=/some/folder python -c \"import tensorflow_hub as hub; hub.load('{default}')\"`, copy "
    "/some/folder here and set TFHUB_CACHE_DIR to it before training; or (2) download the SavedModel from "
    "{kaggle} (or {default}?tf-hub-format=compressed), unpack it and pass its folder with "
    "--content_network=/path/to/vggish; or (3) train a feature network on your data here "
    "(experiments/train_features.py) and pass --content_network=/path/to/features.keras."
).format(default=VGGISH_HANDLE, kaggle=KAGGLE_HANDLE)


def log_mel_spectrogram(waveform):
    """VGGish's log-mel front end: 1-D 16 kHz waveform -> (frames, 64) float32.

    Frames of 25 ms every 10 ms (periodic Hann, no padding), 64 mel bands
    from 125 to 7500 Hz, ``log(mel + 0.01)``; the same ops as VGGish's
    TF-Hub export, so it is differentiable and matches its input.
    """
    magnitude = tf.abs(tf.signal.stft(waveform, STFT_WINDOW, STFT_HOP, fft_length=FFT_LENGTH))
    mel_matrix = tf.signal.linear_to_mel_weight_matrix(
        MEL_BANDS, FFT_LENGTH // 2 + 1, SAMPLE_RATE, MEL_MIN_HZ, MEL_MAX_HZ
    )
    return tf.math.log(tf.matmul(magnitude, mel_matrix) + LOG_OFFSET)


def log_mel_patches(waveform):
    """(patches, 96, 64): the input examples VGGish embeds, only whole patches."""
    return tf.signal.frame(log_mel_spectrogram(waveform), PATCH_FRAMES, PATCH_FRAMES, axis=-2)


def patches_per_clip(num_samples):
    """Embeddings per clip of ``num_samples`` after :func:`clips_to_stream`'s padding (at least 1)."""
    return max(1, math.ceil((num_samples + WINDOW_OVERHANG) / PATCH_SAMPLES))


def clips_to_stream(audio):
    """Join a (batch, T, 1) batch into the one 1-D waveform VGGish takes.

    Each clip becomes ``WINDOW_OVERHANG`` zeros, the clip, then zeros up to
    ``P * 15360`` samples (``P = patches_per_clip(T)``); the stream ends
    with ``WINDOW_OVERHANG`` more zeros. Patch ``j`` spans samples
    ``[15360 j, 15360 (j + 1) + 240)``, so patches ``kP .. kP + P - 1``
    cover clip ``k`` and, beyond it, only zeros: no patch mixes two clips,
    and the stream gives exactly ``batch * P`` embeddings.

    Returns ``(stream, P)``.
    """
    audio = tf.convert_to_tensor(audio, dtype=tf.float32)
    num_samples = audio.shape[1]
    if num_samples is None:
        raise ValueError("VGGishFeatures needs clips of a fixed length (the time axis is None)")
    per_clip = patches_per_clip(num_samples)
    clips = tf.reshape(audio, (-1, num_samples))
    padded = tf.pad(clips, [[0, 0], [WINDOW_OVERHANG, per_clip * PATCH_SAMPLES - num_samples - WINDOW_OVERHANG]])
    stream = tf.concat([tf.reshape(padded, [-1]), tf.zeros([WINDOW_OVERHANG])], axis=0)
    return stream, per_clip


def load_hub_model(handle):
    """``tensorflow_hub.load(handle)``, checked to have VGGish's signature.

    ``handle`` is a TF-Hub / Kaggle address (read from TFHUB_CACHE_DIR when
    cached there) or a local SavedModel folder. Any failure raises
    :class:`ContentNetworkError` saying how to get the model.
    """
    import tensorflow_hub as hub

    try:
        model = hub.load(handle)
    except Exception as err:  # hub raises URLError, OSError, ValueError, tf.errors.* ... depending on the cause
        raise ContentNetworkError(
            f"could not load the content network {handle!r} with tensorflow_hub.load "
            f"({type(err).__name__}: {err}). {HOW_TO_GET_VGGISH}"
        ) from err
    try:
        probe = model(tf.zeros([MIN_SAMPLES], tf.float32))
    except Exception as err:
        raise ContentNetworkError(
            f"{handle!r} loaded but cannot be called like VGGish (one 1-D float32 waveform at 16 kHz): "
            f"{type(err).__name__}: {err}. {HOW_TO_GET_VGGISH}"
        ) from err
    if not isinstance(probe, tf.Tensor) or probe.shape.rank != 2 or probe.shape[0] != 1:
        raise ContentNetworkError(
            f"{handle!r} does not have VGGish's signature: {MIN_SAMPLES} samples (one 0.96 s patch) should give "
            f"one embedding of shape [1, D], got {probe!r:.200}. {HOW_TO_GET_VGGISH}"
        )
    return model


@keras.saving.register_keras_serializable(package="audiosr")
class VGGishFeatures(keras.layers.Layer):
    """Frozen VGGish: (batch, T, 1) 16 kHz audio -> (batch, P, 128) embeddings.

    ``outputs`` chooses the features: ``("embedding",)`` (the study's
    content loss), ``("log_mel",)`` (VGGish's input, (batch, 96 P, 64)) or
    both, stacked by :class:`~audiosr.features.common.FeatureStack` so each
    counts equally in the content loss. Gradients flow to the input.
    """

    OUTPUTS = ("embedding", "log_mel")

    def __init__(self, handle=VGGISH_HANDLE, outputs=("embedding",), **kwargs):
        kwargs["trainable"] = False
        kwargs.setdefault("dtype", "float32")  # the SavedModel takes float32, under any mixed precision policy
        super().__init__(**kwargs)
        self.handle = os.path.expanduser(os.fspath(handle))
        self.outputs = tuple(outputs)
        unknown = [name for name in self.outputs if name not in self.OUTPUTS]
        if not self.outputs or unknown:
            raise ValueError(f"VGGishFeatures outputs must be a non-empty subset of {self.OUTPUTS}, got {outputs}")
        self.hub_model = load_hub_model(self.handle) if "embedding" in self.outputs else None
        self.stack = FeatureStack(name="stack") if len(self.outputs) > 1 else None

    def call(self, audio):
        stream, per_clip = clips_to_stream(audio)
        maps = []
        for name in self.outputs:
            if name == "embedding":
                embeddings = self.hub_model(stream)
                maps.append(tf.reshape(embeddings, (-1, per_clip, embeddings.shape[-1])))
            else:
                maps.append(tf.reshape(log_mel_spectrogram(stream), (-1, per_clip * PATCH_FRAMES, MEL_BANDS)))
        return self.stack(maps) if self.stack is not None else maps[0]

    def get_config(self):
        return {**super().get_config(), "handle": self.handle, "outputs": list(self.outputs)}
