"""The training wing: settings in, a resumable run folder and its best model out.

- :mod:`~audiosr.train.experiment`: ``RunSettings`` and ``run_experiment``, the one wiring of a run;
- :mod:`~audiosr.train.fit`: ``fit_run`` and the checkpoint that survives a kill;
- :mod:`~audiosr.train.distribute`: tf.distribute strategy, dtype policy, which process writes;
- :mod:`~audiosr.train.callbacks`: NaN stop, time / step budgets, audio samples in TensorBoard;
- :mod:`~audiosr.train.history`: a run's ``history.csv``.
"""
