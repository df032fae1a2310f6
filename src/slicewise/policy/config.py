"""The ``policies:`` section of the configuration, and the attributes a model carries.

Pydantic, as the rest of the configuration file: this is where data crosses the file boundary.
How the sections combine at run time is in ``rules``; what ``config check`` says about them
is in ``check``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from slicewise.policy.detect import KINDS

DataClass = Literal["public", "internal", "confidential", "regulated"]
CLASSES: tuple[DataClass, ...] = ("public", "internal", "confidential", "regulated")
"""Every data class, lowest first: a request's class is the highest it gets."""

Action = Literal["allow", "redact", "block", "route"]
InjectionAction = Literal["off", "flag", "block", "restrict"]

DETECTED: dict[str, DataClass] = {
    "CARD": "regulated",
    "IBAN": "regulated",
    "SSN": "regulated",
    "EMAIL": "confidential",
    "PHONE": "confidential",
    "API_KEY": "confidential",
    "PRIVATE_KEY": "confidential",
    "PASSWORD": "confidential",
    "IP": "internal",
}
"""The default mapping from a detected kind to the class it gives a request."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelAttributes(_Strict):
    """What policies know about a model; written under ``attributes:`` of a model."""

    self_hosted: bool | None = Field(
        None, description="runs on your own hardware; default: true for kind local, else false"
    )
    region: str | None = Field(None, description="where requests are processed, e.g. eu")
    retains_data: bool | None = Field(
        None, description="the provider keeps prompts; default: false when self-hosted, else true"
    )
    certifications: tuple[str, ...] = Field((), description="e.g. soc2, hipaa, iso27001")
    hardened: bool = Field(False, description="trusted with prompts flagged as injection attempts")


class Where(_Strict):
    """A predicate on model attributes; every field given must hold (a list: any of them)."""

    self_hosted: bool | None = None
    region: str | tuple[str, ...] | None = None
    retains_data: bool | None = None
    certifications: tuple[str, ...] = Field((), description="the model must hold all of them")
    hardened: bool | None = None


class RuleConfig(_Strict):
    name: str = Field(description="named in errors, the ledger and the metrics")
    classes: tuple[DataClass, ...] = Field(
        (), description="the request classes the rule applies to; empty: every request"
    )
    where: Where | None = Field(None, description="models allowed, by their attributes")
    sets: tuple[str, ...] = Field((), description="models allowed, by named sets (any of them)")
    action: Action = "allow"
    kinds: tuple[str, ...] = Field((), description="for redact: kinds to replace; empty: all")
    restore: bool = Field(False, description="for redact: put the values back into the answer")

    @model_validator(mode="after")
    def _coherent(self) -> RuleConfig:
        if self.action == "route" and not self.sets:
            raise ValueError("action route needs sets: the named sets requests may go to")
        if self.restore and self.action != "redact":
            raise ValueError("restore applies only to action redact")
        if self.kinds and self.action != "redact":
            raise ValueError("kinds applies only to action redact")
        _known_kinds(self.kinds)
        return self


class ClassifyConfig(_Strict):
    """How a request gets its data classes: declared by the client, or detected."""

    header: str = Field("x-slicewise-data-class", description="request header naming a class")
    field: str = Field("data_class", description="key of the body's metadata naming a class")
    detect: dict[str, DataClass] = Field(
        default_factory=lambda: dict(DETECTED), description="detected kind -> class"
    )
    default: DataClass = "public"

    @field_validator("detect")
    @classmethod
    def _kinds(cls, value: dict[str, DataClass]) -> dict[str, DataClass]:
        _known_kinds(tuple(value))
        return value


class InjectionConfig(_Strict):
    action: InjectionAction = Field("flag", description="off, flag, block or restrict")
    threshold: float = Field(0.5, ge=0, le=1, description="a score at or above it is flagged")
    roles: tuple[Literal["system", "user", "assistant", "tool"], ...] = Field(
        ("user", "tool"), description="roles whose messages are scored (tool: tool results)"
    )


class PoliciesConfig(_Strict):
    classify: ClassifyConfig = Field(default_factory=ClassifyConfig)
    sets: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="named sets of models (provider/model)"
    )
    rules: tuple[RuleConfig, ...] = ()
    injection: InjectionConfig = Field(default_factory=InjectionConfig)

    @model_validator(mode="after")
    def _unique(self) -> PoliciesConfig:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.name in seen:
                raise ValueError(f"two rules are named {rule.name!r}; names must be unique")
            seen.add(rule.name)
        return self

    def unknown(self, models: set[str]) -> list[tuple[tuple[str | int, ...], str]]:
        """References to models or sets that do not exist: (path, message) each."""
        found: list[tuple[tuple[str | int, ...], str]] = []
        for name, members in self.sets.items():
            for i, model in enumerate(members):
                if model not in models:
                    found.append(
                        (
                            ("policies", "sets", name, i),
                            f"model {model!r} is not configured; add it under models",
                        )
                    )
        for r, rule in enumerate(self.rules):
            for i, name in enumerate(rule.sets):
                if name not in self.sets:
                    known = ", ".join(self.sets) or "none"
                    found.append(
                        (
                            ("policies", "rules", r, "sets", i),
                            f"set {name!r} is not defined under policies.sets (defined: {known})",
                        )
                    )
        return found


def _known_kinds(kinds: tuple[str, ...]) -> None:
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown kind {unknown[0]!r}; kinds are {', '.join(KINDS)}")
