"""Pure builders of the studio's artefacts: rows and built graphs in, documents out (no database, no model).

Services fetch the rows and call these; each builder names what it was built with. Today MAI's moral-graph
JSON (:mod:`exports.mai_json`); the next issue adds alignment targets and constitutions.

Examples
--------
>>> from exports import Provenance, ValueRecord, moral_graph_json, with_provenance
>>> moral_graph_json.__module__
'exports.mai_json'
"""

from exports.mai_json import (
    Provenance,
    ValueRecord,
    mai_value,
    moral_graph_json,
    ranking_json,
    with_provenance,
)

__all__ = [
    "Provenance",
    "ValueRecord",
    "mai_value",
    "moral_graph_json",
    "ranking_json",
    "with_provenance",
]
