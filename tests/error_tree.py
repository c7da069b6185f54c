"""The error tree as the code has it and as ``errors.py``'s docstring draws it, for the front-end tests.

:func:`project_errors` imports every module of the project and returns each :class:`errors.StudioError`
subclass it defines; :func:`drawn_tree` reads the tree in the docstring; :func:`instance` makes one of a
class with a message on two lines (front ends must flatten it to one); :func:`broken_prompt` makes a real
prompt file malformed for one test.
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import errors
from errors import StudioError
from interviews import prompting

PACKAGES = ("settings", "storage", "providers", "services", "graph", "interviews", "exports")
SKIPPED = ("storage.migrations",)  # Alembic's scripts run only under Alembic
MESSAGE = "Something a person can fix went wrong\n   (said on two lines)."
ONE_LINE = "Something a person can fix went wrong (said on two lines)."


def project_errors() -> list[type[StudioError]]:
    """Every subclass of :class:`StudioError` (the root excluded) defined in the project's packages."""
    for name in PACKAGES:
        module = importlib.import_module(name)
        if hasattr(module, "__path__"):
            for info in pkgutil.walk_packages(module.__path__, f"{name}."):
                if not info.name.startswith(SKIPPED):
                    importlib.import_module(info.name)
    found: list[type[StudioError]] = []
    todo = list(StudioError.__subclasses__())
    while todo:
        cls = todo.pop(0)
        if cls not in found and cls.__module__.split(".")[0] in {*PACKAGES, "errors"}:
            found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(found, key=lambda c: (c.__module__, c.__name__))


def branches() -> list[type[StudioError]]:
    """The direct children of the root: one per kind of error a person can cause or meet."""
    return [c for c in project_errors() if StudioError in c.__bases__]


_ENTRY = re.compile(r"^(?P<rails>[│ ]*)(?:[├└]── )?(?P<names>\S.*?)(?:\s{2,}.*)?$")


def drawn_tree() -> dict[str, str]:
    """``{documented name: documented parent}`` from the tree in ``errors.py``'s docstring.

    A line holds one entry or several siblings separated by commas; a line without a branch mark continues
    the siblings of the line above. Names are as written (``storage.errors.StorageError``).
    """
    doc = errors.__doc__ or ""
    lines = doc.split("::\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    root = lines[0].strip()
    open_entries: list[str] = []  # the last entry drawn at depth 1, 2, ...
    tree: dict[str, str] = {}
    for line in lines[1:]:
        match = _ENTRY.match(line[4:])  # the block is indented by four spaces
        assert match, line
        depth = len(match["rails"]) // 4 + (1 if "── " in line else 0)
        names = [n.strip() for n in match["names"].split(",") if n.strip()]
        for name in names:
            tree[name] = open_entries[depth - 2] if depth > 1 else root
        open_entries[depth - 1 :] = [names[-1]]
    return tree


def instance(cls: type[StudioError]) -> StudioError:
    """One ``cls`` whose message is :data:`MESSAGE`."""
    if cls.__name__ == "InvalidJudgementError":  # (reason, row, message)
        return cls("self_loop", 0, MESSAGE)
    return cls(MESSAGE)


@contextlib.contextmanager
def broken_prompt(folder: Path, name: str) -> Iterator[None]:
    """Serve the prompts from a copy in ``folder`` in which ``<name>.md`` lost its header, for the block
    (the cache of loaded prompts is emptied on the way in and out)."""
    shutil.copytree(prompting.PROMPTS_DIR, folder)
    (folder / f"{name}.md").write_text("Someone deleted the header of this prompt.\n", encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(prompting, "PROMPTS_DIR", folder)
        prompting.load_prompt.cache_clear()
        try:
            yield
        finally:
            prompting.load_prompt.cache_clear()
