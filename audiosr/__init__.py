"""audiosr: deep-learning audio super-resolution with Keras 3.

Submodules are imported on demand (``import audiosr.models``) so that light
tools such as the metrics do not pay for TensorFlow start-up.
"""

__version__ = "0.1.0"
