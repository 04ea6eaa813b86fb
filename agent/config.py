"""The one settings object. Nothing else in the project reads ``os.environ``.

Its fields are declared by section in :mod:`agent.settings` (core, routing, intake, monitor);
this class joins them and reads them from the environment.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import AliasChoices
from pydantic_settings import BaseSettings, SettingsConfigDict

from agent.settings.core import CoreSettings
from agent.settings.defaults import DEFAULT_EMBEDDING_MODEL, REPO_ROOT
from agent.settings.intake import IntakeSettings
from agent.settings.monitor import MonitorSettings
from agent.settings.routing import RoutingSettings

__all__ = ["DEFAULT_EMBEDDING_MODEL", "REPO_ROOT", "Settings", "get_settings"]


# Bases in reverse: pydantic collects fields from the last base first, so the environment
# table (README) lists the core settings first and the monitor's last.
class Settings(MonitorSettings, IntakeSettings, RoutingSettings, CoreSettings, BaseSettings):
    """Every setting, with its environment variable. See the README's configuration table."""

    model_config = SettingsConfigDict(
        env_prefix="TICKETWATCH_", env_file=".env", extra="ignore", populate_by_name=True
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()


def env_names(name: str) -> list[str]:
    """The environment variables that set field ``name``."""
    field = Settings.model_fields[name]
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(a) for a in alias.choices]
    if isinstance(alias, str):
        return [alias]
    return [f"TICKETWATCH_{name.upper()}"]


def settings_reference() -> list[tuple[str, str, str]]:
    """(environment variable, default, description) for every setting, in declaration order."""
    rows = []
    for name, field in Settings.model_fields.items():
        if field.default_factory is not None:
            default = "(computed)"
        elif field.default is None:
            default = "unset"
        else:
            default = f"`{field.default}`"
        envs = " / ".join(f"`{e}`" for e in env_names(name))
        rows.append((envs, default, field.description or ""))
    return rows
