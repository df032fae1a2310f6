"""``GET /dashboard``: the page's numbers, its escaping, and a screenshot by headless Chromium."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx2 as httpx
import numpy as np
import pytest
from matplotlib import image

from slicewise.gateway import dashboard
from slicewise.ledger.report import report
from tests.fakes.upstream import FakeUpstream
from tests.gateway.test_admin import QUIET, traffic

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
MODELS = ("openai/gpt-4o-mini", "openai/gpt-4o", "anthropic/claude-3-5-haiku-latest")


def page(server: Any) -> str:
    reply = httpx.get(server.url + "/dashboard?since=7d", timeout=20)
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/html")
    return reply.text


def test_page_shows_the_ledger(gateway, fake_upstream: FakeUpstream) -> None:
    server = gateway(server=QUIET)
    traffic(server, fake_upstream)
    html = page(server)

    total = report(server.gateway.recorder.ledger, None, "all")[0]
    assert total.requests == 5
    assert f"<b>{total.requests}</b>" in html
    assert dashboard.usd(total.cost_usd) in html
    assert dashboard.usd(total.baseline_cost_usd) in html
    for model in MODELS:
        assert model in html
    assert "<td>502</td>" in html and "UpstreamStatus" in html
    # self-contained: no script, nothing fetched from elsewhere
    assert "<script" not in html and "src=" not in html and "<link" not in html
    assert HI_TEXT not in html


HI_TEXT = "hi there"  # the prompt traffic() sends; it must never reach the page


def test_every_string_is_escaped() -> None:
    evil = "<script>alert(1)</script>"
    row = report_row(evil)
    failure = dashboard.Failure(0.0, evil, evil, 500, evil)
    views = dashboard.Views(row, [row], [row], [row], [row], [failure])
    html = dashboard.page(views, evil)
    assert evil not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def report_row(group: str) -> Any:
    from decimal import Decimal

    from slicewise.ledger.report import Row

    money = Decimal("0.25")
    return Row(group, 3, 10, 20, money, 0, money * 2, money, 0.5, 12.0, 30.0, 0.0, 0.0)


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_chromium_renders_the_dashboard(
    gateway, fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    server = gateway(server=QUIET)
    traffic(server, fake_upstream)
    shot = tmp_path / "dashboard.png"

    subprocess.run(
        [
            str(CHROMIUM),
            *("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"),
            *("--disable-background-networking", "--disable-component-update", "--disable-sync"),
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1280,1600",
            server.url + "/dashboard",
        ],
        check=True,
        capture_output=True,
        timeout=90,
    )

    pixels = image.imread(str(shot))[..., :3]
    assert pixels.shape[:2] == (1600, 1280)
    colours = np.unique((pixels * 255).round().astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 50, "the screenshot has almost no colours: is the page blank?"
    assert (pixels.min(axis=2) < 0.9).mean() > 0.02, "the screenshot is nearly all white"
    for colour in (dashboard.COST, dashboard.BASELINE, dashboard.MIX):
        assert _has(pixels, colour), f"no chart drawn in {colour}"


def _has(pixels: Any, colour: str) -> bool:
    want = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    return bool((np.abs(pixels - want).max(axis=2) < 2 / 255).sum() > 50)
