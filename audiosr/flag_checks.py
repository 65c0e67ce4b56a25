"""Checks on absl flags that every entry point (experiments/, data_prep/) shares; the library reads no flags.

absl's float flags accept ``nan`` and ``inf`` (and its bounds let ``nan``
through, every comparison with it being false), which then surface as a
traceback deep in the work, or as a NaN loss minutes into training.
"""

import math

from absl import flags


def require_finite_floats(flag_values=flags.FLAGS):
    """Make every float flag defined so far in ``flag_values`` refuse ``nan`` and ``inf`` when parsed.

    Call it after the flags are defined and before ``app.run``: a bad value
    then stops the app with absl's one-line flag error, naming the flag.
    """
    for name in list(flag_values):
        if isinstance(flag_values[name].parser, flags.FloatParser):
            flags.register_validator(name, lambda value: value is None or math.isfinite(value),
                                     message="must be a finite number", flag_values=flag_values)
