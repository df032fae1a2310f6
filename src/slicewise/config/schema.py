"""The configuration file's schema (pydantic: this is where data crosses the file boundary).

Secrets never live in the file: a provider names the environment variable holding its key.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from slicewise.batch.settings import BatchConfig
from slicewise.config.upkeep import DriftConfig, PriceChange, RegistryConfig
from slicewise.policy.config import ModelAttributes, PoliciesConfig

ProviderKind = Literal["openai", "anthropic", "local"]
Capability = Literal["tools", "json", "stream"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProviderConfig(_Strict):
    kind: ProviderKind
    base_url: str | None = None
    key_env: str | None = Field(
        None, description="environment variable holding the API key (never the key itself)"
    )
    headers: dict[str, str] = Field(default_factory=dict)
    model_path: str | None = Field(None, description="GGUF file for kind: local")
    discover: bool = Field(False, description="offer every model the provider lists at start")

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return None if value is None else value.rstrip("/")


class ModelConfig(_Strict):
    name: str = Field(description="provider/model, e.g. openai/gpt-4o-mini")
    input_usd_per_mtok: Decimal | None = Field(None, ge=0)
    output_usd_per_mtok: Decimal | None = Field(None, ge=0)
    context_window: int | None = Field(None, gt=0)
    max_output_tokens: int | None = Field(None, gt=0)
    tier: int | None = Field(None, ge=0, description="expected ability, higher is stronger")
    capabilities: tuple[Capability, ...] = ("tools", "json", "stream")
    version: str | None = Field(None, description="the provider's dated version, if any")
    retires: date | None = Field(None, description="UTC day the provider retires the model")
    replaced_by: str | None = Field(None, description="model requests go to once retired")
    prices: tuple[PriceChange, ...] = Field(
        (), description="dated price changes: [{from: DATE, input: USD/Mtok, output: USD/Mtok}]"
    )

    @field_validator("prices")
    @classmethod
    def _dated(cls, value: tuple[PriceChange, ...]) -> tuple[PriceChange, ...]:
        days = [change.effective for change in value]
        if days != sorted(set(days)):
            raise ValueError("price changes must be in date order, one per date")
        return value

    attributes: ModelAttributes = Field(
        default_factory=ModelAttributes, description="what policies know about the model"
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        provider, _, model = value.partition("/")
        if not provider or not model:
            raise ValueError(f"{value!r} must be written provider/model, e.g. openai/gpt-4o-mini")
        return value

    @property
    def provider(self) -> str:
        return self.name.partition("/")[0]

    @property
    def upstream(self) -> str:
        """The model id the provider knows it by."""
        return self.name.partition("/")[2]


class RouteConfig(_Strict):
    router: str = Field("coldstart", description="'coldstart' or a router file from train")
    target: str = Field("0.95", description="share of best single's quality, or kind=value")
    candidates: tuple[str, ...] = Field((), description="models to choose among; default all")
    fallback: tuple[str, ...] = Field((), description="fallback order; default by quality")
    baseline: str | None = Field(None, description="model whose cost savings are measured against")
    aliases: dict[str, str] = Field(
        default_factory=dict, description="router's model name -> provider/model"
    )


class ServerConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    attempt_timeout: float = Field(60.0, gt=0, description="seconds per upstream attempt")
    deadline: float = Field(120.0, gt=0, description="seconds for the whole request")
    retries: int = Field(2, ge=0, le=10, description="retries per model before falling back")
    stage_timeout: float = Field(30.0, gt=0, description="seconds per cascade stage")
    max_body_bytes: int = Field(4_000_000, gt=0)
    max_messages: int = Field(2_000, gt=0)
    public_metrics: bool = Field(
        False, description="serve /metrics to anyone (default: admins, like /admin/report)"
    )


class LedgerConfig(_Strict):
    enabled: bool = Field(
        True, description="false records nothing (keys and tenants still live in the database)"
    )
    url: str = Field("sqlite:///slicewise.db", description="sqlite:///PATH or postgresql://...")
    journal: str | None = Field(
        None, description="journal directory (default: beside a SQLite file, else ./)"
    )
    fsync: bool = Field(False, description="sync each journal line to disk before answering")
    writer: Literal["process", "thread"] = Field(
        "process",
        description="who writes rows to the database: a child process (keeps the gateway's "
        "p99) or a thread of the gateway's process",
    )

    @field_validator("url")
    @classmethod
    def _database(cls, url: str) -> str:
        from slicewise.ledger.engine import POSTGRES, SQLITE

        if not url.startswith((SQLITE, *POSTGRES)):
            raise ValueError("use sqlite:///PATH or postgresql://USER@HOST/DATABASE")
        return url


class AuthConfig(_Strict):
    required: bool = Field(
        False, description="chat and route endpoints need an API key made by slicewise keys"
    )
    cache_seconds: float = Field(
        10.0, ge=0, description="how long a key lookup is reused (a changed limit waits this long)"
    )
    revocation_seconds: float = Field(
        1.0, gt=0, description="how often to check for revoked keys (a revocation waits this long)"
    )


class BudgetsConfig(_Strict):
    default_max_output_tokens: int = Field(
        4096, gt=0, description="output tokens reserved when neither request nor model says"
    )


class RedisConfig(_Strict):
    url: str | None = Field(
        None,
        description="redis://HOST:PORT/DB to share budget and rate counters between "
        "gateway instances; none keeps them in the process",
    )
    prefix: str = Field("slicewise", description="prefix of every counter's Redis key")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value


class Config(_Strict):
    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    models: tuple[ModelConfig, ...] = ()
    routes: dict[str, RouteConfig] = Field(default_factory=lambda: {"auto": RouteConfig()})
    server: ServerConfig = Field(default_factory=ServerConfig)
    ledger: LedgerConfig = Field(default_factory=LedgerConfig)
    auth: AuthConfig = Field(default_factory=AuthConfig)
    budgets: BudgetsConfig = Field(default_factory=BudgetsConfig)
    redis: RedisConfig = Field(default_factory=RedisConfig)
    aliases: dict[str, str] = Field(
        default_factory=dict, description="a name clients and routes may use -> provider/model"
    )
    registry: RegistryConfig = Field(default_factory=RegistryConfig)
    drift: DriftConfig = Field(default_factory=DriftConfig)
    policies: PoliciesConfig | None = Field(
        None, description="data classes, model rules, redaction, injection (none: no checks)"
    )
    batch: BatchConfig = Field(default_factory=BatchConfig)

    @model_validator(mode="after")
    def _references(self) -> Config:
        from slicewise.config.registry import check_registry

        check_registry(self)
        problems = list(self._wrong_references())
        if problems:
            raise PlacedError(*problems[0], others=problems[1:])
        return self

    def _wrong_references(self) -> Iterator[Problem]:
        """Every name that points nowhere, and every file that is not there: (path, why)."""
        names = {m.name for m in self.models} | set(self.aliases)
        for i, model in enumerate(self.models):
            if model.provider not in self.providers:
                yield (
                    ("models", i, "name"),
                    f"provider {model.provider!r} is not configured; "
                    f"configured providers: {', '.join(self.providers) or 'none'}",
                )
        for route_name, route in self.routes.items():
            if route_name in names:
                yield ("routes", route_name), "a route may not share a model's name"
            for key in ("candidates", "fallback"):
                for i, name in enumerate(getattr(route, key)):
                    if name not in names:
                        yield (
                            ("routes", route_name, key, i),
                            f"model {name!r} is not configured; add it under models or remove "
                            "it here",
                        )
            if route.router != "coldstart" and not Path(route.router).is_file():
                yield (
                    ("routes", route_name, "router"),
                    f"no such router file {route.router!r} (from {Path.cwd()}); train one with "
                    "`slicewise train --data OUTCOMES --out FILE`, or use coldstart",
                )
            if route.baseline is not None and route.baseline not in names:
                yield (
                    ("routes", route_name, "baseline"),
                    f"model {route.baseline!r} is not configured",
                )
        if self.policies:
            yield from self.policies.unknown(names)

    def model(self, name: str) -> ModelConfig | None:
        return next((m for m in self.models if m.name == name), None)

    def empty(self) -> str:
        """Why nothing could be served, or '' (a provider may list its models at start)."""
        if self.models or self.providers:
            return ""
        return "no providers and no models: nothing to route to; add them (see examples/)"


Problem = tuple[tuple[str | int, ...], str]
"""A place in the configuration and what is wrong there."""


class PlacedError(ValueError):
    """Cross-reference problems at known paths (turned into a ConfigError by the loader): the
    first, and ``others`` found in the same pass."""

    def __init__(self, path: tuple[str | int, ...], message: str, others: Sequence[Problem] = ()):
        self.path = path
        self.problems: list[Problem] = [(path, message), *others]
        super().__init__(message)
