"""Turn labelled judgements (rows or columns of ids) into integer-coded :class:`JudgementArrays`.

Labels become codes in first-seen order (or in the order of a given value set). Missing labels
(``None``, NaN, blank contexts), values outside the given set and unreadable answers get negative codes;
they are skipped and counted later, when the arrays are aggregated. Numeric and string numpy columns are
coded with vectorised ``np.unique``; Python objects fall back to a dictionary loop.

Examples
--------
>>> from graph.encode import encode_judgements
>>> from graph.model import Judgement
>>> rows = [Judgement("ann", "a", "b", "When asked", "upgrade"),
...         Judgement("bob", "b", "c", None, "not_sure")]
>>> arrays = encode_judgements(rows)
>>> arrays.values, arrays.source.tolist(), arrays.context.tolist(), arrays.answer.tolist()
(('a', 'b', 'c'), [0, 1], [0, -1], [0, 2])
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from graph.errors import InvalidInputError
from graph.model import _ANSWER_NAMES, MISSING, UNKNOWN, Answer, Judgement, JudgementArrays, is_missing


def _as_array(column: Iterable[Any]) -> np.ndarray:
    if isinstance(column, np.ndarray):
        return column
    return np.fromiter(column, dtype=object)


def _distinct_in_order(array: np.ndarray) -> tuple[np.ndarray, list[Any]]:
    """Per row, the index of its label among the distinct labels listed in first-seen order."""
    if (
        array.dtype.kind in "iu"
        and len(array)
        and 0 <= array.min()
        and array.max() < 4 * len(array) + (1 << 20)
    ):
        first = np.full(int(array.max()) + 1, len(array), dtype=np.int64)  # small ids: no sort needed
        np.minimum.at(first, array, np.arange(len(array)))
        present = np.flatnonzero(first < len(array))
        present = present[np.argsort(first[present], kind="stable")]
        slot = np.empty(len(first), dtype=np.int64)
        slot[present] = np.arange(len(present))
        return slot[array], present.tolist()
    if array.dtype.kind in "iufb":
        uniques, first, inverse = np.unique(array, return_index=True, return_inverse=True, equal_nan=True)
        order = np.argsort(first, kind="stable")
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        return rank[inverse.reshape(-1)], uniques[order].tolist()
    seen: dict[Any, int] = {}  # strings and Python objects: a dictionary is faster than sorting
    try:
        index = [seen.setdefault(item, len(seen)) for item in array.tolist()]
    except TypeError as exc:
        raise InvalidInputError(f"labels must be hashable ({exc})") from exc
    return np.array(index, dtype=np.int64), list(seen)


def factorize(
    column: Iterable[Any],
    *,
    known: Sequence[Hashable] | None = None,
    extend: bool = True,
    blank_is_missing: bool = False,
) -> tuple[np.ndarray, tuple[Hashable, ...]]:
    """Codes and labels of a column of labels.

    Parameters
    ----------
    column : iterable or numpy array
        The labels, one per row.
    known : sequence, optional
        Labels that get the first codes, in this order (duplicates ignored).
    extend : bool
        Whether labels outside ``known`` get new codes (first-seen order); otherwise they get
        :data:`~graph.model.UNKNOWN`.
    blank_is_missing : bool
        Whether blank strings count as missing.

    Returns
    -------
    codes : ndarray of int64
        One code per row; :data:`~graph.model.MISSING` for None/NaN (and blanks when asked).
    labels : tuple
        ``labels[code]`` is the label of ``code``.

    Examples
    --------
    >>> import numpy as np
    >>> codes, labels = factorize(np.array([7, 3, 7, 9]), known=[9, 7], extend=False)
    >>> codes.tolist(), labels
    ([1, -2, 1, 0], (9, 7))
    """
    array = _as_array(column)
    labels: list[Hashable] = list(dict.fromkeys(known)) if known is not None else []
    index, distinct = _distinct_in_order(array)
    if array.dtype.kind in "iu" and all(type(k) is int for k in labels):
        return _factorize_ints(index, np.asarray(distinct, dtype=np.int64), labels, extend)
    lookup: dict[Hashable, int] = {label: i for i, label in enumerate(labels)}
    lut = np.empty(len(distinct), dtype=np.int64)
    for position, label in enumerate(distinct):
        if is_missing(label) or (blank_is_missing and isinstance(label, str) and not label.strip()):
            lut[position] = MISSING
            continue
        code = lookup.get(label)
        if code is None:
            if not extend:
                lut[position] = UNKNOWN
                continue
            code = lookup[label] = len(labels)
            labels.append(label)
        lut[position] = code
    return lut[index] if len(array) else np.empty(0, dtype=np.int64), tuple(labels)


def _factorize_ints(
    index: np.ndarray, distinct: np.ndarray, labels: list[Hashable], extend: bool
) -> tuple[np.ndarray, tuple[Hashable, ...]]:
    """:func:`factorize` for integer labels (database ids), vectorised: ints are never missing, and the
    lookup in ``labels`` is a sorted search instead of a dictionary loop over every distinct id.
    """
    lut = np.full(len(distinct), UNKNOWN, dtype=np.int64)
    if labels:
        known = np.asarray(labels, dtype=np.int64)
        order = np.argsort(known, kind="stable")
        at = np.minimum(np.searchsorted(known[order], distinct), len(known) - 1)
        found = known[order][at] == distinct
        lut[found] = order[at[found]]
    if extend:
        new = np.flatnonzero(lut == UNKNOWN)  # already in first-seen order
        lut[new] = len(labels) + np.arange(len(new))
        labels = labels + distinct[new].tolist()
    return (lut[index] if len(index) else np.empty(0, dtype=np.int64)), tuple(labels)


def encode_answers(column: Iterable[Any]) -> np.ndarray:
    """Answer codes (:class:`~graph.model.Answer`), ``-1`` where an answer is unreadable.

    >>> encode_answers(["upgrade", None, "not_sure", "yes", 1]).tolist()
    [0, -1, 2, -1, 1]
    """
    array = _as_array(column)
    if array.dtype.kind in "iu":
        return np.where((array >= 0) & (array <= 2), array, -1).astype(np.int8)
    if array.dtype.kind == "f":
        ok = np.isin(array, (0.0, 1.0, 2.0))
        return np.where(ok, np.nan_to_num(array, nan=-1.0), -1.0).astype(np.int8)
    if array.dtype.kind == "U":
        names = list(_ANSWER_NAMES.items())
        return np.select([array == name for name, _ in names], [int(a) for _, a in names], -1).astype(np.int8)
    return np.array([Answer.parse(item) for item in array.tolist()], dtype=np.int8)


def encode_columns(
    participant: Iterable[Any],
    source: Iterable[Any],
    target: Iterable[Any],
    context: Iterable[Any],
    answer: Iterable[Any],
    *,
    values: Sequence[Hashable] | None = None,
    contexts: Sequence[Hashable] | None = None,
) -> JudgementArrays:
    """Code five label columns (e.g. read from a database) into :class:`JudgementArrays`.

    Parameters
    ----------
    participant, source, target, context, answer : iterables or numpy arrays of equal length
        Labels per judgement; ``answer`` holds MAI's names, :class:`~graph.model.Answer` members or codes.
    values : sequence, optional
        The known values: judgements naming another value are skipped as ``unknown_value``. When not
        given, every named value is known.
    contexts : sequence, optional
        Contexts listed first (so contexts without judgements still appear in per-context results).

    Examples
    --------
    >>> import numpy as np
    >>> a = encode_columns(np.array([1, 1, 2]), np.array([10, 10, 11]), np.array([11, 12, 12]),
    ...                    np.array(["c", "c", "c"]), np.array([0, 1, 5]), values=[10, 11])
    >>> a.source.tolist(), a.target.tolist(), a.answer.tolist()
    ([0, 0, 1], [1, -2, -2], [0, 1, -1])
    """
    value_known = list(values) if values is not None else None
    source_codes, value_labels = factorize(source, known=value_known, extend=values is None)
    target_codes, value_labels_2 = factorize(target, known=value_labels, extend=values is None)
    context_codes, context_labels = factorize(context, known=contexts, blank_is_missing=True)
    participant_codes, participant_labels = factorize(participant)
    return JudgementArrays(
        participant=participant_codes,
        source=source_codes,
        target=target_codes,
        context=context_codes,
        answer=encode_answers(answer),
        values=value_labels_2,
        contexts=context_labels,
        participants=participant_labels,
    )


def encode_judgements(
    rows: Iterable[Judgement],
    *,
    values: Sequence[Hashable] | None = None,
    contexts: Sequence[Hashable] | None = None,
) -> JudgementArrays:
    """Code :class:`~graph.model.Judgement` rows (see :func:`encode_columns`)."""
    rows = list(rows)
    return encode_columns(
        [r.participant for r in rows],
        [r.source for r in rows],
        [r.target for r in rows],
        [r.context for r in rows],
        [r.answer for r in rows],
        values=values,
        contexts=contexts,
    )


def judgements_from_records(
    records: Iterable[Mapping[str, Any]],
    *,
    participant: str = "userId",
    source: str = "fromId",
    target: str = "toId",
    context: str = "contextId",
    answer: str = "relationship",
) -> list[Judgement]:
    """Judgements from dictionaries (default keys: MAI's ``edge`` table); a missing key reads as None.

    >>> judgements_from_records([{"userId": 2, "fromId": 304, "toId": 208,
    ...                           "contextId": "When being introspective", "relationship": "upgrade"}])
    [Judgement(participant=2, source=304, target=208, context='When being introspective', answer='upgrade')]
    """
    return [
        Judgement(r.get(participant), r.get(source), r.get(target), r.get(context), r.get(answer))
        for r in records
    ]
