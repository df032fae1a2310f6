"""The ledger's writer process: ``python -m slicewise.ledger URL DIR NAME`` (see
``ledger.writer``)."""

import logging
import sys
from pathlib import Path

from slicewise.ledger.writer import Tail

logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
Tail(sys.argv[1], Path(sys.argv[2]), sys.argv[3]).run()
