"""Benchmarks: ``python -m benchmarks`` (or ``make bench``) runs them all and writes results/.

Each ``bench_*.py`` module runs alone too (``python -m benchmarks.bench_ingest``), prints its
figures and, as its last line, one JSON object with them. Everything talks to 127.0.0.1 only
and is bounded to a few minutes on two cores.
"""
