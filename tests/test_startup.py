"""audiosr.startup: the programs' TensorFlow import is quiet, freezes what it built, and keeps the collector's state."""

import json
import subprocess
import sys

import pytest

PROBE = """
import gc, json, sys
{before}
from audiosr.startup import import_tensorflow
import_tensorflow()
frozen = gc.get_freeze_count()
import_tensorflow()
print(json.dumps({{"enabled": gc.isenabled(), "frozen": frozen, "frozen_again": gc.get_freeze_count(),
                  "loaded": sorted({{"tensorflow", "keras"}} & set(sys.modules))}}))
"""


@pytest.mark.parametrize("collector", ["on", "off"])
def test_import_is_quiet_frozen_and_leaves_the_collector_as_it_was(collector):
    before = "gc.disable()" if collector == "off" else ""
    done = subprocess.run([sys.executable, "-c", PROBE.format(before=before)], capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin"})  # TF_CPP_MIN_LOG_LEVEL unset: chatter on
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # TensorFlow's C++ start-up lines were hidden
    state = json.loads(done.stdout)
    assert state["loaded"] == ["keras", "tensorflow"]
    assert state["enabled"] is (collector == "on")
    assert state["frozen"] > 100_000  # TensorFlow's and Keras' objects, out of the collector's rounds
    assert state["frozen_again"] == state["frozen"]  # a second call does nothing


def test_a_failed_import_shows_what_tensorflow_said(tmp_path):
    (tmp_path / "tensorflow.py").write_text("import os\nos.write(2, b'chatter before the failure\\n')\n"
                                            "raise ImportError('no TensorFlow here')\n")
    code = "from audiosr.startup import import_tensorflow; import_tensorflow()"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path)})
    assert done.returncode == 1
    assert "chatter before the failure" in done.stderr and "no TensorFlow here" in done.stderr
