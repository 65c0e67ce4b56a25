"""Feature networks for the content loss of the "-C" models.

Two kinds, both frozen Keras layers mapping (batch, T, 1) 16 kHz audio to a
feature tensor, differentiable with respect to the audio:

- :class:`VGGishFeatures`: VGGish from TF-Hub, the study's choice;
- the spectral autoencoder this package trains on the training data
  (:func:`train_feature_network`), for where VGGish cannot be had.

Training scripts call :func:`load_content_network` at start-up; it fails
with :class:`ContentNetworkError` (saying how to get the network) before
any training happens, never falling back to training without the loss.

>>> import audiosr.models
>>> from audiosr.features import load_content_network
>>> net = load_content_network("models/features.keras")   # or "vggish", or a SavedModel folder
>>> model = audiosr.models.build_model("unet", 2, content_network=net, content_weight=1e-3)
"""

import os

from audiosr.features.common import ContentNetworkError, FeatureStack
from audiosr.features.spectral import (
    FEATURE_LAYERS,
    LogSpectrogram,
    build_feature_network,
    feature_extractor,
    load_feature_network,
    save_feature_network,
    train_feature_network,
)
from audiosr.features.vggish import KAGGLE_HANDLE, VGGISH_HANDLE, VGGishFeatures

VGGISH_ALIASES = ("vggish",)


def load_content_network(spec):
    """The frozen content network that ``spec`` names.

    - ``"vggish"``: VGGish from its official TF-Hub address (or from
      TFHUB_CACHE_DIR when cached there);
    - a path ending in ``.keras``: a network trained by
      :func:`train_feature_network` (its encoder's feature maps), or any
      Keras audio model (its penultimate layer);
    - anything else: a TF-Hub / Kaggle handle or a local SavedModel folder
      with VGGish's signature.

    Raises :class:`ContentNetworkError` with instructions when it cannot.
    """
    if spec is None or not str(spec).strip():
        raise ContentNetworkError("no content network given: pass 'vggish', a SavedModel folder or a .keras file")
    spec = os.fspath(spec).strip()
    if spec.lower() in VGGISH_ALIASES:
        return VGGishFeatures(VGGISH_HANDLE)
    if spec.endswith(".keras"):
        return feature_extractor(load_feature_network(spec))
    return VGGishFeatures(spec)


__all__ = [
    "FEATURE_LAYERS", "KAGGLE_HANDLE", "VGGISH_HANDLE", "ContentNetworkError", "FeatureStack", "LogSpectrogram",
    "VGGishFeatures", "build_feature_network", "feature_extractor", "load_content_network",
    "load_feature_network", "save_feature_network", "train_feature_network",
]
