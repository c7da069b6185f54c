"""The moral-graph engine: judgements in; counts, edges, rankings, diagnostics out (networkx style).

Pure: imports only the standard library, numpy, scipy and networkx. Typical use::

    aggregation = aggregate_arrays(encode_columns(user, from_value, to_value, context, answer))
    G = to_digraph(trim(aggregation.pairs, Thresholds()), skipped=aggregation.skipped)
    overall = rank_graph(G)
    per_context = rank_contexts(aggregation.by_context, Thresholds())

Examples
--------
>>> import graph
>>> rows = [graph.Judgement(p, "a", "b", "When asked", "upgrade") for p in range(3)]
>>> graph.rank_graph(graph.build_graph(rows)).winner
'b'
"""

from graph.aggregate import AggregationPlan, aggregate, aggregate_arrays, row_problems
from graph.bridging import BridgingResult, bridging, consensus
from graph.build import EDGE_ATTRIBUTES, build_graph, context_graph, to_digraph, trim
from graph.clusters import kmeans, opinion_clusters
from graph.diagnostics import (
    ContestedPair,
    GraphDiff,
    contested_pairs,
    cycles,
    diff_graphs,
    kendall_tau,
    under_judged,
)
from graph.encode import encode_answers, encode_columns, encode_judgements, factorize, judgements_from_records
from graph.errors import (
    ConvergenceError,
    GraphError,
    InvalidInputError,
    InvalidJudgementError,
    InvalidWeightError,
    MoralGraphFormatError,
)
from graph.io_graphml import graphml_safe, write_graphml
from graph.io_mai import mai_edge, moral_graph_document, moral_graph_text, read_moral_graph, write_moral_graph
from graph.model import SKIP_REASONS, Answer, Judgement, JudgementArrays, PairStats, Thresholds
from graph.pagerank import pagerank, pagerank_arrays
from graph.pairs import Aggregation, PairCounts
from graph.rank import (
    BlockRanks,
    Ranking,
    rank_blocks,
    rank_contexts,
    rank_graph,
    rank_pairs,
)
from graph.rank_params import DEFAULT_RANK, RankParams, Variant
from graph.reference import ReferenceAggregation, aggregate_reference, pagerank_reference
from graph.stats import entropy, entropy_array, likelihood_array, wiser_likelihood
from graph.support import Support, SupportRule
from graph.uncertainty import BootstrapResult, ValueInterval, bootstrap_rankings

__all__ = [
    "DEFAULT_RANK",
    "SKIP_REASONS",
    "EDGE_ATTRIBUTES",
    "Aggregation",
    "AggregationPlan",
    "Answer",
    "BlockRanks",
    "BootstrapResult",
    "BridgingResult",
    "ContestedPair",
    "ConvergenceError",
    "GraphDiff",
    "GraphError",
    "InvalidInputError",
    "InvalidJudgementError",
    "InvalidWeightError",
    "Judgement",
    "JudgementArrays",
    "MoralGraphFormatError",
    "PairCounts",
    "PairStats",
    "RankParams",
    "Ranking",
    "ReferenceAggregation",
    "Support",
    "SupportRule",
    "Thresholds",
    "ValueInterval",
    "Variant",
    "aggregate",
    "aggregate_arrays",
    "aggregate_reference",
    "bootstrap_rankings",
    "bridging",
    "build_graph",
    "consensus",
    "contested_pairs",
    "context_graph",
    "cycles",
    "diff_graphs",
    "encode_answers",
    "encode_columns",
    "encode_judgements",
    "entropy",
    "entropy_array",
    "factorize",
    "graphml_safe",
    "judgements_from_records",
    "kendall_tau",
    "kmeans",
    "likelihood_array",
    "mai_edge",
    "moral_graph_document",
    "moral_graph_text",
    "opinion_clusters",
    "pagerank",
    "pagerank_arrays",
    "pagerank_reference",
    "rank_blocks",
    "rank_contexts",
    "rank_graph",
    "rank_pairs",
    "read_moral_graph",
    "row_problems",
    "to_digraph",
    "trim",
    "under_judged",
    "wiser_likelihood",
    "write_graphml",
    "write_moral_graph",
]
