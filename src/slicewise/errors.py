"""Exceptions raised by slicewise.

Every exception slicewise raises on purpose derives from one root, so a caller can catch
broadly or narrowly::

    SlicewiseError
    ├── DataError              an outcomes or prompts file is wrong (file, line, field)
    ├── ConfigError            a command-line option or configuration value is wrong
    ├── ArtifactError          a saved router cannot be read: corrupt, foreign or too new
    ├── RoutingError           no model can serve a request (none eligible, none meets a ceiling)
    ├── RequestError           a client's request is wrong (field, what is allowed); 400/404/413,
    │   │                      or its key is missing, invalid or not allowed it (401/403)
    │   └── OverLimit          a budget or rate limit refuses it for now (429, ``retry_after``)
    └── UpstreamError          a provider failed the call
        ├── UpstreamStatus     it answered with an error status (429, 5xx, 401, ...)
        ├── UpstreamTimeout    it did not answer within the attempt's timeout
        ├── UpstreamConnection it could not be reached
        └── UpstreamProtocol   it answered something that is not its protocol (bad JSON, cut stream)

User mistakes (``DataError``, ``ConfigError``, ``ArtifactError``) carry a message that says
what is wrong, what is allowed, and how to fix it; the command line prints that message
without a traceback.
"""

from __future__ import annotations

from pathlib import Path


class SlicewiseError(Exception):
    """Root of every error slicewise raises on purpose."""


class DataError(SlicewiseError):
    """A data file is wrong at a known place.

    The message reads ``FILE:LINE: field: what is wrong, what is allowed``.
    """

    def __init__(self, path: Path | str, line: int | None, field: str | None, problem: str):
        self.path = str(path)
        self.line = line
        self.field = field
        self.problem = problem
        where = self.path if line is None else f"{self.path}:{line}"
        super().__init__(f"{where}: {field}: {problem}" if field else f"{where}: {problem}")


class ConfigError(SlicewiseError):
    """An option or configuration value is not allowed."""


class ArtifactError(SlicewiseError):
    """A router artifact cannot be loaded."""


class RoutingError(SlicewiseError):
    """No candidate model can serve the request."""


class RequestError(SlicewiseError):
    """A client's request is wrong; ``param`` names the field, ``status`` the HTTP status."""

    def __init__(
        self, message: str, param: str | None = None, status: int = 400, code: str | None = None
    ):
        self.message = message
        self.param = param
        self.status = status
        self.code = code
        super().__init__(message)


class OverLimit(RequestError):
    """A budget or a rate limit refuses the request; ``retry_after`` is seconds to its reset."""

    def __init__(self, message: str, retry_after: float):
        self.retry_after = retry_after
        super().__init__(message, status=429, code="over_limit")


class UpstreamError(SlicewiseError):
    """A provider failed the call. ``retryable`` says whether another attempt may succeed."""

    retryable = True

    def __init__(self, provider: str, message: str):
        self.provider = provider
        super().__init__(f"{provider}: {message}")


class UpstreamStatus(UpstreamError):
    def __init__(self, provider: str, status: int, message: str, retry_after: float | None = None):
        self.status = status
        self.retry_after = retry_after
        self.retryable = status == 429 or status >= 500 or status == 408
        super().__init__(provider, f"HTTP {status}: {message}")


class UpstreamTimeout(UpstreamError):
    pass


class UpstreamConnection(UpstreamError):
    pass


class UpstreamProtocol(UpstreamError):
    pass
