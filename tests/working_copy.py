"""A throw-away working copy of the repository in which the README's commands run as a user types them.

The copy holds the project's files (not data/, runs/, results/, models/ or
.venv) and a ``.venv`` that is the environment running the tests: its
entries are links to it and its ``.installed`` stamp is fresh, so ``make``
targets run without creating or reinstalling anything. Commands run with
bash in the copy, with the copy's ``audiosr`` first on the path.
"""

import os
import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
# Outputs and local state at the top of a checkout; never copied.
TOP_LEVEL_OUTPUTS = {".git", ".venv", "data", "runs", "results", "models", "build", "logs"}
ANYWHERE = {"__pycache__", ".pytest_cache"}


def _ignore(folder, names):
    top = pathlib.Path(folder).resolve() == ROOT
    return {n for n in names if n in ANYWHERE or n.endswith(".egg-info") or (top and n in TOP_LEVEL_OUTPUTS)}


def make_working_copy(dest):
    """Copy the repository to ``dest`` with a ready ``.venv``; returns ``dest`` as a Path."""
    if sys.prefix == sys.base_prefix:
        raise RuntimeError("run the tests from the project's virtualenv (make test): make needs a .venv")
    dest = pathlib.Path(dest)
    shutil.copytree(ROOT, dest, ignore=_ignore, symlinks=True)
    venv = dest / ".venv"
    venv.mkdir()
    for entry in pathlib.Path(sys.prefix).iterdir():
        if entry.name != ".installed":
            (venv / entry.name).symlink_to(entry)
    (venv / ".installed").touch()
    up_to_date = subprocess.run(["make", "-q", ".venv/.installed"], cwd=dest, capture_output=True)
    if up_to_date.returncode != 0:  # make would run pip: never from a test
        raise RuntimeError(f"make in {dest} would reinstall .venv: {up_to_date.stderr.decode()[-500:]}")
    return dest


def environment(copy, **variables):
    """os.environ for commands in ``copy``: its audiosr and .venv first, no outer make's flags, plus ``variables``."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    env.update(PYTHONPATH=str(copy), PATH=f"{copy / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}",
               TF_CPP_MIN_LOG_LEVEL="2", **variables)
    return env


def run(command, copy, env, timeout=300):
    """Run one shell command line in ``copy``; fails the test with the command's output tail if it fails."""
    result = subprocess.run(["bash", "-c", command], cwd=copy, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, (f"`{command}` exited with {result.returncode}:\n"
                                    f"{result.stdout[-1500:]}\n{result.stderr[-3000:]}")
    return result
