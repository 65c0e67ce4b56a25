"""A trained model as files that run without this package: a TensorFlow SavedModel and a TFLite model.

Both hold the generator alone, as one function (signature
``serving_default``): ``spline_input``, float32 (batch, T, 1), the low-rate
signal interpolated to the output rate with a cubic spline (any T; it is
zero-padded to the model's length multiple inside and cut back), to
``output``, float32 (batch, T, 1) at the output rate. A second signature,
``metadata``, takes nothing and returns ``ratio``, ``input_rate``,
``output_rate`` and ``length_multiple``. The spline stays outside: it is a
solve over the whole signal (not-a-knot ends) that TensorFlow has no op for,
and scipy makes it in three lines (docs/deployment.md).

The SavedModel goes through Keras' ``ExportArchive``, which saves the
weights with the graph; the TFLite model is converted from it with the
builtin operator set only, so the LiteRT interpreter runs it without
TensorFlow's kernels.
"""

import os
import tempfile

FORMATS = ("saved_model", "tflite")
QUANTIZATIONS = ("none", "float16", "dynamic")
SIGNATURE = "serving_default"
METADATA_SIGNATURE = "metadata"


def _archive(model):
    """A Keras ExportArchive of ``model``'s generator with the two signatures."""
    import keras
    import tensorflow as tf

    network = getattr(model, "generator", model)
    multiple = int(model.length_multiple)
    facts = {"ratio": int(model.ratio), "input_rate": float(model.input_rate),
             "output_rate": int(model.sample_rate), "length_multiple": multiple}

    def upsample(spline_input):
        length = tf.shape(spline_input)[1]
        # zeros by concatenation, not tf.pad: a padded tensor loses its static channel count in the
        # TFLite converter, which then cannot lower the KnownBand convolution to a builtin
        zeros = tf.zeros(tf.stack([tf.shape(spline_input)[0], (-length) % multiple, 1]))
        padded = tf.concat([spline_input, zeros], axis=1)
        return {"output": network(padded, training=False)[:, :length]}

    def metadata():
        return {name: tf.constant(value) for name, value in facts.items()}

    archive = keras.export.ExportArchive()
    archive.track(network)
    archive.add_endpoint("upsample", upsample,
                         input_signature=[tf.TensorSpec([None, None, 1], tf.float32, name="spline_input")])
    archive.add_endpoint(METADATA_SIGNATURE, metadata, input_signature=[])
    return archive


def _write_saved_model(model, folder):
    _archive(model).write_out(folder, verbose=False)


def export_saved_model(model, path):
    """Write ``model`` as a SavedModel folder at ``path`` (replaced whole, atomically)."""
    from audiosr.atomic import atomic_directory

    with atomic_directory(path) as folder:
        _write_saved_model(model, folder)
    return os.fspath(path)


def tflite_bytes(model, quantization="none"):
    """The TFLite flatbuffer of ``model``: builtin operators only.

    ``quantization``: "none" (float32), "float16" (weights stored in 16
    bits, computed in float32 on CPUs) or "dynamic" (int8 weights,
    activations quantized on the fly).
    """
    import tensorflow as tf

    if quantization not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of {QUANTIZATIONS}, got {quantization!r}")
    with tempfile.TemporaryDirectory() as folder:
        _write_saved_model(model, folder)
        converter = tf.lite.TFLiteConverter.from_saved_model(folder, signature_keys=[SIGNATURE, METADATA_SIGNATURE])
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if quantization != "none":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantization == "float16":
            converter.target_spec.supported_types = [tf.float16]
        return converter.convert()


def export_tflite(model, path, quantization="none"):
    """Write ``model`` as a ``.tflite`` file at ``path`` atomically."""
    from audiosr.atomic import atomic_path

    content = tflite_bytes(model, quantization)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        handle.write(content)
    return os.fspath(path)
