"""``python -m bench.graph``: see :mod:`bench.graph.run`."""

from bench.graph.run import main

raise SystemExit(main())
