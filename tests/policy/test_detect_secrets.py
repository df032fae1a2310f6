"""Keys, private keys and passwords: found by prefix or by what names them."""

from __future__ import annotations

import pytest

from slicewise.policy.detect import default_detector
from slicewise.tenancy.keys import new_secret

BODY = "AbCdEfGh0123456789IjKlMnOp4567QrStUvWx"


def found(text: str) -> list[tuple[str, str]]:
    return [(f.kind, text[f.start : f.end]) for f in default_detector().find(text)]


@pytest.mark.parametrize(
    "key",
    [
        "sk-" + BODY,
        "sk-proj-" + BODY + "_-" + BODY,
        "sk-ant-api03-" + BODY + "-" + BODY + "AA",
        "sk-svcacct-" + BODY,
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_" + BODY[:36],
        "gho_" + BODY[:36],
        "github_pat_11ABCDEFG0123456789_" + BODY,
        "xoxb-123456789012-1234567890123-" + BODY[:24],
        "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        "rk_live_4eC39HqLyjWDarjtT1zdp7dc",
        "AIza" + BODY[:35],
        "hf_" + BODY[:34],
        "glpat-" + BODY[:20],
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    ],
)
def test_vendor_keys(key: str) -> None:
    assert found(f"my key is {key}, why is it rejected?") == [("API_KEY", key)]


def test_slicewise_keys() -> None:
    key = new_secret()
    assert found(f"curl -H 'Authorization: Bearer {key}' localhost") == [("API_KEY", key)]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Authorization: Bearer abcdef0123456789abcdef", "abcdef0123456789abcdef"),
        ("api_key = 'a1b2c3d4e5f6g7h8i9j0'", "a1b2c3d4e5f6g7h8i9j0"),
        ('{"client_secret": "Zx9-Qw8_Er7.Ty6~Ui5"}', "Zx9-Qw8_Er7.Ty6~Ui5"),
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ),
    ],
)
def test_named_keys(text: str, value: str) -> None:
    assert found(text) == [("API_KEY", value)]


@pytest.mark.parametrize(
    "text",
    [
        "use scikit-learn's sk-learn alias",  # short
        "the task-management-system-for-everyone-and-more",  # sk- inside a word
        "bearer tokens are documented in RFC 6750",
        "the key: the-value-is-all-lower-case-words",  # not random
        "Basic arithmetic is fun",
        "the monkey jumped over the fence",
    ],
)
def test_key_near_misses(text: str) -> None:
    assert found(text) == []


def test_private_key_block_is_one_finding() -> None:
    block = (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nBG5vbmUAAAAEbm9uZQ==\n"
        "-----END OPENSSH PRIVATE KEY-----"
    )
    assert found(f"here:\n{block}\nthanks") == [("PRIVATE_KEY", block)]


def test_cut_private_key_is_found_to_the_end_of_its_body() -> None:
    text = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nx+/=\n\nwhat is wrong?"
    assert found(text) == [("PRIVATE_KEY", text[: text.index("\n\n")])]


def test_public_key_and_certificate_are_not_private() -> None:
    assert found("-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A\n") == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("password: hunter2", "hunter2"),
        ("pwd=s3cr3t!", "s3cr3t!"),
        ("passwd: letmein99.", "letmein99"),
        ("PGPASSWORD=abc123 psql", "abc123"),
        ("MYSQL_ROOT_PASSWORD='p@ss w0rd'", "p@ss w0rd"),
        ('{"password": "correct horse battery staple"}', "correct horse battery staple"),
        ("my password is Tr0ub4dor&3 but it fails", "Tr0ub4dor&3"),
        ("postgres://admin:S3cret@db.example.com:5432/app", "S3cret"),
        ("Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
    ],
)
def test_passwords(text: str, value: str) -> None:
    assert found(text) == [("PASSWORD", value)]


@pytest.mark.parametrize(
    "text",
    [
        "The password is wrong, try again.",
        "password: <your password>",
        "password = ${DB_PASSWORD}",
        "password=None",
        "password: ********",
        "pwd = os.getenv('PWD')",
        "the compass: north",
        "bypass = 3",
        "Reset your password in settings.",
        "https://example.com:8080/path",
    ],
)
def test_password_near_misses(text: str) -> None:
    assert found(text) == []
