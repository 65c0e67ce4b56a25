"""absl flags that every entry point (experiments/, data_prep/, bench/) shares; the library reads no flags.

Two things live here, the only module of the package that imports absl (no
library module imports it): flags made from a settings dataclass such as
:class:`audiosr.train.experiment.RunSettings`, whose fields are the one place a
setting's name, type, default and help are written (:func:`define_settings_flags`,
:func:`settings_from_flags`); and the finite-float check (absl's float flags
accept ``nan`` and ``inf``, and its bounds let ``nan`` through, every
comparison with it being false, which then surface as a traceback deep in the
work, or as a NaN loss minutes into training).
"""

import dataclasses
import math
import sys
import typing

from absl import flags


def _value_type(field):
    """``int`` of a field annotated ``int`` or ``int | None``."""
    kinds = [kind for kind in typing.get_args(field.type) if kind is not type(None)]
    return kinds[0] if len(kinds) == 1 else field.type


def _settings_fields(defaults, names):
    fields = {field.name: field for field in dataclasses.fields(defaults)}
    unknown = set(names or ()) - set(fields)
    if unknown:
        raise ValueError(f"{type(defaults).__name__} has no fields {sorted(unknown)}")
    return [fields[name] for name in names] if names else list(fields.values())


def define_settings_flags(defaults, names=None, rename=None, flag_values=flags.FLAGS):
    """One flag per field of the settings dataclass instance ``defaults`` (or of the fields in ``names``).

    Each flag is named after its field (or ``rename[field]``), parses the
    field's type, defaults to the field's value in ``defaults`` and says the
    field's ``help`` metadata; ``choices`` make an enum flag, ``lower_bound``
    a bounded number. An entry point passes the dataclass's defaults, or a
    copy that changes the few it deliberately changes
    (``dataclasses.replace``), so no default is written twice.
    """
    rename = rename or {}
    caller = sys._getframe(1).f_globals["__name__"]  # so that --help lists them as the entry point's own flags
    module_name = sys.argv[0] if caller == "__main__" else caller  # absl's name for the main module
    for field in _settings_fields(defaults, names):
        name, default, options = rename.get(field.name, field.name), getattr(defaults, field.name), field.metadata
        kind = _value_type(field)
        common = dict(help=options["help"], flag_values=flag_values, module_name=module_name)
        if "choices" in options:
            flags.DEFINE_enum(name, None if default is None else str(default), [str(c) for c in options["choices"]],
                              **common)
        elif kind is bool:
            flags.DEFINE_bool(name, default, **common)
        elif kind is int:
            flags.DEFINE_integer(name, default, lower_bound=options.get("lower_bound"), **common)
        elif kind is float:
            flags.DEFINE_float(name, default, lower_bound=options.get("lower_bound"), **common)
        elif kind is str:
            flags.DEFINE_string(name, default, **common)
        else:
            raise TypeError(f"no flag type for {field.name}: {field.type}")


def settings_from_flags(defaults, names=None, rename=None, flag_values=flags.FLAGS):
    """``defaults`` with the fields :func:`define_settings_flags` made flags for set from the parsed flags."""
    rename = rename or {}
    values = {}
    for field in _settings_fields(defaults, names):
        value = flag_values[rename.get(field.name, field.name)].value
        values[field.name] = value if value is None or "choices" not in field.metadata else _value_type(field)(value)
    return dataclasses.replace(defaults, **values)


def require_finite_floats(flag_values=flags.FLAGS):
    """Make every float flag defined so far in ``flag_values`` refuse ``nan`` and ``inf`` when parsed.

    Call it after the flags are defined and before ``app.run``: a bad value
    then stops the app with absl's one-line flag error, naming the flag.
    """
    for name in list(flag_values):
        if isinstance(flag_values[name].parser, flags.FloatParser):
            flags.register_validator(name, lambda value: value is None or math.isfinite(value),
                                     message="must be a finite number", flag_values=flag_values)
