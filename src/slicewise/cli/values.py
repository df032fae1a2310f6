"""Argument types shared by the commands: each turns text into a value or says what is allowed."""

from __future__ import annotations

import argparse
from decimal import Decimal, InvalidOperation


def usd(text: str) -> Decimal:
    """An amount of money: a decimal of 0 or more."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount in USD, e.g. 25.50") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give an amount of 0 or more")
    return value


def count(text: str) -> int:
    """A whole number of 0 or more."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number of 0 or more")
    return int(text)
