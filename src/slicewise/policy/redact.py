"""Typed placeholders in, original values back out.

``redact`` replaces each finding with ``[KIND_N]`` and remembers the value in a ``Vault`` kept
only in memory for the request; ``restore`` puts the values back into an answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from slicewise.policy.detect import Finding


@dataclass
class Vault:
    values: dict[str, str] = field(default_factory=dict)
    """Placeholder to original value; never logged, never written to the ledger."""
    counts: dict[str, int] = field(default_factory=dict)

    def placeholder(self, kind: str, value: str) -> str:
        for name, known in self.values.items():
            if known == value and name.startswith(f"[{kind}_"):
                return name
        self.counts[kind] = self.counts.get(kind, 0) + 1
        name = f"[{kind}_{self.counts[kind]}]"
        self.values[name] = value
        return name


def redact(text: str, findings: list[Finding], vault: Vault) -> str:
    parts: list[str] = []
    at = 0
    for finding in findings:
        parts.append(text[at : finding.start])
        parts.append(vault.placeholder(finding.kind, text[finding.start : finding.end]))
        at = finding.end
    parts.append(text[at:])
    return "".join(parts)


_PLACEHOLDER = re.compile(r"\[[A-Z_]+_\d+\]")


def restore(text: str, vault: Vault) -> str:
    if not vault.values:
        return text
    return _PLACEHOLDER.sub(lambda m: vault.values.get(m.group(0), m.group(0)), text)
