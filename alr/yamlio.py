"""Reading YAML into typed values, collecting every problem with its file and key path.

`Reader` wraps one parsed file; each `field`/`text`/`number`... call reads one key of a mapping,
records a `CourseFileError` (file, key path, expected vs found) when it is wrong, and returns a
usable fallback so the rest of the file is still checked. Unknown keys are errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from alr.errors import CourseFileError
from alr.markdown import check_markdown

T = TypeVar("T")

_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML reading `1e-3` as a float (YAML 1.1 wants `1.0e-3`); duplicate keys refused."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


def display_path(path: Path) -> str:
    """The path as users see it: relative to the working directory when under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def parse_yaml(path: Path) -> Any:
    """Parse one file; a syntax error becomes a CourseFileError naming line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CourseFileError(display_path(path), "", f"cannot read: {exc.strerror}") from exc
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise CourseFileError(display_path(path), where, f"invalid YAML: {problem}") from exc


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{value!r}"
    if isinstance(value, str):
        return repr(value if len(value) <= 30 else value[:29] + "…")
    if isinstance(value, int | float):
        return repr(value)
    return f"a {type(value).__name__}"


class Reader:
    """Typed access to one YAML file's data, collecting problems instead of stopping at one."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.errors: list[CourseFileError] = []

    def error(self, where: str, problem: str) -> None:
        self.errors.append(CourseFileError(self.path, where, problem))

    def mapping(self, value: Any, where: str, keys: Mapping[str, bool]) -> dict[str, Any] | None:
        """A mapping with only the given keys (key -> required); None when it is not a mapping."""
        if not isinstance(value, dict):
            self.error(where or "top level", f"expected a mapping, got {_kind(value)}")
            return None
        for key in value:
            if key not in keys:
                self.error(
                    _join(where, str(key)),
                    f"unknown key; expected one of {', '.join(sorted(keys))}",
                )
        for key, required in keys.items():
            if required and key not in value:
                self.error(_join(where, key), "missing (required)")
        return value

    def items(self, value: Any, where: str, min_len: int = 1) -> Iterator[tuple[str, Any]]:
        """The elements of a list with their key paths (`where[i]`)."""
        if not isinstance(value, list):
            self.error(where, f"expected a list, got {_kind(value)}")
            return
        if len(value) < min_len:
            self.error(where, f"expected at least {min_len} item(s), got {len(value)}")
        for i, item in enumerate(value):
            yield f"{where}[{i}]", item

    def string(self, value: Any, where: str, default: str = "") -> str:
        if isinstance(value, str) and value.strip():
            return value
        self.error(where, f"expected a non-empty string, got {_kind(value)}")
        return default

    def markdown(self, value: Any, where: str) -> str:
        text = self.string(value, where)
        for problem in check_markdown(text):
            self.error(where, problem)
        return text

    def number(self, value: Any, where: str, *, positive: bool = False) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.error(where, f"expected a number, got {_kind(value)}")
            return 1.0
        if positive and not value > 0:
            self.error(where, f"expected a number > 0, got {value!r}")
        return float(value)

    def integer(self, value: Any, where: str, *, minimum: int = 1) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(where, f"expected an integer, got {_kind(value)}")
            return minimum
        if value < minimum:
            self.error(where, f"expected an integer >= {minimum}, got {value}")
        return value

    def boolean(self, value: Any, where: str) -> bool:
        if isinstance(value, bool):
            return value
        self.error(where, f"expected true or false, got {_kind(value)}")
        return False

    def choice(self, value: Any, where: str, enum: Callable[[str], T], options: list[str]) -> T:
        if isinstance(value, str) and value in options:
            return enum(value)
        self.error(where, f"expected one of {', '.join(options)}, got {_kind(value)}")
        return enum(options[0])

    def strings(self, value: Any, where: str, min_len: int = 0) -> tuple[str, ...]:
        return tuple(self.string(v, w) for w, v in self.items(value, where, min_len))


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key
