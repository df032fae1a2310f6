from __future__ import annotations

import pytest

from slicewise.features import Featurizer, featurizer

from .samples import TRAIN


@pytest.fixture(params=["static-minilm", "tfidf"])
def fitted(request: pytest.FixtureRequest) -> Featurizer:
    made = featurizer(request.param)
    made.fit(TRAIN)
    return made
