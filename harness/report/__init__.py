"""Reports people read, rendered from the store: statistics, plots, importance, insights, HTML.

``harness.report.files.write_reports`` drives it and ``harness.report.leaderboard`` holds the per-task,
per-budget leaderboard model. Each module here is one concept: ``stats`` (the paired test, Holm,
rank groups), ``trials`` (the trial log as rows per model family), ``importance`` (fANOVA),
``heatmap`` (valid score over two hyperparameters), ``curves`` (anytime curves, loss-curve
diagnosis), ``plots`` (PNG files), ``insights`` (sentences), ``task`` (everything about one task),
``summary`` (across tasks), ``markdown`` and ``html`` (the files).

Across tasks, per budget: ``impute`` scores failed runs by a declared policy, ``crosstask`` holds the
Friedman test, the Wilcoxon-Holm post-hoc tests and win rates, ``elo`` the Bradley-Terry ratings with
bootstrap intervals, ``power`` what the design can detect, ``crosstext`` words and tables for
``summary``, ``html`` and the CLI, and ``crossplots`` the critical-difference diagram and win-rate matrix.
"""
