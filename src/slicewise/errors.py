"""Exceptions raised by slicewise.

Every exception slicewise raises on purpose derives from one root, so a caller can catch
broadly or narrowly::

    SlicewiseError
    ├── DataError              an outcomes or prompts file is wrong (file, line, field)
    ├── ConfigError            a command-line option or configuration value is wrong
    ├── ArtifactError          a saved router cannot be read: corrupt, foreign or too new
    └── RoutingError           no model can serve a request (none eligible, none meets a ceiling)

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
