"""Per-pair statistics exactly as MAI computed them: wiserLikelihood and Shannon entropy.

``wiserLikelihood = (wiser - lessWise) / (wiser + notWiser + unsure + lessWise)`` (NaN when nobody answered
in that direction: MAI's JavaScript gave NaN there too). ``entropy`` is the Shannon entropy (log2) of the
five counts *including impressions*, summed in MAI's key order ``markedWiser, markedNotWiser,
markedLessWise, markedUnsure, impressions``. For bit-for-bit reproducibility the vectorised form evaluates
``math.log2`` (the C library's) once per distinct count tuple instead of ``np.log2``, whose SIMD kernels
differ from it in the last bit on some CPUs.

Examples
--------
>>> entropy(3, 0, 0, 1, 4)
1.4056390622295665
>>> wiser_likelihood(3, 0, 0, 1)
0.75
"""

from __future__ import annotations

import math

import numpy as np

from graph.keys import group_rows


def _distinct(key: np.ndarray, bound: int) -> tuple[np.ndarray, np.ndarray]:
    """``(inverse, distinct)`` of non-negative keys below ``bound``: by marking when the range is small."""
    if bound > 1 << 22:
        inverse, first, _ = group_rows([key])
        return inverse, key[first]
    seen = np.zeros(bound, dtype=bool)
    seen[key] = True
    distinct = np.flatnonzero(seen)
    slot = np.zeros(bound, dtype=np.int64)
    slot[distinct] = np.arange(len(distinct))
    return slot[key], distinct


def wiser_likelihood(wiser: int, not_wiser: int, less_wise: int, unsure: int) -> float:
    """``(wiser - less_wise) / total``; NaN when the total is zero."""
    total = wiser + not_wiser + unsure + less_wise
    return (wiser - less_wise) / total if total else math.nan


def entropy(wiser: int, not_wiser: int, less_wise: int, unsure: int, impressions: int) -> float:
    """Shannon entropy (bits) of the five counts, accumulated in MAI's order."""
    counts = (wiser, not_wiser, less_wise, unsure, impressions)
    total = sum(counts)
    result = 0.0
    for count in counts:
        probability = count / total
        if probability > 0:
            result -= probability * math.log2(probability)
    return result


def likelihood_array(
    wiser: np.ndarray, not_wiser: np.ndarray, less_wise: np.ndarray, unsure: np.ndarray
) -> np.ndarray:
    """Vectorised :func:`wiser_likelihood` (identical bits: one IEEE division per row).

    >>> likelihood_array(np.array([3, 0]), np.array([0, 0]), np.array([1, 0]), np.array([0, 0])).tolist()
    [0.5, nan]
    """
    total = (wiser + not_wiser + unsure + less_wise).astype(np.float64)
    diff = (wiser - less_wise).astype(np.float64)
    likelihood: np.ndarray = np.divide(diff, total, out=np.full(len(total), np.nan), where=total > 0)
    return likelihood


def entropy_array(
    wiser: np.ndarray,
    not_wiser: np.ndarray,
    less_wise: np.ndarray,
    unsure: np.ndarray,
    impressions: np.ndarray,
) -> np.ndarray:
    """Vectorised :func:`entropy` with identical bits.

    Each term ``p * log2(p)`` depends only on (count, total): it is computed in Python (``math.log2``) once
    per distinct pair, then the terms are subtracted in MAI's order, as the scalar loop does.

    >>> entropy_array(*(np.array([v, v]) for v in (3, 0, 0, 1, 4))).tolist()
    [1.4056390622295665, 1.4056390622295665]
    """
    counts = np.stack(
        [np.asarray(c, dtype=np.int64) for c in (wiser, not_wiser, less_wise, unsure, impressions)]
    )
    if counts.size and int(counts.min()) < 0:
        raise ValueError("counts must be non-negative")
    total = counts.sum(axis=0)
    result = np.zeros(counts.shape[1], dtype=np.float64)
    present = counts > 0
    if not present.any():
        return result
    count, of_total = counts[present], np.broadcast_to(total, counts.shape)[present]
    inverse, distinct = _distinct(count * (int(total.max()) + 1) + of_total, (int(total.max()) + 1) ** 2)
    width = int(total.max()) + 1
    pairs = zip((distinct // width).tolist(), (distinct % width).tolist(), strict=True)
    table = np.array([(c / t) * math.log2(c / t) for c, t in pairs], dtype=np.float64)
    terms = np.zeros(counts.shape, dtype=np.float64)
    terms[present] = table[inverse]
    for k in range(counts.shape[0]):  # in MAI's order: result -= p * log2(p), skipping p == 0
        result = np.where(present[k], result - terms[k], result)
    return result
