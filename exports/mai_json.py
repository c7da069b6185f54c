"""MAI's moral-graph JSON as the studio exports it (DOMAIN.md §8): a built graph, its value rows and its
rankings in; the document out.

Two steps, because a build stores the document with its snapshot and an export adds the provenance of that
snapshot (whose id and time exist only once it is stored):

* :func:`moral_graph_json`: ``values`` (each row as MAI's value, :func:`mai_value`), ``edges`` (written by
  :func:`graph.moral_graph_document`, contexts by their text), ``thresholds``, ``skipped`` and ``rankings``
  (the whole graph's and each context's, :func:`ranking_json`).
* :func:`with_provenance`: that document plus ``provenance``: deliberation, snapshot, build time,
  thresholds, ranking parameters (:class:`graph.RankParams`), judgements and app version.

Readers of MAI's schema ignore the extra keys; :func:`graph.moral_graph_text` writes the document out.

Examples
--------
>>> from datetime import UTC, datetime
>>> import graph
>>> G = graph.build_graph([graph.Judgement(p, 1, 2, 7, "upgrade") for p in range(3)])
>>> when = datetime(2024, 5, 1, tzinfo=UTC)
>>> values = [ValueRecord(1, "Honesty", "Say what is true.", ("MOMENTS when",), when, when),
...           ValueRecord(2, "Care", "Look after people.", (), when, when)]
>>> doc = moral_graph_json(G, values, contexts={7: "When asked"}, overall=graph.rank_graph(G))
>>> doc["values"][0]["instructionsShort"], doc["edges"][0]["contexts"], doc["rankings"]["overall"]["winner"]
('Say what is true.', ['When asked'], 2)
>>> provenance = Provenance(deliberation_id=3, snapshot_id=9, built_at=when, thresholds=graph.Thresholds(),
...                         params=graph.RankParams(alpha=0.5), judgements=3, app_version="0.1.0")
>>> exported = with_provenance(doc, provenance)
>>> exported["provenance"]["params"]["alpha"], exported["provenance"]["thresholds"]["min_wiser"]
(0.5, 2)
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import networkx as nx

from graph import Ranking, RankParams, Thresholds, moral_graph_document


@dataclass(frozen=True)
class ValueRecord:
    """One canonical value as the export needs it (plain values, no database row).

    ``external_ref`` is the value's id in an imported study (MAI's ``externalRef``), None for the studio's
    own values; ``seed`` marks a value the organisers seeded (written ``"seed": true``).
    """

    id: int
    title: str
    description: str
    policies: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    external_ref: str | None = None
    seed: bool = False


@dataclass(frozen=True)
class Provenance:
    """What an exported graph was built from and with."""

    deliberation_id: int
    snapshot_id: int
    built_at: datetime
    thresholds: Thresholds
    params: RankParams
    judgements: int
    app_version: str

    def as_dict(self) -> dict[str, Any]:
        """The ``provenance`` object of an export."""
        return {
            "deliberation_id": self.deliberation_id,
            "snapshot_id": self.snapshot_id,
            "built_at": self.built_at.isoformat(),
            "thresholds": self.thresholds.as_dict(),
            "params": self.params.as_dict(),
            "judgements": self.judgements,
            "app_version": self.app_version,
        }


def mai_value(record: ValueRecord) -> dict[str, Any]:
    """A value as MAI writes it: the description is ``instructionsShort``, the policies
    ``evaluationCriteria`` (MAI's key order; ``instructionsDetailed`` is empty, as we have none). Two keys
    of ours follow, only where they apply: ``externalRef`` (the value's id in an imported study) and
    ``"seed": true`` (a seed value, suggested by the organisers rather than written by a participant).

    >>> from datetime import UTC, datetime
    >>> when = datetime(2024, 5, 1, tzinfo=UTC)
    >>> value = mai_value(ValueRecord(4, "Care", "Look after people.", ("MOMENTS when",), when, when, "17"))
    >>> list(value)[:5]
    ['id', 'title', 'instructionsShort', 'instructionsDetailed', 'evaluationCriteria']
    >>> value["evaluationCriteria"], value["createdAt"], value["externalRef"], "seed" in value
    (['MOMENTS when'], '2024-05-01T00:00:00+00:00', '17', False)
    >>> mai_value(ValueRecord(5, "Seeded", "A seed.", (), when, when, seed=True))["seed"]
    True
    """
    return {
        "id": record.id,
        "title": record.title,
        "instructionsShort": record.description,
        "instructionsDetailed": "",
        "evaluationCriteria": list(record.policies),
        "createdAt": record.created_at.isoformat(),
        "updatedAt": record.updated_at.isoformat(),
        **({"externalRef": record.external_ref} if record.external_ref else {}),
        **({"seed": True} if record.seed else {}),
    }


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def ranking_json(ranking: Ranking | None) -> dict[str, Any] | None:
    """A ranking as the document's ``rankings`` write it (undefined z or ratio as ``null``); None stays None.

    >>> import graph
    >>> ranking_json(graph.rank_graph(graph.build_graph([])))["support"]
    'insufficient data'
    """
    if ranking is None:
        return None
    return {
        "winner": ranking.winner,
        "runnerUps": list(ranking.runner_ups),
        "support": str(ranking.support),
        "z": _finite(ranking.z),
        "ratio": _finite(ranking.ratio),
        "scores": {str(k): v for k, v in ranking.scores.items()},
    }


def moral_graph_json(
    G: nx.DiGraph[Hashable],
    values: Iterable[ValueRecord],
    *,
    contexts: Mapping[Any, str],
    overall: Ranking | None,
    per_context: Mapping[Any, Ranking] | None = None,
) -> dict[str, Any]:
    """The moral-graph document of a built graph, as a build stores it with its snapshot.

    Parameters
    ----------
    G : networkx.DiGraph
        The trimmed graph (nodes: value ids; edges with MAI's attribute names; ``G.graph`` holding
        ``thresholds`` and ``skipped``), e.g. :func:`graph.to_digraph`. Not modified.
    values : iterable of ValueRecord
        The rows of (at least) the graph's values; a node without one is written with its own attributes.
    contexts : mapping
        Context id -> its text, for the edges' ``contexts`` and the per-context rankings (an unknown id is
        written as its string).
    overall : Ranking or None
        The whole graph's ranking (None for a graph without edges).
    per_context : mapping, optional
        Context id -> its ranking (:func:`graph.rank_contexts`).

    Returns
    -------
    dict
        ``{values, edges, thresholds, skipped, rankings: {overall, contexts}}`` (JSON-ready).
    """
    records = {record.id: record for record in values}
    document = moral_graph_document(G)
    document["values"] = [
        mai_value(records[value["id"]]) if value["id"] in records else value for value in document["values"]
    ]
    for edge in document["edges"]:
        edge["contexts"] = [contexts.get(c, str(c)) for c in edge["contexts"]]
    document["rankings"] = {
        "overall": ranking_json(overall),
        "contexts": {contexts.get(c, str(c)): ranking_json(r) for c, r in (per_context or {}).items()},
    }
    return document


def with_provenance(document: Mapping[str, Any], provenance: Provenance) -> dict[str, Any]:
    """The exported document: a stored :func:`moral_graph_json` document plus its ``provenance`` (last).

    The input is not modified.
    """
    return {**document, "provenance": provenance.as_dict()}
