"""Figures: a low-rate signal drawn beside high-rate ones, and the README's picture."""

import pathlib

import matplotlib.pyplot as plt

from audiosr.plots import spectrogram_figure

README_PICTURE = pathlib.Path(__file__).resolve().parents[1] / "docs" / "images" / "speech-r2.png"


def test_a_low_rate_row_shares_the_frequency_axis_and_leaves_the_band_above_its_nyquist_blank(rng):
    high = rng.standard_normal(16000).astype("float32")
    figure = spectrogram_figure({"input": (high[::2], 8000), "output": high}, 16000)
    try:
        low_axis, high_axis = figure.axes[:2]
        assert low_axis.get_ylim() == high_axis.get_ylim() == (0.0, 8.0)
        low_extent, high_extent = low_axis.images[0].get_extent(), high_axis.images[0].get_extent()
        assert (low_extent[3], high_extent[3]) == (4.0, 8.0)  # kHz: the input's image stops at its Nyquist
        assert abs(low_extent[1] - high_extent[1]) < 0.05  # the same seconds on the time axis
    finally:
        plt.close(figure)


def test_the_readme_picture_is_small():
    assert README_PICTURE.stat().st_size < 300 * 1024  # make readme-figure's default resolution keeps it so
