"""The hostile-input suite as a whole (issue 10 item 6): at least 150 cases, every category covered.

Each corpus module of this package exports ``CASES``, cases with an ``id`` and a ``category``; the tests
beside them assert each case at the service layer (and, for the text categories, in the browser).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections import Counter
from typing import Protocol

import tests.hostile

CATEGORIES = {"markup", "links", "unicode", "sizes", "numbers", "ids", "json", "paths", "injection", "races"}


class Case(Protocol):
    id: str
    category: str


def corpora() -> list[list[Case]]:
    """The ``CASES`` lists of the modules in tests/hostile (a list another module imports counts once)."""
    lists: dict[int, list[Case]] = {}
    for module in pkgutil.iter_modules(tests.hostile.__path__):
        found = getattr(importlib.import_module(f"tests.hostile.{module.name}"), "CASES", None)
        if found is not None:
            lists[id(found)] = list(found)
    return list(lists.values())


def all_cases() -> list[Case]:
    """Every case of every corpus."""
    return [case for cases in corpora() for case in cases]


def test_the_suite_has_at_least_150_cases_in_every_category() -> None:
    by_category = Counter(case.category for case in all_cases())
    assert sum(by_category.values()) >= 150, by_category
    assert set(by_category) == CATEGORIES, by_category


def test_case_ids_are_unique_within_a_corpus() -> None:
    for cases in corpora():
        ids = [case.id for case in cases]
        assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
