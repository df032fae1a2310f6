"""``slicewise keys``: tenants, API keys, budgets and rate limits in the ledger's database."""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from slicewise.cli.console import err, out, print_json
from slicewise.cli.values import count, usd


def add_parser(commands: Any) -> None:
    p = commands.add_parser(
        "keys",
        help="tenants, API keys, budgets and rate limits",
        description="API keys are stored hashed: a new key is printed once and never again.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = _action(actions, "create", "make a key for a tenant (made if new); prints it once")
    create.add_argument("--tenant", required=True, help="who the key's requests are billed to")
    create.add_argument("--name", default="", help="a label for people, e.g. 'ci' or 'alice'")
    grant = "grant only these (with neither --routes nor --models: everything)"
    create.add_argument("--routes", nargs="+", default=[], metavar="ROUTE", help=grant)
    create.add_argument("--models", nargs="+", default=[], metavar="MODEL", help=grant)
    _limit_options(create, "the key's")
    create.set_defaults(run=_create)
    listing = _action(actions, "list", "keys (never their secrets) and tenants with limits")
    listing.add_argument("--tenant", help="only this tenant's keys")
    listing.add_argument("--json", action="store_true", help="JSON for machines")
    listing.set_defaults(run=_list)
    revoke = _action(
        actions, "revoke", "stop a key working (on every gateway within auth.revocation_seconds)"
    )
    revoke.add_argument("key_id", metavar="KEY_ID", help="as `keys list` shows it: key_...")
    revoke.set_defaults(run=_revoke)
    tenant = _action(actions, "tenant", "create a tenant or set its budgets and rate limits")
    tenant.add_argument("tenant", metavar="TENANT")
    _limit_options(tenant, "the tenant's", per_key=True)
    tenant.set_defaults(run=_tenant)


def _action(actions: Any, name: str, summary: str) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = actions.add_parser(name, help=summary, description=summary)
    source = p.add_mutually_exclusive_group()
    source.add_argument("--config", metavar="FILE", help="YAML configuration naming the ledger")
    source.add_argument("--ledger", metavar="URL", help="sqlite:///PATH or postgresql://...")
    return p


def _limit_options(p: argparse.ArgumentParser, whose: str, per_key: bool = False) -> None:
    each = " for each of its keys (a key's own limit wins)" if per_key else ""
    p.add_argument("--daily-usd", type=usd, help=f"{whose} spend per UTC day")
    p.add_argument("--monthly-usd", type=usd, help=f"{whose} spend per UTC month")
    p.add_argument("--rpm", type=count, help=f"requests per minute{each}")
    p.add_argument("--tpm", type=count, help=f"tokens per minute{each}")


def _create(args: argparse.Namespace) -> int:
    from slicewise.tenancy.keys import create_key

    for line in _unknown_grants(args):
        err.print(f"slicewise: warning: {line}", highlight=False, markup=False)
    key, secret = _with_engine(
        args,
        lambda engine: create_key(
            engine, args.tenant, args.name, tuple(args.routes), tuple(args.models), _limits(args)
        ),
    )
    out.print(f"created {key.id} for tenant {key.tenant}; the key, shown this once:")
    print(secret)
    return 0


def _unknown_grants(args: argparse.Namespace) -> list[str]:
    """Routes and models granted that the configuration does not name (a provider may still
    list such a model at start, so this warns rather than refuses)."""
    if args.config is None:
        return []
    from slicewise.config import load_config

    config = load_config(args.config)
    models = {m.name for m in config.models} | set(config.aliases)
    return [
        f"--{kind} {name}: not a {kind[:-1]} of {args.config}"
        for kind, names, known in (
            ("routes", args.routes, config.routes),
            ("models", args.models, models),
        )
        for name in names
        if name not in known
    ]


def _list(args: argparse.Namespace) -> int:
    from slicewise.tenancy.keys import list_keys, list_tenants

    found = _with_engine(
        args, lambda engine: (list_tenants(engine), list_keys(engine, args.tenant))
    )
    tenants, keys = found
    if args.tenant is not None:
        tenants = [t for t in tenants if t.name == args.tenant]
    if args.json:
        print_json({"tenants": [_plain(t) for t in tenants], "keys": [_plain(k) for k in keys]})
    else:
        _tables(tenants, keys)
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from slicewise.tenancy.keys import revoke

    key = _with_engine(args, lambda engine: revoke(engine, args.key_id))
    out.print(f"revoked {key.id} ({key.prefix}..., tenant {key.tenant})")
    return 0


def _tenant(args: argparse.Namespace) -> int:
    from slicewise.tenancy.keys import set_tenant

    tenant = _with_engine(args, lambda engine: set_tenant(engine, args.tenant, _limits(args)))
    out.print(f"tenant {tenant.name}: {_describe(tenant.limits)}")
    return 0


def _with_engine(args: argparse.Namespace, work: Callable[[Engine], Any]) -> Any:
    from slicewise.config import load_config
    from slicewise.ledger.engine import open_engine
    from slicewise.ledger.migrations import migrate

    engine = open_engine(args.ledger or load_config(args.config).ledger.url)
    try:
        migrate(engine)
        return work(engine)
    finally:
        engine.dispose()


def _limits(args: argparse.Namespace) -> Any:
    from slicewise.tenancy.keys import Limits

    return Limits(args.daily_usd, args.monthly_usd, args.rpm, args.tpm)


def _plain(value: Any) -> dict[str, Any]:
    found = dataclasses.asdict(value)
    limits = found.pop("limits")
    found.update({k: str(v) if isinstance(v, Decimal) else v for k, v in limits.items()})
    return found


def _describe(limits: Any) -> str:
    parts = [
        f"${limits.daily_usd}/day" if limits.daily_usd is not None else "",
        f"${limits.monthly_usd}/month" if limits.monthly_usd is not None else "",
        f"{limits.rpm} requests/min" if limits.rpm is not None else "",
        f"{limits.tpm} tokens/min" if limits.tpm is not None else "",
    ]
    return ", ".join(p for p in parts if p) or "no limits"


def _tables(tenants: list[Any], keys: list[Any]) -> None:
    from rich.table import Table

    table = Table(title="tenants")
    for name in ("tenant", "limits"):
        table.add_column(name)
    for tenant in tenants:
        table.add_row(tenant.name, _describe(tenant.limits))
    out.print(table)
    table = Table(title="keys")
    for name in ("id", "tenant", "name", "key", "created", "state", "routes", "models", "limits"):
        table.add_column(name)
    for key in keys:
        table.add_row(
            key.id,
            key.tenant,
            key.name,
            f"{key.prefix}...",
            time.strftime("%Y-%m-%d", time.gmtime(key.created)),
            "revoked" if key.revoked else "live",
            ", ".join(key.routes) or "all",
            ", ".join(key.models) or "all",
            _describe(key.limits),
        )
    out.print(table)
