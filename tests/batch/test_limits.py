"""Token buckets: a second's worth saved up at most, big calls leave debt, providers apart."""

from __future__ import annotations

from slicewise.batch.limits import Bucket, Buckets
from slicewise.batch.settings import ProviderLimit


def test_bucket_starts_full_with_one_second_and_refills_at_its_rate() -> None:
    bucket = Bucket.per_minute(600)  # 10 a second
    assert bucket.capacity == 10
    bucket.stamp = 0.0
    assert all(bucket.wait_for(1, 0.0) == 0.0 for _ in range(10))
    assert abs(bucket.wait_for(1, 0.0) - 0.1) < 1e-9
    assert bucket.wait_for(1, 0.1) == 0.0


def test_a_call_bigger_than_the_bucket_waits_for_it_full_then_leaves_debt() -> None:
    bucket = Bucket.per_minute(6000)  # 100 tokens a second
    bucket.stamp = 0.0
    assert bucket.wait_for(500, 0.0) == 0.0 and bucket.level == -400
    assert abs(bucket.wait_for(1, 0.0) - 4.01) < 1e-9


def test_tokens_and_requests_both_bind_and_a_refusal_takes_nothing() -> None:
    buckets = Buckets({"openai": ProviderLimit(rpm=600, tpm=600)})  # 10 tokens a second
    assert buckets.delay("openai", 8) == 0.0
    wait = buckets.delay("openai", 8)
    assert wait > 0.5
    requests = buckets._buckets["openai"][0]
    assert requests.level > 8.9  # the refused call took no request


def test_providers_without_limits_never_wait() -> None:
    import asyncio

    buckets = Buckets({"openai": ProviderLimit(rpm=60)})
    asyncio.run(buckets.acquire("anthropic", 10**9))
