"""How the package's programs start TensorFlow: quietly, and without Python's garbage collector re-reading it.

Importing TensorFlow and Keras creates a few million objects that live as
long as the process. Python's cyclic garbage collector walks all of them
again and again while they are being created, and once more when the
process exits: a fifth to two fifths of a program's start-up, depending on
the CPU (``bench/bench_infer.py`` prints both ways side by side).
:func:`import_tensorflow` pauses the collector during the import and then
freezes what the import built (``gc.freeze``: objects that exist for the
whole run are left out of later collections; everything made after is
collected as usual). It is for programs (the ``audiosr`` command,
``experiments/``, ``bench/``), which call it before their other imports;
library modules import TensorFlow plainly and leave a user's process alone.
"""

import gc
import os
import sys
import tempfile


def import_tensorflow():
    """Import TensorFlow and Keras with the collector paused and their start-up chatter hidden.

    The chatter (written to fd 2 by TensorFlow's C++ side) is replayed if
    the import fails, so real errors stay visible. A second call does nothing.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    collecting = gc.isenabled()
    gc.disable()
    with tempfile.TemporaryFile() as log:
        os.dup2(log.fileno(), 2)
        try:
            import keras  # noqa: F401 (imported here to be frozen with TensorFlow)
            import tensorflow as tf

            tf.config.list_physical_devices()
        except BaseException:
            os.dup2(saved, 2)
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            gc.freeze()
            if collecting:
                gc.enable()
