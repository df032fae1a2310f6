"""The gateway's door: a request's key, what it may use, and room in its budgets and limits.

Off unless ``auth.required`` is set; then every chat and route request must carry a live key.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from slicewise.chat import ChatRequest
from slicewise.config import Config
from slicewise.gateway.catalog import Catalog, Model
from slicewise.gateway.plan import EXPLICIT, Plan, estimate_tokens
from slicewise.ledger import Ledger
from slicewise.tenancy.auth import Authenticator, authorize
from slicewise.tenancy.budget import Budgets, Principal, Ticket
from slicewise.tenancy.counters import open_counters

MILLION = Decimal(1_000_000)


class Guard:
    def __init__(self, authenticator: Authenticator, budgets: Budgets, default_output: int):
        self.authenticator = authenticator
        self.budgets = budgets
        self.default_output = default_output

    async def identify(self, headers: Mapping[str, str]) -> Ticket:
        """A ticket for the request's key; 401 without a live one."""
        return Ticket(await self.authenticator.identify(headers))

    def authorize(self, principal: Principal, request: ChatRequest, decided: Plan) -> None:
        """403 unless the key may use the route or model the request names."""
        authorize(principal, request.model, route=decided.route != EXPLICIT)

    async def admit(
        self, ticket: Ticket, request: ChatRequest, decided: Plan, catalog: Catalog
    ) -> None:
        """Authorize, then claim the request's ceiling and tokens; 403 or 429 when refused."""
        self.authorize(ticket.principal, request, decided)
        most = ceiling(catalog, request, decided, self.default_output)
        tokens = estimate_tokens(request) + (request.max_tokens or 0)  # as OpenAI's limits count
        await self.budgets.claim(ticket, most, tokens)

    async def aclose(self) -> None:
        await self.authenticator.aclose()
        await self.budgets.aclose()


async def open_guard(config: Config, ledger: Ledger) -> Guard | None:
    if not config.auth.required:
        return None
    counters = await open_counters(config.redis.url, config.redis.prefix)
    authenticator = Authenticator(ledger.engine, config.auth.cache_seconds)
    authenticator.watch(config.auth.revocation_seconds)
    return Guard(
        authenticator, Budgets(counters, ledger.engine), config.budgets.default_max_output_tokens
    )


def ceiling(catalog: Catalog, request: ChatRequest, decided: Plan, default_output: int) -> Decimal:
    """The most ``request`` can cost under ``decided``: the dearest model it may fall back to,
    or for a cascade every model of every stage. Unpriced models count as free."""
    prompt = estimate_tokens(request)
    costs = [
        _most(model, prompt, request.max_tokens, default_output)
        for name in {*decided.order, *(m for stage in decided.stages for m in stage)}
        if (model := catalog.model(name)) is not None
    ]
    if decided.stages:
        return sum(costs, Decimal(0))
    return max(costs, default=Decimal(0))


def _most(model: Model, prompt: int, max_tokens: int | None, default_output: int) -> Decimal:
    if not model.priced:
        return Decimal(0)
    assert model.input_usd_per_mtok is not None and model.output_usd_per_mtok is not None
    output = max_tokens or model.max_output_tokens or default_output
    return (prompt * model.input_usd_per_mtok + output * model.output_usd_per_mtok) / MILLION
