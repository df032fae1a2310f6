"""The embedded default: what ``slicewise serve`` runs with no configuration file.

The local slice (when its model is installed), every provider whose key is in the
environment (each vendor's usual variables, with ``*_BASE_URL`` overrides), a cold-start
``auto`` route over all of them, and a SQLite ledger. Providers found this way offer the
models they list.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from decimal import Decimal

from slicewise.config.schema import Config, ModelConfig, ProviderConfig

# name -> (kind, key variable, base URL variable, default base URL)
VENDORS: dict[str, tuple[str, str, str, str]] = {
    "openai": ("openai", "OPENAI_API_KEY", "OPENAI_BASE_URL", "https://api.openai.com/v1"),
    "anthropic": (
        "anthropic",
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_BASE_URL",
        "https://api.anthropic.com",
    ),
    "groq": ("openai", "GROQ_API_KEY", "GROQ_BASE_URL", "https://api.groq.com/openai/v1"),
    "together": ("openai", "TOGETHER_API_KEY", "TOGETHER_BASE_URL", "https://api.together.xyz/v1"),
    "openrouter": (
        "openai",
        "OPENROUTER_API_KEY",
        "OPENROUTER_BASE_URL",
        "https://openrouter.ai/api/v1",
    ),
    "mistral": ("openai", "MISTRAL_API_KEY", "MISTRAL_BASE_URL", "https://api.mistral.ai/v1"),
    "deepseek": ("openai", "DEEPSEEK_API_KEY", "DEEPSEEK_BASE_URL", "https://api.deepseek.com/v1"),
    "gemini": (
        "openai",
        "GEMINI_API_KEY",
        "GEMINI_BASE_URL",
        "https://generativelanguage.googleapis.com/v1beta/openai",
    ),
}

LOCAL_MODEL = "local/smollm2-135m-instruct"


def default_config(env: Mapping[str, str] | None = None) -> Config:
    env = os.environ if env is None else env
    providers: dict[str, ProviderConfig] = {}
    models: list[ModelConfig] = []
    if _local_available():
        providers["local"] = ProviderConfig(kind="local")
        # Self-hosted: no per-token bill. Zero is a known price here, not a missing one.
        models.append(
            ModelConfig(
                name=LOCAL_MODEL,
                input_usd_per_mtok=Decimal(0),
                output_usd_per_mtok=Decimal(0),
                context_window=2048,
                tier=0,
                capabilities=("stream", "json"),
            )
        )
    for name, (kind, key_env, url_env, url) in VENDORS.items():
        if env.get(key_env):
            providers[name] = ProviderConfig(
                kind=kind,
                base_url=env.get(url_env) or url,
                key_env=key_env,
                discover=True,
            )
    return Config(providers=providers, models=tuple(models))


def _local_available() -> bool:
    try:
        from slicewise.providers.local import available
    except ImportError:
        return False
    return available()
