"""The registry of classifier kinds: one registration per kind, every name derived from it.

A kind is one module in :mod:`agent.classify.kinds` holding a build function registered with
:func:`register`; the package imports every module in it, so adding a kind is adding a module.
What the rest of the agent needs to know about a kind comes from its registration: which names
``versions create`` accepts and its CLI help, whether a version of it needs a LiteLLM model
(then it also has a cheaper fallback model and is not handed novel tickets unless the version
says so), how the classifier of a version is built, and the database's CHECK on
``agent_versions.classifier`` (written by a migration, kept in step by ``ticketwatch migrate``).
A kind nobody registered is an error where a version is loaded or created.

A kind module imports its heavy dependencies inside its build function, so that reading the
registry (the models, the CLI help) stays cheap.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from agent.classify.base import Classifier
    from agent.config import Settings
    from agent.graph.state import ResolvedVersion


class BuildFn(Protocol):
    def __call__(
        self, version: ResolvedVersion, *, knn: Classifier, settings: Settings
    ) -> Classifier: ...


class UnknownClassifierError(ValueError):
    """A classifier kind no module in :mod:`agent.classify.kinds` registers."""


@dataclass(frozen=True, slots=True)
class ClassifierKind:
    """A registered classifier kind.

    ``build`` makes a version's classifier from the version, the version's kNN vote (built for
    every version: it is free and recorded beside any answer) and the settings. A
    ``model_backed`` kind calls a LiteLLM model: a version of it must name one, may name a
    cheaper fallback served when the budget is nearly spent, and has its confidence threshold
    fitted on the model's answers.
    """

    name: str
    description: str
    build: BuildFn
    model_backed: bool
    defaults: Mapping[str, Any] = field(default_factory=dict)


_REGISTRY: dict[str, ClassifierKind] = {}


def register(
    name: str,
    *,
    description: str,
    model_backed: bool,
    defaults: Mapping[str, Any] | None = None,
) -> Callable[[BuildFn], BuildFn]:
    """Register a build function as classifier kind ``name``; ``defaults`` are the kind's own
    params, written into every new version of it (a version holds every value it runs with)."""

    def decorator(build: BuildFn) -> BuildFn:
        if name in _REGISTRY:
            raise ValueError(f"classifier kind {name!r} is already registered")
        if not name.isidentifier() or name != name.lower() or len(name) > 20:
            raise ValueError(f"classifier kind {name!r}: use a lower-case identifier of <= 20")
        _REGISTRY[name] = ClassifierKind(
            name, description, build, model_backed, dict(defaults or {})
        )
        return build

    return decorator


def _load_builtin() -> None:
    importlib.import_module("agent.classify.kinds")


def all_kinds() -> dict[str, ClassifierKind]:
    """Every registered kind, by name, in name order."""
    _load_builtin()
    return {name: _REGISTRY[name] for name in sorted(_REGISTRY)}


def kind_names() -> tuple[str, ...]:
    return tuple(all_kinds())


def get_kind(name: str) -> ClassifierKind:
    """The registered kind called ``name``; an :class:`UnknownClassifierError` names the rest."""
    _load_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(kind_names())
        raise UnknownClassifierError(
            f"unknown classifier {name!r}: no module in agent/classify/kinds registers it; "
            f"known: {known}"
        ) from None


def kinds_help() -> str:
    """One line per kind, for CLI help."""
    return "; ".join(f"{k.name}: {k.description}" for k in all_kinds().values())


def check_sql(names: tuple[str, ...] | None = None) -> str:
    """The SQL condition of the CHECK on ``agent_versions.classifier``: a registered kind."""
    quoted = ", ".join(f"'{name}'" for name in (kind_names() if names is None else names))
    return f"classifier IN ({quoted})"
