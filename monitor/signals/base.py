"""What every drift signal takes and returns, and the registry of signals by name.

A signal is a pure function ``(reference, current, *, rng=None, **params) -> SignalResult``.
Registering it with :func:`register` wraps it so that a window lacking the fields the signal
needs, or holding fewer tickets than ``min_current``, yields an *insufficient* result (value NaN,
never a drift) instead of an error.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

Direction = Literal["increase", "decrease", "two_sided"]
Group = Literal["label_mix", "embedding", "novelty", "confidence", "disagreement", "ops"]

DEFAULT_SEED = 0  # recomputing a window gives the same figures (idempotent upserts)


@dataclass(frozen=True, slots=True)
class WindowSample:
    """Per-ticket arrays of one window (all optional, each of length ``n``).

    ``queue_probs`` is (n, K), rows sum to 1, the last column may be ``unknown``;
    ``embeddings`` is (n, d) L2-normalised; ``knn_consensus`` is the class the kNN vote of
    historical outcomes gives (-1 when there was none); ``true_label`` is -1 when unknown;
    ``inclusion_prob`` is the probability each decision was sampled for review (1 if forced);
    ``label_stratum`` and ``label_parent`` code the strata whose label rates weight the late
    labels (the decision's mode and channel; its mode alone).
    """

    queue_probs: NDArray[np.floating[Any]] | None = None
    predicted: NDArray[np.integer[Any]] | None = None
    embeddings: NDArray[np.floating[Any]] | None = None
    is_fallback: NDArray[np.bool_] | None = None
    is_unknown: NDArray[np.bool_] | None = None
    is_human_triage: NDArray[np.bool_] | None = None
    is_error: NDArray[np.bool_] | None = None
    knn_consensus: NDArray[np.integer[Any]] | None = None
    reviewed: NDArray[np.bool_] | None = None
    overridden: NDArray[np.bool_] | None = None
    inclusion_prob: NDArray[np.floating[Any]] | None = None
    true_label: NDArray[np.integer[Any]] | None = None
    label_stratum: NDArray[np.integer[Any]] | None = None
    label_parent: NDArray[np.integer[Any]] | None = None
    confidence: NDArray[np.floating[Any]] | None = None
    latency_ms: NDArray[np.floating[Any]] | None = None
    cost_usd: NDArray[np.floating[Any]] | None = None
    tokens: NDArray[np.floating[Any]] | None = None
    n_classes: int | None = None

    def __post_init__(self) -> None:
        lengths = {name: len(arr) for name, arr in self.arrays().items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"window arrays differ in length: {lengths}")

    def arrays(self) -> dict[str, NDArray[Any]]:
        """The fields that are present, by name."""
        out: dict[str, NDArray[Any]] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                out[f.name] = value
        return out

    @property
    def n(self) -> int:
        """Number of tickets in the window."""
        return next((len(a) for a in self.arrays().values()), 0)

    @property
    def k(self) -> int:
        """Number of classes (queues, including ``unknown`` when it is a column)."""
        if self.n_classes is not None:
            return self.n_classes
        if self.queue_probs is not None:
            return int(self.queue_probs.shape[1])
        labels = [a for a in (self.predicted, self.knn_consensus, self.true_label) if a is not None]
        return int(max((a.max(initial=-1) for a in labels), default=-1)) + 1

    def has(self, *names: str) -> bool:
        """Whether every named field is present."""
        return all(getattr(self, name) is not None for name in names)

    def take(self, index: NDArray[np.integer[Any]]) -> WindowSample:
        """The sub-window of the tickets at ``index``."""
        subset = {name: arr[index] for name, arr in self.arrays().items()}
        return replace(self, n_classes=self.k if self.n else self.n_classes, **subset)


@dataclass(slots=True)
class SignalResult:
    """One signal's value on one (reference, current) pair of windows.

    ``threshold`` and ``drifted`` stay None until a calibration fills them in.
    """

    name: str
    value: float
    p_value: float | None
    n_reference: int
    n_current: int
    insufficient: bool = False
    details: dict[str, Any] = field(default_factory=dict)
    threshold: float | None = None
    drifted: bool | None = None


class SignalFn(Protocol):
    def __call__(
        self,
        reference: WindowSample,
        current: WindowSample,
        *,
        rng: np.random.Generator,
        **params: Any,
    ) -> SignalResult: ...


ExactThreshold = Callable[[SignalResult, float], "float | None"]


@dataclass(frozen=True, slots=True)
class SignalSpec:
    """A registered signal: its function and what it needs.

    ``direction`` says which side of the null is bad; ``value_only_params`` are the parameters
    a calibration passes when only the value matters (e.g. no permutations). A ``level``
    signal's value depends on the current window alone (a rate, a mean): a calibration then
    works on its difference from the reference's own level, so the reference's sampling error
    is part of the null. An ``exact`` signal's p-value is valid as it stands (an exact test
    that treats the reference as a sample too): a calibration takes its tail probability from
    the p-value, and ``exact(result, alpha)`` gives the value at which that p reaches alpha.
    """

    name: str
    fn: SignalFn
    requires: tuple[str, ...]
    min_current: int
    direction: Direction
    group: Group
    value_only_params: Mapping[str, Any]
    level: bool = False
    exact: ExactThreshold | None = None

    def __call__(
        self,
        reference: WindowSample,
        current: WindowSample,
        *,
        rng: np.random.Generator | int | None = None,
        **params: Any,
    ) -> SignalResult:
        missing = [f for f in self.requires if not (reference.has(f) and current.has(f))]
        if missing:
            return insufficient(self.name, reference, current, f"missing fields: {missing}")
        if current.n < self.min_current or reference.n < self.min_current:
            return insufficient(self.name, reference, current, f"fewer than {self.min_current}")
        generator = np.random.default_rng(DEFAULT_SEED if rng is None else rng)
        return self.fn(reference, current, rng=generator, **params)


_REGISTRY: dict[str, SignalSpec] = {}


def register(
    name: str,
    *,
    requires: tuple[str, ...],
    min_current: int = 30,
    direction: Direction = "increase",
    group: Group,
    value_only_params: Mapping[str, Any] | None = None,
    level: bool = False,
    exact: ExactThreshold | None = None,
) -> Callable[[SignalFn], SignalFn]:
    """Register a signal function under ``name``."""

    def decorator(fn: SignalFn) -> SignalFn:
        if name in _REGISTRY:
            raise ValueError(f"signal {name!r} is already registered")
        _REGISTRY[name] = SignalSpec(
            name,
            fn,
            requires,
            min_current,
            direction,
            group,
            dict(value_only_params or {}),
            level,
            exact,
        )
        return fn

    return decorator


def _load_builtin() -> None:
    importlib.import_module("monitor.signals")


def get_signal(name: str) -> SignalSpec:
    """The registered signal called ``name``."""
    _load_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no signal named {name!r}; known: {sorted(_REGISTRY)}") from None


def all_signals() -> dict[str, SignalSpec]:
    """Every registered signal, by name, in registration order."""
    _load_builtin()
    return dict(_REGISTRY)


def insufficient(
    name: str, reference: WindowSample, current: WindowSample, reason: str, n_current: int = -1
) -> SignalResult:
    """A result saying the windows cannot support this signal: value NaN, never a drift."""
    return SignalResult(
        name=name,
        value=math.nan,
        p_value=None,
        n_reference=reference.n,
        n_current=current.n if n_current < 0 else n_current,
        insufficient=True,
        details={"reason": reason},
    )
