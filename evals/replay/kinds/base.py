"""Phase kinds of a replay scenario: one registration per kind, every name derived from it.

A kind is one module in :mod:`evals.replay.kinds`: a pydantic model (its YAML fields, with
``kind: Literal["<name>"]``) registered with :func:`register`, whose :meth:`PhaseBase.tickets`
draws one window's traffic and whose :meth:`PhaseBase.data_problems` checks the names it uses
against the data. The package imports every module in it, so adding a kind is adding a module.
The scenario's phase union, its validation messages, which kinds count as drift and the CLI
help all come from this registry: a kind the stream cannot generate is refused when it is
registered, and a kind nobody registered is an error when a scenario is loaded.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, Protocol, TypeVar, get_args

import numpy as np
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from agent.datasets.records import LabelledTicket

if TYPE_CHECKING:
    from agent.taxonomy import Taxonomy

Mode = Literal["pool", "recorded"]
Tickets = list[tuple[LabelledTicket, str | None]]
"""A window's labelled tickets, each with what the phase changed in it (None: untouched)."""


class TicketSource(Protocol):
    """Where a phase draws tickets from (:class:`evals.replay.stream.Source`)."""

    base: dict[str, float]
    queue_of: dict[str, str]

    def draw(self, n: int, weights: Mapping[str, float] | None = None) -> list[LabelledTicket]: ...


@dataclass(frozen=True)
class Draw:
    """What a phase gets to make one window: ``n`` tickets at ``level`` (0..1) of its ramp, the
    calm pool, the held-out (new product) pool and the replay's seeded generator."""

    n: int
    level: float
    calm: TicketSource
    new: TicketSource
    rng: np.random.Generator


class PhaseBase(BaseModel):
    """Fields every phase has; a kind adds its own and a ``kind`` literal."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    name: str = Field(min_length=1, max_length=60)
    windows: int | None = Field(default=None, ge=1)
    until: AwareDatetime | None = None
    ramp_windows: int = Field(default=1, ge=1, description="windows to reach full intensity")

    def tickets(self, draw: Draw) -> Tickets:
        """One window of this phase's traffic (pool mode)."""
        raise NotImplementedError

    def data_problems(
        self, *, intents: set[str], queues: set[str], taxonomy: Taxonomy
    ) -> list[str]:
        """Names this phase uses that the data or the taxonomy lack (empty: none)."""
        return []

    def held_out_intents(self) -> set[str]:
        """Intents this phase needs held out of history (``history.hold_out_intents``)."""
        return set()


@dataclass(frozen=True)
class KindSpec:
    """A registered kind: its model, the modes it is valid in, and whether it is a drift."""

    name: str
    model: type[PhaseBase]
    modes: tuple[Mode, ...]
    drift: bool


_REGISTRY: dict[str, KindSpec] = {}
P = TypeVar("P", bound=PhaseBase)


def register(
    name: str, *, drift: bool, modes: Sequence[Mode] = ("pool",)
) -> Callable[[type[P]], type[P]]:
    """Register a phase model as kind ``name`` (class decorator)."""

    def decorator(model: type[P]) -> type[P]:
        if name in _REGISTRY:
            raise ValueError(f"phase kind {name!r} is already registered")
        literal = get_args(model.model_fields["kind"].annotation)
        if literal != (name,):
            raise TypeError(f"{model.__name__}.kind must be Literal[{name!r}], not {literal}")
        if "pool" in modes and model.tickets is PhaseBase.tickets:
            raise TypeError(f"phase kind {name!r} runs in pool mode but defines no tickets()")
        _REGISTRY[name] = KindSpec(name, model, tuple(modes), drift)
        return model

    return decorator


def _load_builtin() -> None:
    importlib.import_module("evals.replay.kinds")


def all_kinds() -> dict[str, KindSpec]:
    """Every registered kind, by name: calm kinds first, then drifts, each by name."""
    _load_builtin()
    return {k.name: k for k in sorted(_REGISTRY.values(), key=lambda k: (k.drift, k.name))}


def get_kind(name: str) -> KindSpec:
    """The registered kind called ``name``."""
    _load_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no phase kind {name!r}; known: {', '.join(_REGISTRY)}") from None


def kinds_for(mode: Mode) -> list[str]:
    return [k.name for k in all_kinds().values() if mode in k.modes]


def drift_kinds() -> tuple[str, ...]:
    return tuple(k.name for k in all_kinds().values() if k.drift)


def kinds_help() -> str:
    """The kinds, per mode, for CLI help and error messages."""
    return "; ".join(f"{mode} mode: {', '.join(kinds_for(mode))}" for mode in get_args(Mode))


def phase_union() -> Any:
    """The annotation of a scenario's phases: the registered models, told apart by ``kind``."""
    models = tuple(k.model for k in all_kinds().values())
    union: Any = models[0]
    for model in models[1:]:
        union = union | model
    return Annotated[union, Field(discriminator="kind")]
