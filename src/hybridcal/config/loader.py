"""Read the TOML file and the ``HYBRIDCAL_*`` environment into one `Settings`.

Nothing here stops at the first problem: syntax aside, every unknown key, bad value and broken
cross-field rule is collected and raised together as one `ConfigError`.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from pathlib import Path
from types import NoneType, UnionType
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr, ValidationError

from hybridcal.config.settings import DEFAULT_KEYWORDS, Problem, Settings

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

ENV_PREFIX: Final = "HYBRIDCAL_"
ENV_NESTING: Final = "__"
# HYBRIDCAL_* variables that are not settings overrides (read by the command line).
RESERVED_ENV: Final = frozenset({"HYBRIDCAL_CONFIG", "HYBRIDCAL_DEBUG"})


class ConfigError(Exception):
    """The configuration is unusable; `problems` lists (dotted key, message) pairs."""

    def __init__(self, problems: list[Problem], source: Path | None = None) -> None:
        self.problems = problems
        self.source = source
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f" in {self.source}" if self.source is not None else ""
        count = len(self.problems)
        head = f"invalid configuration{where} ({count} problem{'s' if count != 1 else ''}):"
        return "\n  ".join([head, *(f"{key}: {message}" for key, message in self.problems)])


def load_settings(path: Path | None, environ: Mapping[str, str]) -> Settings:
    """Settings from the TOML file at ``path`` (optional) overridden by ``environ``.

    Relative paths in the file are resolved against the file's directory.
    """
    data: dict[str, Any] = {}
    base_dir: Path | None = None
    if path is not None:
        data = _read_toml(path)
        base_dir = path.absolute().parent
    overrides, sources, problems = environment_overrides(environ)
    if any(key[0] == "keywords" for key in overrides) and "keywords" not in data:
        # Overriding one keyword edits the effective table, it does not replace it.
        data["keywords"] = dict(DEFAULT_KEYWORDS)
    problems += _apply_overrides(data, overrides)
    try:
        settings = settings_from_mapping(data, base_dir=base_dir)
    except ConfigError as error:
        problems += error.problems
    if problems:
        raise ConfigError([_with_source(p, sources) for p in problems], source=path)
    return settings


def settings_from_mapping(data: Mapping[str, Any], *, base_dir: Path | None = None) -> Settings:
    """Validate an already-parsed mapping (TOML shaped) into `Settings`."""
    try:
        return Settings.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as error:
        problems: list[Problem] = []
        for detail in error.errors():
            problems.extend(_describe(detail))
        raise ConfigError(problems) from None


def environment_overrides(
    environ: Mapping[str, str],
) -> tuple[dict[tuple[str, ...], Any], dict[str, str], list[Problem]]:
    """``HYBRIDCAL_GOOGLE__SEND_UPDATES=all`` -> ``{("google", "send_updates"): "all"}``.

    Values are parsed as TOML scalars when they are one (``8480``, ``true``, ``"quoted"``) and
    kept as text otherwise, except where the setting itself is text. An empty value removes the
    key, restoring its default. Also returns which variable set each dotted key.
    """
    overrides: dict[tuple[str, ...], Any] = {}
    sources: dict[str, str] = {}
    problems: list[Problem] = []
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name in RESERVED_ENV:
            continue
        parts = tuple(name[len(ENV_PREFIX) :].lower().split(ENV_NESTING))
        if len(parts) < 2 or not all(parts):
            problems.append(
                (
                    name,
                    (
                        "not a setting: write HYBRIDCAL_<SECTION>__<KEY>, with a double"
                        " underscore between section and key"
                    ),
                )
            )
            continue
        raw = environ[name]
        overrides[parts] = None if raw == "" else _parse_env_value(raw, parts)
        sources[".".join(parts)] = name
    return overrides, sources, problems


def _parse_env_value(raw: str, path: tuple[str, ...]) -> Any:
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw
    if isinstance(value, str):
        return value  # a quoted TOML string
    if _expects_text(path):
        return raw  # ``1234`` for a credential name is the text "1234"
    # Dates, arrays and tables are not settings values; let validation see the text.
    return value if isinstance(value, bool | int | float) else raw


def _expects_text(path: tuple[str, ...]) -> bool:
    """Whether the setting at ``path`` is textual (so ``1234`` stays the string "1234")."""
    model: type[BaseModel] = Settings
    for depth, part in enumerate(path):
        field = model.model_fields.get(part)
        if field is None:
            # Keyword map entries (values are system names) are text; unknown keys are left
            # to validation, which reports them.
            return part.startswith("@") and depth == len(path) - 1
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
            continue
        return depth == len(path) - 1 and _is_textual(annotation)
    return False


def _is_textual(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _is_textual(get_args(annotation)[0])
    if origin in {Union, UnionType}:
        return all(_is_textual(arg) for arg in get_args(annotation) if arg is not NoneType)
    if origin is Literal:
        return all(isinstance(arg, str) for arg in get_args(annotation))
    return isinstance(annotation, type) and issubclass(annotation, str | Path | SecretStr)


def _apply_overrides(
    data: dict[str, Any], overrides: Mapping[tuple[str, ...], Any]
) -> list[Problem]:
    problems: list[Problem] = []
    for path, value in overrides.items():
        target = data
        for depth, part in enumerate(path[:-1]):
            child = target.setdefault(part, {})
            if not isinstance(child, dict):
                key = ".".join(path[: depth + 1])
                problems.append(
                    (key, "is not a table in the file, so it cannot take nested overrides")
                )
                break
            target = child
        else:
            if value is None:  # an empty variable: back to the default
                target.pop(path[-1], None)
            else:
                target[path[-1]] = value
    return problems


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        detail = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise ConfigError([(str(path), f"cannot read the file: {detail}")], source=path) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        # The message carries "(at line N, column M)".
        raise ConfigError([(str(path), f"invalid TOML: {error}")], source=path) from None


def _with_source(problem: Problem, sources: Mapping[str, str]) -> Problem:
    key, message = problem
    variable = sources.get(key)
    return (key, f"{message} [set by {variable}]") if variable else problem


def _describe(detail: ErrorDetails) -> list[Problem]:
    ctx = detail.get("ctx") or {}
    if detail["type"] == "cross_field":
        return [(str(key), str(message)) for key, message in ctx["problems"]]
    loc = [str(part) for part in detail["loc"] if part != "[key]"]
    key = ".".join(loc) or "(top level)"
    return [(key, _message(detail, loc))]


_FIXED_MESSAGES: Final = {"missing": "required", "string_too_short": "must not be empty"}
# pydantic error types -> our wording; the offending value is appended.
_TYPE_MESSAGES: Final = {
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be a string",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
    "dict_type": "must be a table",
    "mapping_type": "must be a table",
}
_BOUNDS: Final = {
    "greater_than_equal": ("at least", "ge"),
    "greater_than": ("greater than", "gt"),
    "less_than_equal": ("at most", "le"),
    "less_than": ("less than", "lt"),
}
# Error types raised by settings.py's own validators, whose messages are already final.
_OWN_KINDS: Final = frozenset(
    {"choice", "url", "url_https", "credential", "keyword", "email", "locale", "path", "template"}
)


def _message(detail: ErrorDetails, loc: list[str]) -> str:
    kind = detail["type"]
    got = f" (got {_show(detail['input'])})"
    if kind == "extra_forbidden":
        return "unknown key" + _suggestion(loc)
    if kind in _FIXED_MESSAGES:
        return _FIXED_MESSAGES[kind]
    if kind in _TYPE_MESSAGES:
        return _TYPE_MESSAGES[kind] + got
    if kind in _BOUNDS:
        words, bound = _BOUNDS[kind]
        limit = (detail.get("ctx") or {})[bound]
        return f"must be {words} {_show(limit)}" + got
    message = detail["msg"]
    if kind in _OWN_KINDS:
        return message
    return message[:1].lower() + message[1:] + got


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return repr(value)


def _suggestion(loc: list[str]) -> str:
    """' (did you mean 'send_updates'?)' for a key close to a known one."""
    model: type[BaseModel] = Settings
    for part in loc[:-1]:
        field = model.model_fields.get(part)
        annotation = field.annotation if field is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return ""
        model = annotation
    close = difflib.get_close_matches(loc[-1], list(model.model_fields), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
