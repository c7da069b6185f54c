"""Benchmark of the moral-graph build (issue item 9): ``python -m bench.graph`` (see bench/README.md).

Modules: :mod:`bench.graph.data` (seeded synthetic deliberations), :mod:`bench.graph.paths` (the fast path,
the reference path and the SQLite path, each returning the winners it found) and :mod:`bench.graph.run`
(timing, memory, the table and the targets).
"""
