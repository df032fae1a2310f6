"""The gateway's one YAML configuration: providers, models, routes, server and ledger."""

from slicewise.config.load import load_config
from slicewise.config.schema import Config, ModelConfig, ProviderConfig, RouteConfig

__all__ = ["Config", "ModelConfig", "ProviderConfig", "RouteConfig", "load_config"]
