"""One table from errors to HTTP statuses and error bodies, per protocol.

The OpenAI and Anthropic SDKs raise their exception classes by status, so the status is the
contract; the body's ``type`` follows each vendor's vocabulary and the message says what was
wrong and what to do.
"""

from __future__ import annotations

from slicewise.errors import (
    RequestError,
    RoutingError,
    SlicewiseError,
    UpstreamConnection,
    UpstreamError,
    UpstreamStatus,
    UpstreamTimeout,
)

OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    499: "invalid_request_error",
}
ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    422: "invalid_request_error",
    429: "rate_limit_error",
    503: "overloaded_error",
    529: "overloaded_error",
}


def status_of(error: SlicewiseError) -> int:
    if isinstance(error, RequestError):
        return error.status
    if isinstance(error, RoutingError):
        return 400
    if isinstance(error, UpstreamStatus):
        return error.status if error.status in (400, 413, 422, 429) else 502
    if isinstance(error, UpstreamTimeout):
        return 504
    if isinstance(error, UpstreamConnection | UpstreamError):
        return 502
    return 500


def error_type(protocol: str, status: int) -> str:
    if protocol == "anthropic":
        return ANTHROPIC_TYPES.get(status, "api_error")
    return OPENAI_TYPES.get(status, "api_error" if status < 500 else "server_error")


def param_of(error: SlicewiseError) -> str | None:
    return error.param if isinstance(error, RequestError) else None


def code_of(error: SlicewiseError) -> str | None:
    if isinstance(error, RequestError):
        return error.code
    if isinstance(error, UpstreamError):
        return "upstream_error"
    return None
