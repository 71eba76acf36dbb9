"""Attachments are kept under our name and extension, within quotas, by those who work the order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration._work_order_server import ApiServer, running_api

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 1000


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiServer]:
    with running_api(f"sqlite:///{tmp_path / 'facility.db'}", tmp_path, auto_assign=False) as s:
        yield s


def _order(api: ApiServer, **assign: str) -> int:
    with api.client("manager") as manager:
        created = manager.post("/api/v1/work-orders", json={"title": "Belt", "asset": "AHU-1"})
        assert created.status_code == 201, created.text
        order_id: int = created.json()["id"]
        if assign:
            moved = manager.post(f"/api/v1/work-orders/{order_id}/assign", json=assign)
            assert moved.status_code == 200, moved.text
    return order_id


def _upload(
    api: ApiServer, user: str, order_id: int, name: str, body: bytes = PNG
) -> httpx.Response:
    with api.client(user) as client:
        return client.post(
            f"/api/v1/work-orders/{order_id}/attachments",
            files={"file": (name, body, "text/html")},
        )


def test_a_photo_named_html_is_kept_and_offered_as_png(api: ApiServer, tmp_path: Path) -> None:
    order_id = _order(api)
    response = _upload(api, "manager", order_id, "x.html")
    assert response.status_code == 201, response.text
    assert response.json()["filename"] == "x.png"
    stored = list((tmp_path / "attachments" / str(order_id)).iterdir())
    assert len(stored) == 1 and stored[0].suffix == ".png" and stored[0].stem != "x"
    with api.client("manager") as manager:
        download = manager.get(
            f"/api/v1/work-orders/{order_id}/attachments/{response.json()['id']}"
        )
    assert download.headers["content-type"] == "image/png"
    assert 'filename="x.png"' in download.headers["content-disposition"]
    assert download.headers["x-content-type-options"] == "nosniff"


def test_the_per_order_quota_answers_413_and_keeps_what_was_stored(api: ApiServer) -> None:
    api.context.attachment_quota_per_order_bytes = 2 * len(PNG)
    order_id = _order(api)
    assert [_upload(api, "manager", order_id, f"p{n}.png").status_code for n in range(2)] == [
        201,
        201,
    ]
    refused = _upload(api, "manager", order_id, "p3.png")
    assert refused.status_code == 413
    assert "may keep" in refused.text and "MiB" in refused.text
    with api.client("manager") as manager:
        kept = manager.get(f"/api/v1/work-orders/{order_id}").json()["attachments"]
    assert [a["filename"] for a in kept] == ["p0.png", "p1.png"]


def test_the_per_user_quota_spans_orders(api: ApiServer) -> None:
    api.context.attachment_quota_per_user_bytes = 3 * len(PNG)
    orders = [_order(api) for _ in range(2)]
    codes = [_upload(api, "manager", orders[n % 2], f"q{n}.png").status_code for n in range(4)]
    assert codes == [201, 201, 201, 413]
    refused = _upload(api, "manager", orders[1], "again.png")
    assert "FACILITY_ATTACHMENT_QUOTA_PER_USER_BYTES" in refused.text
    assert _upload(api, "admin", orders[1], "other-user.png").status_code == 201


def test_a_technician_cannot_attach_to_a_pool_order_but_can_to_their_own(api: ApiServer) -> None:
    pool = _order(api)
    refused = _upload(api, "tech", pool, "pool.png")
    assert refused.status_code == 403
    assert "not assigned to you or your team" in refused.text
    mine = _order(api, assignee="tech")
    assert _upload(api, "tech", mine, "mine.png").status_code == 201


@pytest.mark.parametrize("name", ["../../etc/passwd", "a\u0000b.png", "x" * 300, ".png", "...."])
def test_hostile_names_are_refused_or_tamed(api: ApiServer, name: str) -> None:
    order_id = _order(api)
    response = _upload(api, "manager", order_id, name)
    assert response.status_code in (201, 422), response.text
    if response.status_code == 201:
        shown = response.json()["filename"]
        assert shown.endswith(".png") and "/" not in shown and len(shown) <= 120
