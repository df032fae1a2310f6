"""The configuration file's ``batch`` section: rate limits per provider and journal syncing."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ProviderLimit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rpm: int | None = Field(None, gt=0, description="requests per minute to this provider")
    tpm: int | None = Field(None, gt=0, description="tokens per minute (prompt + max_tokens)")


class BatchConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    limits: dict[str, ProviderLimit] = Field(
        default_factory=dict, description="provider name -> its rate limits for batch runs"
    )
    fsync: bool = Field(True, description="sync the progress journal before each call leaves")
