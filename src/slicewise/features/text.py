"""The text a featurizer sees of a chat prompt, and a bound on how much of it."""

from __future__ import annotations

from slicewise.outcomes import Messages

HEAD_CHARS = 6_000
TAIL_CHARS = 2_000


def prompt_text(messages: Messages) -> str:
    """The turns' contents joined by blank lines; roles are left out (they carry little signal
    for difficulty and every turn would pay for them)."""
    if len(messages) == 1:
        return messages[0][1]
    return "\n\n".join(content for _, content in messages)


def bounded(text: str, head: int = HEAD_CHARS, tail: int = TAIL_CHARS) -> str:
    """At most ``head + tail`` characters: the start (the task) and the end (the question).

    Bounds the work per prompt: the middle of a very long prompt (pasted documents, few-shot
    examples) moves a mean-pooled vector little.
    """
    if len(text) <= head + tail:
        return text
    return text[:head] + "\n" + text[-tail:]
