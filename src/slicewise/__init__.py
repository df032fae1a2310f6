"""slicewise: send each LLM request to the cheapest model that will do it well.

The Python API for embedding the router without a server::

    import slicewise
    router = slicewise.load_router("router.safetensors")
    route = router.route((("user", "Extract the date from: ..."),), slicewise.Target("share", 0.95))
    route.model, route.reason
"""

from slicewise.cards import ModelCard
from slicewise.errors import ArtifactError, ConfigError, DataError, RoutingError, SlicewiseError
from slicewise.outcomes import Outcomes, load_outcomes
from slicewise.routing.artifact import load as load_router
from slicewise.routing.artifact import save as save_router
from slicewise.routing.route import Candidate, Route
from slicewise.routing.router import Router
from slicewise.routing.target import Target, parse_target
from slicewise.routing.train import Settings, train

__version__ = "0.1.0"

__all__ = [
    "ArtifactError",
    "Candidate",
    "ConfigError",
    "DataError",
    "ModelCard",
    "Outcomes",
    "Route",
    "Router",
    "RoutingError",
    "Settings",
    "SlicewiseError",
    "Target",
    "__version__",
    "load_outcomes",
    "load_router",
    "parse_target",
    "save_router",
    "train",
]
