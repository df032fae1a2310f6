"""Configuration of upkeep: dated price changes, the model registry's rules, live drift.

A model's prices may change on a date (``prices: [{from: 2026-01-01, input: .., output: ..}]``);
``registry`` says how early retirements are warned of and what a request to a retired model
gets; ``drift`` samples live traffic into a shadow comparison with a reference model, globally
or per route.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Compare = Literal["auto", "exact", "json", "judge"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class PriceChange(_Strict):
    """A price in force from a date (UTC) until the next change."""

    effective: date = Field(alias="from", description="first UTC day the price applies")
    input: Decimal = Field(ge=0, description="USD per million input tokens")
    output: Decimal = Field(ge=0, description="USD per million output tokens")


class RegistryConfig(_Strict):
    warn_days: int = Field(
        30, ge=0, description="warn this many days before a model's retirement date"
    )
    retired: Literal["redirect", "fail"] = Field(
        "redirect",
        description="a request to a retired model goes to its replaced_by (redirect) or "
        "is refused naming the replacement (fail)",
    )


class DriftRoute(_Strict):
    """One route's drift settings; a field left out takes the global value."""

    share: float | None = Field(None, ge=0, le=1, description="share of requests sampled")
    reference: str | None = Field(None, description="model the sample is also sent to")
    daily_usd: Decimal | None = Field(None, ge=0, description="shadow spend cap per UTC day")
    compare: Compare | None = None
    judge: str | None = Field(None, description="judge model for compare: judge")
    rubric: str | None = Field(None, description="what the judge checks, in a sentence or two")
    target: float | None = Field(None, ge=0, le=1, description="agreement below it alerts")


class DriftConfig(_Strict):
    share: float = Field(0.0, ge=0, le=1, description="share sampled; 0 turns drift off")
    reference: str | None = Field(None, description="provider/model or alias to compare with")
    daily_usd: Decimal | None = Field(
        Decimal(1), ge=0, description="shadow spend cap per route per UTC day; null: no cap"
    )
    compare: Compare = Field(
        "auto", description="auto: json when the request asked for JSON, else exact"
    )
    judge: str | None = None
    rubric: str | None = None
    target: float = Field(0.8, ge=0, le=1)
    min_samples: int = Field(20, ge=1, description="samples before an alert may fire")
    alert_when: Literal["mean", "upper"] = Field(
        "mean",
        description="mean: the estimate is below the target; upper: so is the upper end of its "
        "95% interval (fewer false alarms, later alerts)",
    )
    window: int = Field(200, ge=1, description="latest samples the estimate is over")
    queue: int = Field(256, ge=1, description="samples waiting; more are dropped and counted")
    workers: int = Field(2, ge=1, le=32, description="shadow calls in flight at once")
    routes: dict[str, DriftRoute] = Field(default_factory=dict)

    def models(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Every model name drift refers to, with its place in the file."""
        named: list[tuple[tuple[str | int, ...], str]] = []
        for key in ("reference", "judge"):
            if getattr(self, key) is not None:
                named.append((("drift", key), getattr(self, key)))
        for route, settings in self.routes.items():
            for key in ("reference", "judge"):
                if getattr(settings, key) is not None:
                    named.append((("drift", "routes", route, key), getattr(settings, key)))
        return named
