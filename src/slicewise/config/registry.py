"""Cross-references of the registry and drift sections: aliases, replacements, drift models."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slicewise.config.schema import Config


def check_registry(config: Config) -> None:
    """Raise a ``PlacedError`` at the first alias, replacement or drift name that is wrong."""
    from slicewise.config.schema import PlacedError

    names = {m.name for m in config.models}
    for alias, target in config.aliases.items():
        if alias in names:
            raise PlacedError(("aliases", alias), "an alias may not share a model's name")
        if target not in names and target not in config.routes:
            raise PlacedError(
                ("aliases", alias),
                f"{target!r} is neither a configured model nor a route; add it under models",
            )
    for i, model in enumerate(config.models):
        if model.replaced_by is None:
            continue
        if model.replaced_by == model.name:
            raise PlacedError(("models", i, "replaced_by"), "a model cannot replace itself")
        if config.aliases.get(model.replaced_by, model.replaced_by) not in names:
            raise PlacedError(
                ("models", i, "replaced_by"),
                f"model {model.replaced_by!r} is not configured; add it under models",
            )
    _check_drift(config, names)


def _check_drift(config: Config, names: set[str]) -> None:
    from slicewise.config.schema import PlacedError

    for path, name in config.drift.models():
        if config.aliases.get(name, name) not in names:
            raise PlacedError(path, f"model {name!r} is not configured; add it under models")
    for route in config.drift.routes:
        if route not in config.routes and route != "explicit":
            raise PlacedError(
                ("drift", "routes", route),
                f"no route {route!r}; routes: {', '.join(config.routes)} (or explicit)",
            )
    if config.drift.share > 0 and config.drift.reference is None:
        own = {r for r, settings in config.drift.routes.items() if settings.reference is not None}
        if set(config.routes) - own:
            raise PlacedError(
                ("drift", "reference"),
                "drift samples traffic (share > 0) but names no reference model to compare "
                "with; set drift.reference or each route's reference",
            )
