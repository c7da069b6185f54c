"""Benchmark of the interview's app-side overhead per turn (``python -m bench.interview``)."""
