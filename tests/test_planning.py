"""The per-recording decision: pass through, or which model at which input rate, from the band."""

import pytest

from audiosr import planning

SHIPPED = (planning.Candidate("speech-r2", 8000.0, 16000), planning.Candidate("speech-r4", 4000.0, 16000))


@pytest.mark.parametrize("rate, band, expected", [
    (16000, 8000, None), (16000, 7400, None), (48000, 20000, None), (22050, 11025, None),  # full band
    (16000, 5000, None),  # stops above every model's input band: a model would replace real band
    (16000, 3900, "speech-r2"), (16000, 3300, "speech-r2"), (44100, 3900, "speech-r2"), (8000, 4000, "speech-r2"),
    (16000, 1950, "speech-r4"), (44100, 1500, "speech-r4"), (4000, 2000, "speech-r4"), (3000, 1500, "speech-r4"),
    (1000, 500, "speech-r4"),  # narrow because the container is: a low-rate recording
    (44100, 600, None),  # narrow by nature inside a wide container (a drone): not a low-rate chain's edge
    (8000, None, "speech-r2"),  # silent: judged by its rate
])
def test_shipped_models_are_chosen_by_the_band(rate, band, expected):
    plan = planning.plan(rate, band, SHIPPED)
    assert (plan.model.name if plan.model else None) == expected
    assert plan.output_rate == (rate if expected is None else 16000)


def test_the_note_says_what_was_estimated_and_decided():
    plan = planning.plan(16000, 3906.25, SHIPPED)
    assert plan.note == ("content up to 3.91 kHz (estimated; 16000 Hz file): treated as 8000 Hz audio (resampled "
                         "from 16000 Hz), upsampled with speech-r2 to 16000 Hz")
    assert "given" in planning.plan(16000, 4000, SHIPPED, given=True).note
    assert "passed through unchanged" in planning.plan(16000, 8000, SHIPPED).note


def test_a_named_model_is_used_unless_the_content_already_reaches_its_output_band():
    r4 = (SHIPPED[1],)
    plan = planning.plan(16000, 3900, r4, explicit=True)
    assert plan.model.name == "speech-r4"
    assert plan.warning == ("speech-r4 takes 4000 Hz audio: the band 2 kHz to 3.9 kHz this recording has is replaced "
                            "by the model's")
    assert planning.plan(16000, 7900, r4, explicit=True).passes_through
    assert planning.plan(44100, 600, r4, explicit=True).model.name == "speech-r4"  # asked for: used
    assert not planning.plan(16000, 1900, r4, explicit=True).warning
