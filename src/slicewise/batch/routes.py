"""Routing many requests at once: one featurisation and one prediction per chunk of prompts.

The gateway plans one request at a time (``gateway.plan.plan``); a batch plans a chunk of them
with the same eligibility rules and the same decision rule, vectorised: ``decide`` turns a
router's predictions for ``n`` prompts into the ``n`` decisions ``Router.route`` would have
made one by one, and ``plan_many`` turns those into gateway plans. Explicit models, unknown
models and cascade routes are planned by the gateway's ``plan`` itself, one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from slicewise.chat import ChatRequest
from slicewise.errors import RoutingError, SlicewiseError
from slicewise.features import prompt_text
from slicewise.gateway.catalog import Catalog, Route
from slicewise.gateway.plan import Plan, decided_plan, exclusions, plan
from slicewise.policy.decision import Decision as PolicyDecision
from slicewise.routing.cascade import CascadeRouter
from slicewise.routing.route import Candidate
from slicewise.routing.route import Route as Decision
from slicewise.routing.router import Router
from slicewise.routing.target import Target

Planned = Plan | SlicewiseError


def decide(
    router: Router,
    texts: Sequence[str],
    target: Target | None = None,
    eligible: np.ndarray | None = None,
) -> list[Decision]:
    """The decision for each prompt, as ``router.route`` would make it for each alone.

    ``eligible`` is ``(n, len(router.models))``: which models each prompt may go to (default:
    every model with a known price).
    """
    if eligible is None:
        eligible = np.broadcast_to(router.cost.known(), (len(texts), len(router.models)))
    quality, cost = router.predict(list(texts))
    choice = router.choose(quality, cost, target, eligible)
    return [
        _decision(router, quality[i], cost[i], eligible[i], int(choice[i]), target)
        for i in range(len(texts))
    ]


def _decision(
    router: Router,
    quality: np.ndarray,
    cost: np.ndarray,
    eligible: np.ndarray,
    choice: int,
    target: Target | None,
) -> Decision:
    weighed = tuple(
        Candidate(
            m,
            float(quality[j]),
            None if np.isnan(cost[j]) else float(cost[j]),
            bool(eligible[j]),
            "" if eligible[j] else "not a candidate",
        )
        for j, m in enumerate(router.models)
    )
    reason = router._reason(weighed[choice], target)
    return Decision(router.models[choice], router.kind, weighed, reason)


def plan_many(
    catalog: Catalog,
    requests: Sequence[ChatRequest],
    available: Callable[[str], bool],
    policies: Sequence[PolicyDecision | None] | None = None,
) -> list[Planned]:
    """A plan (or the error that refuses it) for each request, in order; ``policies`` holds
    each request's policy decision (see ``items``), which limits the models it may go to."""
    decisions = policies or [None] * len(requests)
    planned: list[Planned | None] = [None] * len(requests)
    grouped: dict[str, list[int]] = {}
    for i, request in enumerate(requests):
        route = catalog.routes.get(request.model)
        if route is None or _cascading(route) or request.model in catalog.models:
            planned[i] = _one(catalog, request, available, decisions[i])
        else:
            grouped.setdefault(route.name, []).append(i)
    for name, indices in grouped.items():
        chunk = [requests[i] for i in indices]
        made = _route(
            catalog, catalog.routes[name], chunk, available, [decisions[i] for i in indices]
        )
        for i, one in zip(indices, made, strict=True):
            planned[i] = one
    return [p for p in planned if p is not None]


def _one(
    catalog: Catalog,
    request: ChatRequest,
    available: Callable[[str], bool],
    policy: PolicyDecision | None,
) -> Planned:
    try:
        return plan(catalog, request, available, policy)
    except SlicewiseError as exc:
        return exc


def _cascading(route: Route) -> bool:
    return isinstance(route.router, CascadeRouter) and bool(route.router.cascades)


def _route(
    catalog: Catalog,
    route: Route,
    requests: list[ChatRequest],
    available: Callable[[str], bool],
    policies: list[PolicyDecision | None],
) -> list[Planned]:
    result: list[Planned | None] = [None] * len(requests)
    fits: list[tuple[int, dict[str, str]]] = []
    for i, request in enumerate(requests):
        try:
            fits.append((i, exclusions(catalog, route, request, available, policies[i])))
        except SlicewiseError as exc:
            result[i] = exc
    eligible = _eligible(route, [excluded for _, excluded in fits])
    unpriced = np.asarray(~eligible.any(axis=1), dtype=bool)
    for row in np.flatnonzero(unpriced):
        result[fits[row][0]] = RoutingError(
            "none of the candidates has a known price; add prices to their model cards"
        )
    fits = [fit for fit, bad in zip(fits, unpriced.tolist(), strict=True) if not bad]
    texts = [_text(requests[i]) for i, _ in fits]
    decisions = decide(route.router, texts, route.target, eligible[~unpriced]) if fits else []
    for (i, excluded), decision in zip(fits, decisions, strict=True):
        allowed = [m for m in route.candidates if m not in excluded]
        result[i] = replace(decided_plan(route, decision, allowed, excluded), policy=policies[i])
    return [r for r in result if r is not None]


def _eligible(route: Route, excluded: list[dict[str, str]]) -> np.ndarray:
    """Which of the router's models each request may go to: a candidate that fits, priced."""
    models = route.router.models
    eligible = np.zeros((len(excluded), len(models)), dtype=bool)
    for row, out in enumerate(excluded):
        for name in route.candidates:
            if name not in out:
                eligible[row, models.index(route.router_names[name])] = True
    return np.asarray(eligible & route.router.cost.known(), dtype=bool)


def _text(request: ChatRequest) -> str:
    return prompt_text(tuple((m.role, m.content or "") for m in request.messages))
