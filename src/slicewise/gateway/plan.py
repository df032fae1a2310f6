"""Planning a request: which models may serve it, which one first, and in what fallback order.

Eligibility comes before any cost is compared: a model must be a candidate of the route, the
policies' decision must allow it, its circuit breaker must be closed (or probing), and it must
support what the request needs (tools, JSON mode, streaming) within its context window. The
router then picks among the eligible; the rest, best predicted quality first, are the
fallbacks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from slicewise.chat import ChatRequest
from slicewise.errors import RequestError
from slicewise.features import prompt_text
from slicewise.gateway.catalog import Catalog, Model, Route
from slicewise.policy.decision import Decision
from slicewise.routing.cascade import CascadeRouter
from slicewise.routing.cost import CHARS_PER_TOKEN
from slicewise.routing.route import Route as Routed
from slicewise.routing.stages import Cascade

EXPLICIT = "explicit"


@dataclass(frozen=True)
class Plan:
    route: str
    router: str
    order: tuple[str, ...]
    """The chosen model first, then the fallbacks."""
    candidates: tuple[dict[str, Any], ...]
    reason: str
    baseline: str | None
    stages: tuple[tuple[str, ...], ...] = ()
    """For a cascade: the models of each stage; ``order`` then holds the last stage's."""
    cascade: Cascade | None = None
    redirected_from: str | None = None
    """The retired model the client named, when the registry sent it to its replacement."""
    policy: Decision | None = None
    """What the policies decided (``None`` without policies); the ledger records it."""


def plan(
    catalog: Catalog,
    request: ChatRequest,
    available: Callable[[str], bool],
    policy: Decision | None = None,
) -> Plan:
    """Decide where ``request`` goes; ``RequestError`` when no model can take it, or when the
    policies block it."""
    if policy is None:
        return _planned(catalog, request, available, None)
    if policy.blocked_by is not None:
        raise policy.refusal()
    return replace(_planned(catalog, request, available, policy), policy=policy)


def _planned(
    catalog: Catalog,
    request: ChatRequest,
    available: Callable[[str], bool],
    policy: Decision | None,
) -> Plan:
    resolved = catalog.resolve(request.model)
    name = resolved.name
    model = catalog.model(name)
    if model is not None and name not in catalog.routes:
        problem = (
            _unfit(model, request)
            or (policy.refuses(model.name) if policy else "")
            or ("" if available(model.name) else "circuit open")
        )
        if problem:
            raise RequestError(
                f"model {model.name} cannot serve this request: {problem}",
                param="model",
                status=400 if "circuit" not in problem else 503,
            )
        why = f"the client asked for {resolved.redirected_from or resolved.alias or model.name}"
        if resolved.redirected_from:
            why += f", retired: redirected to {model.name}"
        return Plan(
            EXPLICIT,
            EXPLICIT,
            (model.name,),
            (),
            why,
            model.name,
            redirected_from=resolved.redirected_from,
        )
    route = catalog.routes.get(name)
    if route is None:
        raise RequestError(
            _unknown(catalog, request.model), param="model", status=404, code="model_not_found"
        )
    return _routed(catalog, route, request, available, policy)


def _routed(
    catalog: Catalog,
    route: Route,
    request: ChatRequest,
    available: Callable[[str], bool],
    policy: Decision | None,
) -> Plan:
    excluded = exclusions(catalog, route, request, available, policy)
    eligible = [m for m in route.candidates if m not in excluded]
    cascaded = _cascade(route, request, eligible)
    if cascaded is not None:
        return cascaded
    decision = route.router.route(
        _messages(request), route.target, candidates=[route.router_names[m] for m in eligible]
    )
    return decided_plan(route, decision, eligible, excluded)


def exclusions(
    catalog: Catalog,
    route: Route,
    request: ChatRequest,
    available: Callable[[str], bool],
    policy: Decision | None = None,
) -> dict[str, str]:
    """The route's candidates that cannot take ``request``, and why; ``RequestError`` when
    that is all of them."""
    excluded = {}
    for name in route.candidates:
        problem = _unfit(catalog.models[name], request) or (policy.refuses(name) if policy else "")
        if problem or not available(name):
            excluded[name] = problem or "circuit open"
    if len(excluded) == len(route.candidates):
        why = "; ".join(f"{m}: {p}" for m, p in excluded.items())
        raise RequestError(
            f"no model of route {route.name!r} can serve this request ({why})",
            param="model",
            status=503 if "circuit" in why else 400,
        )
    return excluded


def decided_plan(
    route: Route, decision: Routed, eligible: list[str], excluded: dict[str, str]
) -> Plan:
    """The plan for the router's ``decision``: its model, then the fallbacks."""
    chosen = route.names[decision.model]
    weighed = [c for c in decision.candidates if route.names.get(c.model) in eligible]
    rest = [m for m in route.fallback if m in eligible and m != chosen] or [
        route.names[c.model]
        for c in sorted(weighed, key=lambda c: -c.quality)
        if route.names[c.model] != chosen
    ]
    candidates = tuple(
        {
            "model": route.names.get(c.model, c.model),
            "quality": round(c.quality, 4),
            "cost": c.cost,
            "eligible": route.names.get(c.model) in eligible,
            "note": excluded.get(route.names.get(c.model, ""), c.note),
        }
        for c in decision.candidates
    )
    return Plan(
        route.name, route.router.kind, (chosen, *rest), candidates, decision.reason, route.baseline
    )


def _cascade(route: Route, request: ChatRequest, eligible: list[str]) -> Plan | None:
    """A cascade plan when the route's router picks a cascade whose models are all eligible."""
    router = route.router
    if not isinstance(router, CascadeRouter) or not router.cascades:
        return None
    option = router.option_for(prompt_text(_messages(request)), route.target)
    stages = tuple(tuple(route.names[router.models[j]] for j in s) for s in option.stages)
    if len(stages) < 2 or any(m not in eligible for stage in stages for m in stage):
        return None  # a single model, or a stage model unavailable: route directly
    reason = f"cascade router, target {route.target}: {option.name(router.models)}"
    return Plan(route.name, "cascade", stages[-1], (), reason, route.baseline, stages, option)


def _messages(request: ChatRequest) -> tuple[tuple[str, str], ...]:
    return tuple((m.role, m.content or "") for m in request.messages)


def _unfit(model: Model, request: ChatRequest) -> str:
    """Why ``model`` cannot take ``request``, or '' when it can."""
    if request.tools and "tools" not in model.capabilities:
        return "does not support tools"
    if (
        request.response_format is not None
        and request.response_format.kind != "text"
        and ("json" not in model.capabilities)
    ):
        return "does not support JSON mode"
    if request.stream and "stream" not in model.capabilities:
        return "does not support streaming"
    if model.context_window is not None:
        needed = estimate_tokens(request) + (request.max_tokens or 0)
        if needed > model.context_window:
            return (
                f"needs about {needed} tokens (prompt + max_tokens), over its context "
                f"window of {model.context_window}"
            )
    return ""


def estimate_tokens(request: ChatRequest) -> int:
    chars = sum(len(m.content or "") for m in request.messages)
    return int(chars / CHARS_PER_TOKEN) + 4 * len(request.messages)


def _unknown(catalog: Catalog, name: str) -> str:
    routes = ", ".join(catalog.routes) or "none"
    shown = ", ".join(list(catalog.models)[:10]) or "none"
    more = f" and {len(catalog.models) - 10} more" if len(catalog.models) > 10 else ""
    return (
        f"model {name!r} is neither a route nor a configured provider/model; routes: "
        f"{routes}; models: {shown}{more} (GET /v1/models lists them)"
    )
