"""`martlake sandbox serve` answers like the real APIs until interrupted."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from martlake.sandbox import SANDBOX_META_TOKEN, SANDBOX_SHOPIFY_TOKEN
from tests.conftest import free_port
from tests.sandbox_project import make_sandbox_project


def test_sandbox_serve_serves_the_project_business_until_ctrl_c(tmp_path: Path) -> None:
    root = make_sandbox_project(tmp_path / "shop", orders_per_day=10)
    port = free_port()
    exe = Path(sys.executable).with_name("martlake")
    child = subprocess.Popen(
        [str(exe), "sandbox", "serve", "--port", str(port)],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                shop = httpx.get(
                    f"{base}/shopify/admin/api/2024-10/shop.json",
                    headers={"X-Shopify-Access-Token": SANDBOX_SHOPIFY_TOKEN},
                )
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and child.poll() is None
                time.sleep(0.2)
        assert shop.json()["shop"]["myshopify_domain"] == "dtc-brand.myshopify.com"
        orders = httpx.get(
            f"{base}/shopify/admin/api/2024-10/orders.json",
            params={"status": "any", "limit": 5},
            headers={"X-Shopify-Access-Token": SANDBOX_SHOPIFY_TOKEN},
        )
        assert len(orders.json()["orders"]) == 5 and 'rel="next"' in orders.headers["Link"]
        account = httpx.get(
            f"{base}/meta/v21.0/act_1234567890",
            params={"fields": "currency", "access_token": SANDBOX_META_TOKEN},
        )
        assert account.json()["currency"] == "USD"
    finally:
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
    assert f"{base}/shopify" in out and SANDBOX_SHOPIFY_TOKEN in out
