"""Files and batches, OpenAI's and Anthropic's, in their simplest form.

OpenAI: ``POST /v1/files`` (multipart: ``purpose``, ``file``), ``GET /v1/files/{id}`` and
``/v1/files/{id}/content``, ``POST /v1/batches``, ``GET /v1/batches/{id}``. Anthropic:
``POST /v1/messages/batches``, ``GET /v1/messages/batches/{id}`` and ``.../results``.

Every item is answered when the batch is created, as a non-streamed call would be (the script
is consumed in item order, see ``FakeApp.settle``); the batch reports itself done once
``Batches.delay`` seconds have passed. OpenAI items that did not answer 200 go to the error
file. Not modelled: cancelling, listing, expiry, validation of the input lines beyond JSON.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import orjson

from tests.fakes.asgi import Received, Reply
from tests.fakes.wire import ANTHROPIC, OPENAI, Wire

Settle = Callable[[Wire, dict[str, Any]], tuple[int, dict[str, Any]]]


@dataclass(frozen=True)
class File:
    id: str
    filename: str
    purpose: str
    content: bytes
    created_at: int

    def info(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.content),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "expires_at": None,
        }


@dataclass(frozen=True)
class Batch:
    id: str
    created_at: float
    ready_at: float
    body: dict[str, Any]
    succeeded: int
    failed: int
    output: str | None
    """The output file (OpenAI) or the results as JSONL (Anthropic: the results themselves)."""
    errors: str | None


class Batches:
    def __init__(self, settle: Settle) -> None:
        self.settle = settle
        self.delay = 0.0
        """Seconds from creation until a batch reports itself done; set before creating it."""
        self.files: dict[str, File] = {}
        self.batches: dict[str, Batch] = {}
        self._ids = itertools.count(1)

    def clear(self) -> None:
        self.files.clear()
        self.batches.clear()
        self.delay = 0.0

    async def handle(self, request: Received, raw: bytes, reply: Reply) -> bool:
        """Serve ``request`` if it is a file or batch route; ``False`` if it is not one."""
        parts = request.path.strip("/").split("/")
        match request.method, parts:
            case "POST", ["v1", "files"]:
                await reply.json(200, self._upload(request, raw).info())
            case "GET", ["v1", "files", file_id, *rest] if file_id in self.files:
                found = self.files[file_id]
                if rest == ["content"]:
                    await reply.whole(200, found.content, "application/octet-stream")
                else:
                    await reply.json(200, found.info())
            case "POST", ["v1", "batches"]:
                await reply.json(200, self._openai_view(self._openai_create(request.body)))
            case "GET", ["v1", "batches", batch_id] if batch_id in self.batches:
                await reply.json(200, self._openai_view(self.batches[batch_id]))
            case "POST", ["v1", "messages", "batches"]:
                made = self._anthropic_create(request.body)
                await reply.json(200, self._anthropic_view(made, request))
            case "GET", ["v1", "messages", "batches", batch_id] if batch_id in self.batches:
                await reply.json(200, self._anthropic_view(self.batches[batch_id], request))
            case "GET", ["v1", "messages", "batches", batch_id, "results"] if self._done(batch_id):
                results = (self.batches[batch_id].output or "").encode()
                await reply.whole(200, results, "application/binary")
            case _:
                return False
        return True

    def _upload(self, request: Received, raw: bytes) -> File:
        fields = _multipart(request.headers.get("content-type", ""), raw)
        name, content = fields.get("file", ("upload.jsonl", b""))
        purpose = fields.get("purpose", ("", b""))[1].decode()
        return self._store(name or "upload.jsonl", purpose, content)

    def _store(self, filename: str, purpose: str, content: bytes) -> File:
        made = File(f"file-fake{next(self._ids)}", filename, purpose, content, int(time.time()))
        self.files[made.id] = made
        return made

    def _openai_create(self, body: Any) -> Batch:
        source = self.files.get(str(body.get("input_file_id"))) if isinstance(body, dict) else None
        lines = source.content.splitlines() if source else []
        good: list[bytes] = []
        bad: list[bytes] = []
        for number, line in enumerate(x for x in lines if x.strip()):
            result = self._openai_item(number, line)
            (good if result["response"]["status_code"] == 200 else bad).append(orjson.dumps(result))
        output = self._store("output.jsonl", "batch_output", b"\n".join(good)).id if good else None
        errors = self._store("errors.jsonl", "batch_output", b"\n".join(bad)).id if bad else None
        return self._keep("batch_fake", body, len(good), len(bad), output, errors)

    def _openai_item(self, number: int, line: bytes) -> dict[str, Any]:
        try:
            item = orjson.loads(line)
            code, answer = self.settle(OPENAI, item["body"])
            custom_id = item.get("custom_id")
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            code, answer, custom_id = 400, OPENAI.error(400, "not a batch request line"), None
        response = {"status_code": code, "request_id": f"req_fake{number}", "body": answer}
        return {
            "id": f"batch_req_fake{number}",
            "custom_id": custom_id,
            "response": response,
            "error": None,
        }

    def _anthropic_create(self, body: Any) -> Batch:
        requests = body.get("requests") if isinstance(body, dict) else None
        results = [self._anthropic_item(r) for r in requests or [] if isinstance(r, dict)]
        good = sum(r["result"]["type"] == "succeeded" for r in results)
        jsonl = "\n".join(orjson.dumps(r).decode() for r in results)
        return self._keep("msgbatch_fake", body, good, len(results) - good, jsonl, None)

    def _anthropic_item(self, request: dict[str, Any]) -> dict[str, Any]:
        code, answer = self.settle(ANTHROPIC, request.get("params") or {})
        result = (
            {"type": "succeeded", "message": answer}
            if code == 200
            else {"type": "errored", "error": answer}
        )
        return {"custom_id": request.get("custom_id"), "result": result}

    def _keep(
        self,
        prefix: str,
        body: Any,
        succeeded: int,
        failed: int,
        output: str | None,
        errors: str | None,
    ) -> Batch:
        now = time.time()
        made = Batch(
            f"{prefix}{next(self._ids)}",
            now,
            now + self.delay,
            body if isinstance(body, dict) else {},
            succeeded,
            failed,
            output,
            errors,
        )
        self.batches[made.id] = made
        return made

    def _done(self, batch_id: str) -> bool:
        batch = self.batches.get(batch_id)
        return batch is not None and time.time() >= batch.ready_at

    def _openai_view(self, batch: Batch) -> dict[str, Any]:
        done = self._done(batch.id)
        created = int(batch.created_at)
        finished = int(batch.ready_at) if done else None
        total = batch.succeeded + batch.failed
        counts = {
            "total": total,
            "completed": batch.succeeded if done else 0,
            "failed": batch.failed if done else 0,
        }
        return {
            "id": batch.id,
            "object": "batch",
            "endpoint": batch.body.get("endpoint"),
            "errors": None,
            "input_file_id": batch.body.get("input_file_id"),
            "completion_window": batch.body.get("completion_window", "24h"),
            "status": "completed" if done else "in_progress",
            "output_file_id": batch.output if done else None,
            "error_file_id": batch.errors if done else None,
            "created_at": created,
            "in_progress_at": created,
            "expires_at": created + 86400,
            "finalizing_at": finished,
            "completed_at": finished,
            "failed_at": None,
            "expired_at": None,
            "cancelling_at": None,
            "cancelled_at": None,
            "request_counts": counts,
            "metadata": batch.body.get("metadata"),
        }

    def _anthropic_view(self, batch: Batch, request: Received) -> dict[str, Any]:
        done = self._done(batch.id)
        total = batch.succeeded + batch.failed
        counts = {
            "processing": 0 if done else total,
            "succeeded": batch.succeeded if done else 0,
            "errored": batch.failed if done else 0,
            "canceled": 0,
            "expired": 0,
        }
        host = request.headers.get("host", "127.0.0.1")
        results = f"http://{host}/v1/messages/batches/{batch.id}/results"
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": "ended" if done else "in_progress",
            "request_counts": counts,
            "created_at": _iso(batch.created_at),
            "ended_at": _iso(batch.ready_at) if done else None,
            "expires_at": _iso(batch.created_at + 86400),
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": results if done else None,
        }


def _multipart(content_type: str, raw: bytes) -> dict[str, tuple[str | None, bytes]]:
    """Each form field's file name (``None`` for a plain field) and content."""
    head = f"content-type: {content_type}\r\n\r\n".encode()
    parsed = BytesParser(policy=policy.HTTP).parsebytes(head + raw)
    fields: dict[str, tuple[str | None, bytes]] = {}
    if isinstance(parsed, EmailMessage) and parsed.is_multipart():
        for part in parsed.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                fields[name] = (part.get_filename(), payload)
    return fields


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")
