"""The graph engine's exceptions: one small tree, each class named by what went wrong.

::

    GraphError                          anything the graph engine refuses
     ├── InvalidJudgementError(ValueError)   a judgement row cannot be used (``on_invalid="raise"``)
     ├── InvalidInputError(ValueError)       malformed arrays, thresholds or parameters
     ├── InvalidWeightError(ValueError)      a negative, NaN or missing edge weight given to a ranking
     ├── ConvergenceError                    PageRank did not converge within ``max_iter``
     └── MoralGraphFormatError(ValueError)   a moral-graph JSON document does not follow MAI's schema

Row-level problems (unknown values, self-loops, empty contexts, duplicates, unreadable answers) are
*skipped and counted* by default; ``on_invalid="raise"`` turns the first one into
:class:`InvalidJudgementError`, whose ``reason`` is one of :data:`graph.model.SKIP_REASONS`.

Examples
--------
>>> from graph.errors import GraphError, InvalidJudgementError
>>> err = InvalidJudgementError("self_loop", 3, "judgement 3 compares a value with itself")
>>> isinstance(err, GraphError) and isinstance(err, ValueError), err.reason, err.row
(True, 'self_loop', 3)
"""

from __future__ import annotations

from errors import StudioError


class GraphError(StudioError):
    """Base class of every error the graph engine raises on purpose."""


class InvalidJudgementError(GraphError, ValueError):
    """A judgement row that cannot be aggregated.

    Parameters
    ----------
    reason : str
        One of :data:`graph.model.SKIP_REASONS`.
    row : int
        Position of the row in the input (0-based).
    message : str
        Human-readable explanation.
    """

    def __init__(self, reason: str, row: int, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.row = row


class InvalidInputError(GraphError, ValueError):
    """Structurally wrong input: mismatched array lengths, out-of-range codes, bad thresholds."""


class InvalidWeightError(GraphError, ValueError):
    """An edge weight that a ranking cannot use (negative, NaN, infinite or missing)."""


class ConvergenceError(GraphError):
    """The power iteration did not reach the tolerance within ``max_iter`` iterations."""


class MoralGraphFormatError(GraphError, ValueError):
    """A moral-graph JSON document that does not follow the ``{values, edges}`` schema."""
