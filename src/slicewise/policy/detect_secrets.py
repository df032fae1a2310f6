"""API keys and tokens, private keys and passwords.

Vendor keys are found by their published prefixes (``sk-``, ``sk-ant-``, ``AKIA``, ``ghp_``,
``xoxb-``, ``sk_live_``, ``AIza``, ``hf_``, ``glpat-``, JWTs' ``eyJ``) and a random-looking
body; a key with no prefix counts only as the value of a ``Bearer`` header or of a field named
like one (``api_key=``, ``"secret": ...``). Passwords count in the obvious forms: ``password:
x``, ``pwd=x``, ``PGPASSWORD=x``, "my password is x" (where x must look like one) and the
password of a connection string ``scheme://user:password@host``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator

from slicewise.policy.detect_base import Finding, Scan, word_char
from slicewise.policy.detect_checks import looks_random

_BODY = r"[A-Za-z0-9_\-]"
# A part that must be followed by more is bounded and possessive (``{8,400}+``): unbounded, a
# long run of ``eyJeyJeyJ...`` would be rescanned from every start, quadratic in its length.
_VENDOR_KEYS = tuple(
    re.compile(pattern)
    for pattern in (
        rf"sk-{_BODY}{{20,}}",  # OpenAI sk-, sk-proj-, sk-svcacct-; Anthropic sk-ant-; sk-sw-
        r"k_(?:live|test)_[A-Za-z0-9]{10,}",  # Stripe sk_/rk_ (the s or r is checked below)
        r"A[KS]IA[0-9A-Z]{16}",  # AWS access key id
        r"gh[pousr]_[A-Za-z0-9]{30,}",  # GitHub
        r"github_pat_[A-Za-z0-9_]{22,}",
        r"xox[abposre]-[A-Za-z0-9-]{10,}",  # Slack
        rf"AIza{_BODY}{{35}}",  # Google
        r"hf_[A-Za-z0-9]{30,}",  # Hugging Face
        rf"glpat-{_BODY}{{20,}}",  # GitLab
        r"npm_[A-Za-z0-9]{36}",
        r"SG\.[A-Za-z0-9_\-]{16,64}+\.[A-Za-z0-9_\-]{16,}",  # SendGrid
        rf"eyJ{_BODY}{{8,400}}+\.{_BODY}{{8,}}+\.{_BODY}*",  # JWT: base64url header . payload
    )
)
_BEARER = re.compile(r"earer[ \t]+([A-Za-z0-9._~+/\-]{16,}=*)")
_BASIC = re.compile(r"asic[ \t]+([A-Za-z0-9+/]{8,}={0,2})")
_KEY_FIELDS = tuple(  # one pattern a word: an alternation would lose the literal-prefix scan
    re.compile(word + r"s?[\"']?(?:[ \t]+is\b)?[ \t]*[:=]?[ \t]*[\"']?([a-z0-9_\-./+=~]{16,})")
    for word in ("key", "secret", "token")
)

_PEM = re.compile(r"-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----")
_PEM_BODY = re.compile(r"(?:\r?\n[ \t]*(?:[A-Za-z0-9+/=]+|[A-Za-z-]+:[^\n]*)[ \t]*)*")

_PASSWORD = re.compile(
    r"p(?:ass(?:word|wd|phrase|code)?|wd)s?[\"']?[ \t]*(?P<op>[:=]|is\b)[ \t]*(?P<quote>[\"']?)"
)
_PASSWORD_WORDS = frozenset(
    {"none", "null", "nil", "true", "false", "required", "optional", "string", "str", "text",
     "password", "yes", "no", "empty", "undefined", "secret", "changeme", "hidden", "redacted"}
)  # fmt: skip
_PLACEHOLDER_VALUE = re.compile(
    r"<.*|\$\{?[A-Z_][A-Z0-9_]*\}?|%\(?\w*\)?[sd]|\{[^}]*\}|\[[^\]]*\]|[*x•.]+"
    r"|[A-Za-z_][\w.]*\((?:[\"'].*)?\)?"  # <your password>, ${PASS}, %s, ****, getenv("PASS")
)
_CREDENTIALS = re.compile(r"://([^\s:/@]{1,64}):([^\s/@]{1,128})@[^\s/@]")


def api_keys(scan: Scan) -> Iterator[Finding]:
    text = scan.text
    for pattern in _VENDOR_KEYS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if pattern.pattern.startswith("k_"):
                start -= 1
                if start < 0 or text[start] not in "sr":
                    continue
            alone = not word_char(text, start - 1) and text[start - 1 : start] != "-"
            if alone and looks_random(text[start:end]):
                yield Finding("API_KEY", start, end)
    yield from _valued(text, _BEARER, "B", "API_KEY")
    for pattern in _KEY_FIELDS:
        for match in pattern.finditer(scan.lower):
            start, end = match.span(1)
            end -= text[end - 1] == "."  # the end of a sentence
            if looks_random(text[start:end]):
                yield Finding("API_KEY", start, end)


def _valued(text: str, pattern: re.Pattern[str], first: str, kind: str) -> Iterator[Finding]:
    """The value of ``Bearer x``-like matches whose word starts with ``first`` in either case."""
    for match in pattern.finditer(text):
        at = match.start() - 1
        if at < 0 or text[at].upper() != first or word_char(text, at - 1):
            continue
        start, end = match.span(1)
        if kind == "PASSWORD" or looks_random(text[start:end]):
            yield Finding(kind, start, end)


def private_keys(scan: Scan) -> Iterator[Finding]:
    """A PEM private key block, through its END line, or through its body if that is cut."""
    text = scan.text
    for match in _PEM.finditer(text):
        footer = f"-----END {match.group(1)}-----"
        end = text.find(footer, match.end())
        if end >= 0:
            yield Finding("PRIVATE_KEY", match.start(), end + len(footer))
        else:
            body = _PEM_BODY.match(text, match.end())
            yield Finding("PRIVATE_KEY", match.start(), body.end() if body else match.end())


def passwords(scan: Scan) -> Iterator[Finding]:
    text, lower = scan.text, scan.lower
    for match in _PASSWORD.finditer(lower):
        if match.start() > 0 and lower[match.start() - 1].isalpha() and not _shouted(text, match):
            continue
        span = _password_value(text, match.end(), match.group("quote"))
        if span and _plausible(text[span[0] : span[1]], match.group("op"), match.group("quote")):
            yield Finding("PASSWORD", *span)
    for match in _CREDENTIALS.finditer(text):
        yield Finding("PASSWORD", *match.span(2))
    for finding in _valued(text, _BASIC, "B", "PASSWORD"):
        if _basic_credentials(text[finding.start : finding.end]):
            yield finding


def _shouted(text: str, match: re.Match[str]) -> bool:
    """Whether the keyword ends an upper-case name such as ``PGPASSWORD`` (not ``compass``)."""
    start = match.start()
    while start > 0 and text[start - 1].isalpha():
        start -= 1
    return text[start : match.start("op")].rstrip("\"' \t").isupper()


def _password_value(text: str, start: int, quote: str) -> tuple[int, int] | None:
    """The span of the value: up to the closing quote if quoted, else up to white space or a
    quote, less one closing ``.``, ``,``, ``;`` or unmatched ``)`` that ends the sentence."""
    if quote:
        end = text.find(quote, start, start + 129)
        return (start, end) if end > start else None
    end = start
    while end < len(text) and not text[end].isspace() and text[end] not in "\"'":
        end += 1
    value = text[start:end]
    if value[-1:] in (".", ",", ";") or (value[-1:] == ")" and "(" not in value):
        end -= 1
    return (start, end) if end - start >= 3 else None


def _plausible(value: str, op: str, quote: str) -> bool:
    """Not a placeholder (``<password>``, ``${PASS}``, ``****``, ``None``); after "is", only
    a quoted value or one with a digit or a symbol counts ("the password is wrong" does not)."""
    if _PLACEHOLDER_VALUE.fullmatch(value) or value.lower() in _PASSWORD_WORDS:
        return False
    if op == "is" and not quote:
        return not value.isalpha()
    return True


def _basic_credentials(value: str) -> bool:
    """Whether ``value`` is base64 of ``user:password``, as in ``Authorization: Basic ...``."""
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return ":" in decoded and decoded.isprintable()
