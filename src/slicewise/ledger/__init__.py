"""The ledger: the append-only record of every transaction and its cost."""

from slicewise.ledger.record import Transaction
from slicewise.ledger.store import Ledger, NullLedger

__all__ = ["Ledger", "NullLedger", "Transaction"]
