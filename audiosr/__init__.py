"""audiosr: deep-learning audio super-resolution with Keras 3.

The package follows the work: :mod:`audiosr.data` (recordings -> prepared
clip sets -> tf.data), :mod:`audiosr.models` (AudioUNet, discriminator,
UNetSR / GANSR / WGANSR) with :mod:`audiosr.features` (content-loss networks),
:mod:`audiosr.train` (a run from its settings, resumable), and
:mod:`audiosr.evaluation` with :mod:`audiosr.inference` (whole recordings,
scores, tables), over shared foundations (:mod:`audiosr.lowres`,
:mod:`audiosr.metrics`, :mod:`audiosr.baselines`, :mod:`audiosr.audio_io`,
:mod:`audiosr.atomic`, :mod:`audiosr.plots`).

Submodules are imported on demand (``import audiosr.models``) so that light
tools such as the metrics do not pay for TensorFlow start-up; the one name
defined here, :func:`upsample` (arrays in, arrays out), imports what it needs
when called.
"""

__version__ = "0.1.0"


def upsample(audio, rate, model=None, input_band=None, **options):
    """Upsample a numpy array as ``audiosr upsample`` does a file: ``audio, rate = audiosr.upsample(audio, rate)``.

    ``audio`` is mono ``(n,)`` or ``(n, channels)`` at any ``rate``; see
    :func:`audiosr.upsampling.upsample`. TensorFlow is imported on the first
    call, not by ``import audiosr``.
    """
    from audiosr.upsampling import upsample as upsample_array

    return upsample_array(audio, rate, model=model, input_band=input_band, **options)
