"""The gateway's runtime view of its configuration: models, providers and routes.

Built once at start: prices come from the configuration, else from the offline price table;
providers marked ``discover`` add the models they list; each route gets its router (the
cold-start router, or a trained one loaded from its file) and its target.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from pathlib import Path

from slicewise.cards import ModelCard
from slicewise.chat import Usage
from slicewise.config import Config, ModelConfig, ProviderConfig, RouteConfig
from slicewise.errors import ConfigError
from slicewise.providers.base import Provider
from slicewise.routing.artifact import load as load_router
from slicewise.routing.coldstart import ColdStartRouter
from slicewise.routing.router import Router
from slicewise.routing.target import Target, parse_target
from slicewise.upkeep.prices import Priced, day_of, priced, today
from slicewise.upkeep.registry import Registry, Resolved

logger = logging.getLogger(__name__)
MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class Model:
    """One model at one provider, as the gateway serves it."""

    name: str
    provider: str
    upstream: str
    input_usd_per_mtok: Decimal | None
    output_usd_per_mtok: Decimal | None
    context_window: int | None = None
    max_output_tokens: int | None = None
    tier: int | None = None
    capabilities: frozenset[str] = frozenset({"tools", "json", "stream"})
    price_source: str = "config"
    history: Priced | None = None
    """Every price with its day, when the price changes; the fields above are today's."""

    @property
    def priced(self) -> bool:
        return self.input_usd_per_mtok is not None and self.output_usd_per_mtok is not None

    def cost(self, usage: Usage | None, at: float | None = None) -> Decimal | None:
        """Exact cost of a call at the price in force at Unix time ``at`` (default: today's);
        ``None`` when the price or the usage is unknown."""
        price_in, price_out = self.input_usd_per_mtok, self.output_usd_per_mtok
        if at is not None and self.history is not None:
            version = self.history.on(day_of(at))
            price_in, price_out = version.input_usd_per_mtok, version.output_usd_per_mtok
        if usage is None or price_in is None or price_out is None:
            return None
        return (usage.input_tokens * price_in + usage.output_tokens * price_out) / MILLION

    def card(self) -> ModelCard:
        return ModelCard(
            self.name,
            None if self.input_usd_per_mtok is None else float(self.input_usd_per_mtok),
            None if self.output_usd_per_mtok is None else float(self.output_usd_per_mtok),
            self.context_window,
            self.tier,
        )


@dataclass(frozen=True)
class Route:
    """A named route: its router, target, candidates (gateway names) and baseline."""

    name: str
    router: Router
    target: Target
    candidates: tuple[str, ...]
    fallback: tuple[str, ...]
    baseline: str | None
    names: Mapping[str, str]
    """Router's model name -> gateway model name."""

    @cached_property
    def router_names(self) -> Mapping[str, str]:
        """Gateway model name -> router's model name (``names`` inverted, once per route)."""
        return {gateway: router for router, gateway in self.names.items()}


@dataclass
class Catalog:
    models: dict[str, Model]
    providers: dict[str, Provider]
    routes: dict[str, Route]
    registry: Registry = field(default_factory=Registry)

    def resolve(self, name: str) -> Resolved:
        """The model or route a requested name stands for (alias, retirement)."""
        return self.registry.resolve(name)

    def model(self, name: str) -> Model | None:
        """A configured model, or an ad-hoc one at a configured provider (``provider/id``)."""
        found = self.models.get(name)
        if found is not None:
            return found
        provider, _, upstream = name.partition("/")
        if provider in self.providers and upstream:
            return _model(ModelConfig(name=name))
        return None

    async def aclose(self) -> None:
        for provider in self.providers.values():
            await provider.aclose()


async def build(config: Config, env: Mapping[str, str] | None = None) -> Catalog:
    env = os.environ if env is None else env
    for problem in unset_keys(config, env):
        logger.warning("%s", problem)
    providers = {name: make_provider(name, p, env) for name, p in config.providers.items()}
    for provider in providers.values():
        await provider.start()
    models = {m.name: _model(m) for m in config.models}
    for name, p in config.providers.items():
        if p.discover:
            for upstream in await providers[name].models():
                models.setdefault(
                    f"{name}/{upstream}", _model(ModelConfig(name=f"{name}/{upstream}"))
                )
    registry = Registry.of(config)
    routes = {
        name: _route(name, registry.route(name, r), models) for name, r in config.routes.items()
    }
    return Catalog(models, providers, routes, registry)


def unset_keys(config: Config, env: Mapping[str, str]) -> list[str]:
    """A line for each provider whose key variable is not set: its upstream will refuse it."""
    return [
        f"provider {name}: the environment variable {p.key_env} is not set, so its calls "
        "carry no key and will be refused"
        for name, p in config.providers.items()
        if p.key_env and not env.get(p.key_env)
    ]


def make_provider(name: str, config: ProviderConfig, env: Mapping[str, str]) -> Provider:
    key = env.get(config.key_env) if config.key_env else None
    if config.kind == "openai":
        from slicewise.providers.openai import OpenAICompatible
        from slicewise.wire.openai import TokenField

        url = config.base_url or "https://api.openai.com/v1"
        # OpenAI itself wants max_completion_tokens (its reasoning models refuse max_tokens);
        # other OpenAI-compatible servers mostly know only max_tokens
        field: TokenField = "max_completion_tokens" if "api.openai.com" in url else "max_tokens"
        return OpenAICompatible(
            name,
            url,
            api_key=key,
            key_env=config.key_env,
            headers=dict(config.headers),
            token_field=field,
        )
    if config.kind == "anthropic":
        from slicewise.providers.anthropic import Anthropic

        return Anthropic(
            name,
            config.base_url or "https://api.anthropic.com",
            api_key=key,
            key_env=config.key_env,
        )
    from slicewise.providers.local import LocalProvider

    return LocalProvider(name, Path(config.model_path) if config.model_path else None)


def _model(config: ModelConfig) -> Model:
    history = priced(config)
    now = history.on(today())
    if not now.known:
        logger.warning("model %s has no known price; its cost is reported as unknown", config.name)
    return Model(
        config.name,
        config.provider,
        config.upstream,
        now.input_usd_per_mtok,
        now.output_usd_per_mtok,
        history.context_window,
        config.max_output_tokens,
        config.tier,
        frozenset(config.capabilities),
        now.source,
        history if history.changes else None,
    )


def _route(name: str, config: RouteConfig, models: Mapping[str, Model]) -> Route:
    candidates = config.candidates or tuple(m for m in models if models[m].priced)
    if not candidates:
        candidates = tuple(models)
    if config.router == "coldstart":
        router: Router = ColdStartRouter([models[m].card() for m in candidates])
        names = {m: m for m in candidates}
    else:
        router = load_router(config.router)
        names = {m: config.aliases.get(m, m) for m in router.models}
        unknown = [m for m, g in names.items() if g not in models]
        if unknown:
            raise ConfigError(
                f"routes.{name}.router: {config.router} routes among "
                f"{', '.join(unknown)}, which are not configured models; map "
                "them under routes.{name}.aliases or add them under models"
            )
        candidates = tuple(g for g in names.values() if g in candidates)
    return Route(
        name,
        router,
        parse_target(config.target),
        candidates,
        config.fallback,
        config.baseline or _dearest(candidates, models),
        names,
    )


def _dearest(candidates: tuple[str, ...], models: Mapping[str, Model]) -> str | None:
    priced = [m for m in candidates if models[m].priced]
    if not priced:
        return None
    return max(priced, key=lambda m: models[m].card().output_usd_per_mtok or 0.0)
