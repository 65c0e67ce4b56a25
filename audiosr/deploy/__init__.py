"""The deployment wing: a trained model outside this package and in real time.

- :mod:`~audiosr.deploy.export`: SavedModel and TFLite files that plain TensorFlow / LiteRT run;
- :mod:`~audiosr.deploy.streaming`: 16-bit PCM in, upsampled PCM out, block by block with a fixed latency.

Both build on :mod:`audiosr.inference` (the model file, its windows and its spline).
"""
