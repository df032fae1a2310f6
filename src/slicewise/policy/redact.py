"""Typed placeholders in, original values back out.

``redact`` replaces each finding with ``[KIND_N]`` and remembers the value in a ``Vault`` kept
only in memory for the request; the same value gets the same placeholder every time it occurs
in that request, so a model can still tell two addresses apart or see that one repeats.
``restore`` puts the values back into an answer; ``Restorer`` does it for a stream, holding back
the few characters at a chunk's end that may be the start of a placeholder cut in two.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from slicewise.policy.detect import Finding

_PLACEHOLDER = re.compile(r"\[[A-Z_]+_\d+\]")
_LONGEST_PLACEHOLDER = 32
"""A placeholder longer than this is not one of ours (``[PRIVATE_KEY_99999]`` has 19)."""


@dataclass
class Vault:
    values: dict[str, str] = field(default_factory=dict)
    """Placeholder to original value; never logged, never written to the ledger."""
    counts: dict[str, int] = field(default_factory=dict)
    _names: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for name, value in self.values.items():
            self._names.setdefault((name[1:].rsplit("_", 1)[0], value), name)

    def placeholder(self, kind: str, value: str) -> str:
        """``[KIND_N]`` for ``value``: the one it already has, or the kind's next number."""
        name = self._names.get((kind, value))
        if name is None:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            name = f"[{kind}_{self.counts[kind]}]"
            self.values[name] = value
            self._names[(kind, value)] = name
        return name

    def __repr__(self) -> str:  # the values are secrets: show only how many of each kind
        return f"Vault(counts={self.counts!r})"


def redact(text: str, findings: list[Finding], vault: Vault) -> str:
    """``text`` with each finding (non-overlapping, ordered by start) replaced by its
    placeholder."""
    parts: list[str] = []
    at = 0
    for finding in findings:
        parts.append(text[at : finding.start])
        parts.append(vault.placeholder(finding.kind, text[finding.start : finding.end]))
        at = finding.end
    parts.append(text[at:])
    return "".join(parts)


def restore(text: str, vault: Vault) -> str:
    """``text`` with every placeholder of ``vault`` replaced by its value; others are kept."""
    if not vault.values or "[" not in text:
        return text
    return _PLACEHOLDER.sub(lambda m: vault.values.get(m.group(0), m.group(0)), text)


class Restorer:
    """``restore`` over a stream of chunks: ``feed`` each chunk and send what it returns, then
    send ``flush()`` at the end. A chunk's tail that could still become a placeholder (``[EM``
    at the end of one chunk, ``AIL_1]`` at the start of the next) waits for the next chunk."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self._held = ""

    def feed(self, chunk: str) -> str:
        text = self._held + chunk
        cut = _pending_start(text) if self.vault.values else len(text)
        self._held = text[cut:]
        return restore(text[:cut], self.vault)

    def flush(self) -> str:
        text, self._held = self._held, ""
        return restore(text, self.vault)


def _pending_start(text: str) -> int:
    """Where a placeholder that ``text`` does not yet close may begin, or ``len(text)``."""
    start = text.rfind("[", max(0, len(text) - _LONGEST_PLACEHOLDER))
    if start < 0 or "]" in text[start:]:
        return len(text)
    tail = text[start + 1 :]
    if all(c.isupper() or c.isdigit() or c == "_" for c in tail):
        return start
    return len(text)
