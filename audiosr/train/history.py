"""A training run's ``history.csv``: one row per epoch, one column per training and validation term.

Keras' CSVLogger writes it during training; the resumption of a run, the
validation-loss figure and anyone's notebook read it with :func:`read_history`.
"""

import csv
import os


def read_history(path):
    """A Keras CSVLogger file as {metric: [value per epoch]} (epochs in file order)."""
    with open(os.fspath(path), newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    history = {}
    for row in rows:
        for key, value in row.items():
            if key != "epoch" and value not in (None, ""):
                history.setdefault(key, []).append(float(value))
    return history
