"""Outputs that appear whole or not at all: write under a temporary name, then rename.

Every file the package writes (shards, manifests, models, checkpoints,
tables, figures, audio) goes through :func:`atomic_path`, so an interrupted
run never leaves a half-written file where a good one was or will be. Text,
JSON and ``save(path)``-style writers have their helpers here, and whole
folders (a SavedModel) :func:`atomic_directory`; format writers (TFRecord
shards, sound files, PNGs) wrap :func:`atomic_path`.

A temporary file is named ``.partial-<pid>-<random>-<target name>``: the
process that writes it and the file it becomes. A process killed with
SIGKILL cannot remove its temporary file, so :func:`remove_stale_partials`
removes those whose process is gone, and never those of a run still going.
"""

import contextlib
import json
import os
import re
import shutil
import tempfile

PARTIAL_PREFIX = ".partial-"
# tempfile's random part is 8 characters of [a-z0-9_].
_PARTIAL_NAME = re.compile(re.escape(PARTIAL_PREFIX) + r"(\d+)-[a-z0-9_]{8}-(.+)$")
_MAX_TARGET_CHARS = 200  # keeps temporary names under the file systems' 255-byte limit


def _target_tail(name):
    return name[-_MAX_TARGET_CHARS:]


@contextlib.contextmanager
def _errors_name(path, tmp=None):
    """Re-raise an OSError about ``tmp`` (or, with ``tmp=None``, any OSError) as one about ``path``.

    The temporary name means nothing to the user; the file they asked for does.
    """
    try:
        yield
    except OSError as error:
        if error.errno is None or (tmp is not None and tmp not in (error.filename, error.filename2)):
            raise
        raise OSError(error.errno, error.strerror, path) from error


@contextlib.contextmanager
def atomic_path(path, suffix=None):
    """Yield a temporary path beside ``path``; when the block succeeds it replaces ``path``.

    An exception deletes the temporary file and leaves ``path`` as it was.
    The temporary name ends with ``path``'s name, so writers that choose a
    format from the extension see the right one; ``suffix`` is appended when
    ``path``'s name does not end with it. An OSError from making the folder,
    the temporary file or the rename names ``path``, not the temporary file.
    """
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    tail = "-" + _target_tail(name) + (suffix if suffix and not name.endswith(suffix) else "")
    with _errors_name(path):
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f"{PARTIAL_PREFIX}{os.getpid()}-", suffix=tail, dir=folder)
        os.close(fd)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would make outputs private to their writer
    try:
        with _errors_name(path, tmp):
            yield tmp
            os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


@contextlib.contextmanager
def atomic_directory(path):
    """Yield a temporary folder beside ``path``; when the block succeeds it replaces folder ``path``.

    For writers of whole folders (a SavedModel). An existing ``path`` is
    moved aside, the new folder renamed into place, then the old one
    deleted; an exception deletes the temporary folder and leaves ``path``.
    """
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    with _errors_name(path):
        os.makedirs(folder, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=f"{PARTIAL_PREFIX}{os.getpid()}-", suffix="-" + _target_tail(name), dir=folder)
        os.chmod(tmp, 0o755)  # mkdtemp's 0700 would make the folder private to its writer
    try:
        with _errors_name(path, tmp):
            yield tmp
            old = None
            if os.path.exists(path):
                old = tempfile.mkdtemp(prefix=f"{PARTIAL_PREFIX}{os.getpid()}-", suffix="-" + _target_tail(name),
                                       dir=folder)
                os.replace(path, old)  # a folder may be renamed onto an empty one
            os.replace(tmp, path)
            if old is not None:
                shutil.rmtree(old)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp)


def write_text_atomic(path, text):
    """Write ``text`` (UTF-8, newlines as given) to ``path`` atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def write_json_atomic(path, content):
    """Write ``content`` as indented JSON to ``path`` atomically."""
    write_text_atomic(path, json.dumps(content, indent=1))


def save_atomic(save, path):
    """Call ``save(tmp)`` (e.g. ``model.save``) for a temporary name, then rename it to ``path``."""
    with atomic_path(path) as tmp:
        save(tmp)


def _process_running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale_partials(folder, target=None):
    """Delete the temporary files in ``folder`` whose writing process no longer runs; returns their paths.

    ``target`` (a file name) limits this to the temporary files of that
    output. Temporary files of live processes -- a concurrent run writing
    to the same folder -- are kept, and so are files not named by
    :func:`atomic_path`. Processes are looked up on this machine: a folder
    written by two machines at once is not supported.
    """
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        return []
    removed = []
    for entry in os.scandir(folder):
        match = _PARTIAL_NAME.match(entry.name)
        if match is None or (target is not None and not match.group(2).startswith(_target_tail(target))):
            continue
        if not _process_running(int(match.group(1))):
            with contextlib.suppress(FileNotFoundError):  # another run may have removed it first
                if entry.is_dir(follow_symlinks=False):  # an atomic_directory's
                    shutil.rmtree(entry.path)
                else:
                    os.remove(entry.path)
                removed.append(entry.path)
    return removed
