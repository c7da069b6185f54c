"""The tree drawn in ``errors.py``'s docstring is the tree the code has: every ``StudioError`` subclass of the
project is drawn once, under its real parent, and every class drawn exists."""

from __future__ import annotations

from errors import StudioError
from tests.error_tree import branches, drawn_tree, project_errors


def _drawn_name(cls: type[StudioError], drawn: dict[str, str]) -> str:
    qualified = f"{cls.__module__}.{cls.__name__}"
    return qualified if qualified in drawn else cls.__name__


def test_the_docstring_draws_every_error_under_its_parent() -> None:
    drawn = drawn_tree()
    found = project_errors()
    missing = [f"{c.__module__}.{c.__name__}" for c in found if _drawn_name(c, drawn) not in drawn]
    assert missing == [], f"errors.py's tree lacks {missing}"
    names = {_drawn_name(c, drawn): c for c in found}
    assert sorted(set(drawn) - set(names)) == [], "errors.py's tree draws classes that do not exist"
    for name, cls in names.items():
        parent = drawn[name]
        assert parent.rsplit(".", 1)[-1] in {b.__name__ for b in cls.__bases__}, f"{name} is not a {parent}"


def test_a_branch_is_named_where_it_lives() -> None:
    """The root's children are drawn with their module (``storage.errors.StorageError``), except the one in
    errors.py itself, so a reader finds each branch beside the code that raises it."""
    drawn = drawn_tree()
    for cls in branches():
        expected = cls.__name__ if cls.__module__ == "errors" else f"{cls.__module__}.{cls.__name__}"
        assert drawn.get(expected) == "StudioError", expected


def test_the_reader_of_the_tree_can_fail() -> None:
    drawn = drawn_tree()
    assert drawn["ConvergenceError"] == "graph.errors.GraphError"
    assert drawn["interviews.dedup.PartitionError"] == "ModelOutputError"
    assert drawn["MoralGraphFormatError"] == "graph.errors.GraphError"  # on a continuation line
    assert len(branches()) >= 9
