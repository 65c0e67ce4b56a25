"""The evaluation wing: models and baselines scored on whole recordings, and the study's tables.

- :mod:`~audiosr.evaluation.scoring`: SNR / LSD of every method per file, summaries, per-file CSV;
- :mod:`~audiosr.evaluation.reporting`: Figure 3 (markdown and CSV) from those summaries, Figure 4 from run histories.

Upsampling itself (chunks, cross-fades) is :mod:`audiosr.inference`, shared with the command line.
"""
