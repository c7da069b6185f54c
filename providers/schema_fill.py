"""Synthesise a valid value for a JSON schema: the demo model's structured output.

Respects types, ``enum``/``const``, ``default``, string ``minLength``/``maxLength``/``format``, number
bounds, array ``minItems``/``maxItems``/``uniqueItems``, nested objects and ``$ref``/``$defs``. Validators
that a JSON schema cannot express (custom pydantic validators) are out of its reach.

>>> from pydantic import BaseModel, Field
>>> class Card(BaseModel):
...     title: str = Field(min_length=3, max_length=12)
...     policies: list[str] = Field(min_length=2, max_length=4)
>>> Card.model_validate(fill_schema(Card.model_json_schema()))
Card(title='Demo title', policies=['Demo policies 1', 'Demo policies 2'])
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["demo_instance", "fill_schema"]

_FORMATS = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "00:00:00",
    "email": "demo@example.com",
    "uri": "https://example.com/demo",
    "url": "https://example.com/demo",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "duration": "P1D",
    "ipv4": "127.0.0.1",
}


def fill_schema(schema: dict[str, Any], *, name: str = "value") -> Any:
    """A deterministic value that validates against ``schema`` (a JSON schema dict)."""
    return _Filler(schema).fill(schema, name)


def demo_instance(model: Any) -> Any:
    """A valid instance of the pydantic model class ``model``, filled from its JSON schema.

    >>> from pydantic import BaseModel
    >>> class Pair(BaseModel):
    ...     left: int
    ...     right: bool = True
    >>> demo_instance(Pair)
    Pair(left=0, right=True)
    """
    return model.model_validate(fill_schema(model.model_json_schema(), name=model.__name__))


class _Filler:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.depth = 0

    def fill(self, schema: dict[str, Any], name: str) -> Any:
        self.depth += 1
        try:
            if self.depth > 40:
                raise ValueError(f"schema too deeply nested or recursive at {name!r}")
            return self._fill(schema, name)
        finally:
            self.depth -= 1

    def _fill(self, schema: dict[str, Any], name: str) -> Any:
        if "$ref" in schema:
            return self.fill(self._resolve(schema["$ref"]), name)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return schema["enum"][0]
        if "default" in schema:
            return schema["default"]
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
                return self.fill(options[0], name)
        if "allOf" in schema:
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                merged.update(self._resolve(part["$ref"]) if "$ref" in part else part)
            return self.fill(merged, name)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "string"
        return getattr(self, f"_{kind}")(schema, name)

    def _resolve(self, ref: str) -> dict[str, Any]:
        if not ref.startswith("#/"):
            raise ValueError(f"only local $ref are supported, got {ref!r}")
        node: Any = self.root
        for part in ref[2:].split("/"):
            node = node[part]
        return node

    def _object(self, schema: dict[str, Any], name: str) -> dict[str, Any]:
        properties = schema.get("properties", {})
        return {key: self.fill(sub, key) for key, sub in properties.items()}

    def _array(self, schema: dict[str, Any], name: str) -> list[Any]:
        low = int(schema.get("minItems", 1))
        high = schema.get("maxItems")
        count = max(low, 1) if high is None else min(max(low, 1), int(high))
        prefix = schema.get("prefixItems", [])
        items = schema.get("items", {})
        out = []
        for i in range(max(count, len(prefix))):
            sub = prefix[i] if i < len(prefix) else items if isinstance(items, dict) else {}
            if "$ref" in sub:
                sub = self._resolve(sub["$ref"])
            if sub.get("enum"):  # vary the choices: uniqueItems (sets) and plausibility
                out.append(sub["enum"][i % len(sub["enum"])])
                continue
            out.append(self.fill(sub, f"{name} {i + 1}" if count > 1 else name))
        return out

    def _string(self, schema: dict[str, Any], name: str) -> str:
        if schema.get("format") in _FORMATS:
            return _FORMATS[schema["format"]]
        text = "Demo " + name.replace("_", " ").strip()
        low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
        if len(text) < low:
            text = (text + " " + "demo " * (low // 5 + 1))[:low].rstrip()
            text = text.ljust(low, ".")
        if high is not None and len(text) > int(high):
            text = text[: int(high)]
        return text

    def _integer(self, schema: dict[str, Any], name: str) -> int:
        lo, hi = schema.get("minimum"), schema.get("maximum")
        if schema.get("exclusiveMinimum") is not None:
            lo = math.floor(schema["exclusiveMinimum"]) + 1
        if schema.get("exclusiveMaximum") is not None:
            hi = math.ceil(schema["exclusiveMaximum"]) - 1
        value = 0
        if lo is not None:
            value = max(value, math.ceil(lo))
        if hi is not None:
            value = min(value, math.floor(hi))
        step = schema.get("multipleOf")
        if step:
            value = math.ceil(value / step) * step
        return int(value)

    def _number(self, schema: dict[str, Any], name: str) -> float:
        lo = schema.get("minimum", schema.get("exclusiveMinimum"))
        hi = schema.get("maximum", schema.get("exclusiveMaximum"))
        lo_open, hi_open = "exclusiveMinimum" in schema, "exclusiveMaximum" in schema
        above = lo is None or (0 > lo if lo_open else 0 >= lo)
        below = hi is None or (0 < hi if hi_open else 0 <= hi)
        if above and below:
            value = 0.0
        elif lo is not None and hi is not None:
            value = (lo + hi) / 2
        elif lo is not None:
            value = lo + 1 if lo_open else lo
        else:
            assert hi is not None  # with no bound at all, 0 is in range (the first branch)
            value = hi - 1 if hi_open else hi
        step = schema.get("multipleOf")
        if step:
            value = math.ceil(value / step) * step
        return float(value)

    def _boolean(self, schema: dict[str, Any], name: str) -> bool:
        return True

    def _null(self, schema: dict[str, Any], name: str) -> None:
        return None
