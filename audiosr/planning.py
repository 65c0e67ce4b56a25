"""What upsampling does with one recording, decided in one place for files and arrays.

The decision rests on the recording's effective band (:mod:`audiosr.bandwidth`,
or one the user gives), not its container rate:

- content that already reaches :data:`PASS_FRACTION` of the output's Nyquist
  frequency passes through unchanged: a model could only replace band the
  recording has;
- otherwise the recording is treated as audio at a model's input rate
  (resampled to it) when its band *stops near* that model's input Nyquist
  frequency ``N``: between :data:`NEAR_LOW` ``N`` and :data:`NEAR_HIGH`
  ``N``. Anti-alias filters and resamplers put the edge between 0.7 and 1.0
  of the low Nyquist frequency (:mod:`audiosr.lowres` makes them all); above
  1.2 ``N`` the model would throw away real band. Of the shipped models, the
  one with the lowest input rate that fits is chosen: a 16 kHz file that
  stops near 4 kHz is 8 kHz audio (speech-r2), one that stops near 2 kHz
  4 kHz audio (speech-r4);
- content that stops well inside its container and below every model's
  input band (a drone, a tabla stroke: narrow by nature, not by a low-rate
  chain) passes through too;
- a model named by the user is used unless the content already reaches the
  output band; if the content reaches above the model's input band, a note
  says which band the model replaces.
"""

import dataclasses

PASS_FRACTION = 0.6
NEAR_LOW, NEAR_HIGH = 0.5, 1.2
CONTAINER_FRACTION = 0.9  # a band this close to the container's Nyquist is the container's limit, not the content's


@dataclasses.dataclass(frozen=True)
class Candidate:
    """A model the planner may choose: its name and rates (no weights needed to decide)."""

    name: str
    input_rate: float
    output_rate: int

    @classmethod
    def of_model(cls, name, model):
        """The candidate of a loaded audiosr model (it carries its rates)."""
        return cls(str(name), float(model.input_rate), int(model.sample_rate))

    @property
    def input_nyquist(self):
        return self.input_rate / 2


@dataclasses.dataclass(frozen=True)
class Plan:
    """The decision for one recording: ``model`` is None to pass it through unchanged."""

    rate: float
    band_hz: float
    model: object
    note: str
    warning: str = ""

    @property
    def passes_through(self):
        return self.model is None

    @property
    def output_rate(self):
        return self.rate if self.model is None else self.model.output_rate


def _hz(value):
    return f"{value / 1000:.3g} kHz"


def plan(rate, band_hz, candidates, explicit=False, given=False):
    """The :class:`Plan` for a recording at ``rate`` whose content stops at ``band_hz`` (None: silent).

    ``candidates``: the models to choose from (:class:`Candidate`); with
    ``explicit`` the user named the one model. ``given``: the band came
    from the user, not from the estimate (it only changes the note).
    """
    candidates = sorted(candidates, key=lambda c: c.input_rate)
    if not candidates:
        raise ValueError("no model to choose from")
    nyquist = rate / 2
    if band_hz is None:
        band, source = nyquist, f"silent, so judged by its rate ({rate:g} Hz)"
    else:
        band = min(float(band_hz), nyquist)
        how = "given" if given else "estimated"
        source = f"content up to {_hz(band)} ({how}; {rate:g} Hz file)"
    output_nyquist = max(c.output_rate for c in candidates) / 2
    if band >= PASS_FRACTION * output_nyquist:
        return Plan(rate, band, None, f"{source}: already reaches the {_hz(output_nyquist)} band the model"
                                      f"{'' if explicit else 's'} output, so it is passed through unchanged")
    if explicit:
        chosen = candidates[0]
    else:
        fitting = [c for c in candidates if NEAR_LOW * c.input_nyquist <= band <= NEAR_HIGH * c.input_nyquist]
        narrow = band < NEAR_LOW * candidates[0].input_nyquist and band < CONTAINER_FRACTION * nyquist
        if not fitting and (narrow or band > NEAR_HIGH * candidates[-1].input_nyquist):
            return Plan(rate, band, None, f"{source}: no model's input band matches it, so it is passed "
                                          "through unchanged")
        chosen = fitting[0] if fitting else candidates[0]
    note = (f"{source}: treated as {chosen.input_rate:g} Hz audio"
            + (f" (resampled from {rate:g} Hz)" if rate != chosen.input_rate else "")
            + f", upsampled with {chosen.name} to {chosen.output_rate} Hz")
    warning = ""
    if band > NEAR_HIGH * chosen.input_nyquist:
        warning = (f"{chosen.name} takes {chosen.input_rate:g} Hz audio: the band {_hz(chosen.input_nyquist)} to "
                   f"{_hz(band)} this recording has is replaced by the model's")
    return Plan(rate, band, chosen, note, warning)
