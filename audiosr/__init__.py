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
tools such as the metrics do not pay for TensorFlow start-up.
"""

__version__ = "0.1.0"
