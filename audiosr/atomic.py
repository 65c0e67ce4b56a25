"""Outputs that appear whole or not at all: write under a temporary name, then rename.

Every file the package writes (shards, manifests, models, checkpoints,
tables, figures) goes through :func:`atomic_path`, so an interrupted run
never leaves a half-written file where a good one was or will be.
"""

import contextlib
import os
import tempfile

PARTIAL_PREFIX = ".partial-"


@contextlib.contextmanager
def atomic_path(path, suffix=None):
    """Yield a temporary path beside ``path``; when the block succeeds it replaces ``path``.

    An exception deletes the temporary file and leaves ``path`` as it was.
    ``suffix`` (default: ``path``'s extension) is for writers that choose a
    format from the file name. Temporary names start with ``.partial-``.
    """
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=PARTIAL_PREFIX, suffix=os.path.splitext(name)[1] if suffix is None else suffix,
                               dir=folder)
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp's 0600 would make outputs private to their writer
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
