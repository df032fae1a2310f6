"""The ledger's writer process: ``python -m slicewise.ledger URL`` (see ``ledger.writer``)."""

import logging
import sys

from slicewise.ledger.writer import child

logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
child(sys.argv[1])
