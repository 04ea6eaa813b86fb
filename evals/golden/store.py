"""Golden sets: content-addressed JSONL in ``<data_dir>/golden``, registered in Postgres.

A set is named and versioned; its content hash identifies what it holds. Building the same
cases again is a no-op (and restores a lost file); building other cases under a name and
version already taken is refused: a golden set never changes under its name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from agent.models import GoldenSet
from agent.services.operators import Actor, audit
from agent.taxonomy import Taxonomy
from evals import repository
from evals.errors import EvalSetupError
from evals.golden.cases import GoldenCase, content_hash, file_hash, read_golden, write_golden

DEFAULT_GOLDEN = "banking77-test"
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,49}$")


def golden_dir(data_dir: Path) -> Path:
    return data_dir / "golden"


def file_name(name: str, version: str, digest: str) -> str:
    return f"{name}-{version}-{digest[:12]}.jsonl"


@dataclass(frozen=True)
class BuiltGolden:
    row: GoldenSet
    path: Path
    created: bool
    restored_file: bool


def _check_identity(name: str, version: str) -> None:
    if not NAME.match(name):
        raise EvalSetupError(f"golden set name {name!r}: use lowercase letters, digits, . _ -")
    if not VERSION.match(version):
        raise EvalSetupError(f"golden set version {version!r}: use letters, digits, . _ + -")


async def build_golden_set(
    session: AsyncSession,
    *,
    data_dir: Path,
    name: str,
    version: str,
    cases: Sequence[GoldenCase],
    taxonomy: Taxonomy,
    source: str,
    created_by: str,
) -> BuiltGolden:
    """Write and register a golden set; idempotent for the same cases."""
    _check_identity(name, version)
    if not cases:
        raise EvalSetupError("a golden set needs at least one case")
    digest = content_hash(cases)
    existing = await repository.golden_set(session, name, version)
    if existing is not None and existing.content_hash != digest:
        raise EvalSetupError(
            f"golden set {name} {version} exists with other cases (hash "
            f"{existing.content_hash[:12]}, these are {digest[:12]}); golden sets never change: "
            "build these under a new --version"
        )
    path = golden_dir(data_dir) / file_name(name, version, digest)
    restored = not path.is_file() or file_hash(path) != digest
    if restored:
        write_golden(cases, path)
    if existing is not None:
        return BuiltGolden(existing, path, created=False, restored_file=restored)
    row = await repository.add_golden_set(
        session,
        name=name,
        version=version,
        content_hash=digest,
        file_name=path.name,
        n_cases=len(cases),
        taxonomy=f"{taxonomy.name}@{taxonomy.version}",
        source=source,
        created_by=created_by,
    )
    await audit(
        session,
        Actor(created_by, "operator"),
        "golden.build",
        f"{name}@{version}",
        content_hash=digest,
        cases=len(cases),
        taxonomy=f"{taxonomy.name}@{taxonomy.version}",
        source=source,
    )
    return BuiltGolden(row, path, created=True, restored_file=False)


def parse_ref(ref: str | None) -> tuple[str, str | None]:
    """``name`` or ``name@version``; ``None`` is the default set, latest version."""
    if not ref:
        return DEFAULT_GOLDEN, None
    name, _, version = ref.partition("@")
    return name, version or None


async def find_golden_set(session: AsyncSession, ref: str | None) -> GoldenSet:
    name, version = parse_ref(ref)
    if version is None:
        row = await repository.latest_golden_set(session, name)
    else:
        row = await repository.golden_set(session, name, version)
    if row is None:
        what = f"{name}@{version}" if version else name
        raise EvalSetupError(
            f"no golden set {what!r}: run `ticketwatch eval build-golden` "
            "(or list them with `ticketwatch eval list`)"
        )
    return row


def load_cases(row: GoldenSet, data_dir: Path) -> list[GoldenCase]:
    """The set's cases, read from its file after checking the file still has its hash."""
    path = golden_dir(data_dir) / row.file_name
    if not path.is_file():
        raise EvalSetupError(
            f"the file of golden set {row.name} {row.version} is missing ({path}): build it "
            "again with `ticketwatch eval build-golden` and the same source and version"
        )
    if file_hash(path) != row.content_hash:
        raise EvalSetupError(
            f"{path} was changed after golden set {row.name} {row.version} was built (its "
            "hash differs); build it again from its source"
        )
    return read_golden(path)
