"""chainrule's benchmark: eight workloads (W1–W8), five frameworks, one interleaved run.

``python -m bench`` (or ``make bench`` / ``make bench-quick``) drives one worker process per
framework and repetition (``python -m bench.worker``), cross-checks every framework's
answers, prints the table of medians and ratios, and writes ``docs/benchmarks.md`` and
``docs/benchmarks.png``. The method is in ``docs/benchmarks.md``.
"""
