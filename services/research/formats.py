"""The formats a moral graph is exported in, apart from the exporters so that a front end can list them
(``cli.py export --help``) without loading the graph engine.

>>> EXPORT_FORMATS
('mai-json', 'graphml')
"""

from __future__ import annotations

from typing import Literal, get_args

ExportFormat = Literal["mai-json", "graphml"]
EXPORT_FORMATS: tuple[str, ...] = get_args(ExportFormat)
