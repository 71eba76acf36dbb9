"""WeCom, DingTalk and Feishu group robots from the outbox to a real local HTTP receiver.

The receiver answers as the vendors' robots do (``{"errcode": 0}`` / ``{"code": 0}``) and the
test checks every format and verifies every signature with the secret itself, independently of
``maintenance.notifications.robots``.
"""

# Chinese texts use full-width punctuation, which is correct there and not a confusable:
# ruff: noqa: RUF001

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from gateway.broker import free_port
from maintenance.notifications.models import Delivery, OutboxMessage
from maintenance.notifications.service import NotificationWorker, NotifyConfig, RobotTarget
from maintenance.shared.db import connect, upgrade
from maintenance.shared.vocabulary import Priority
from maintenance.work_orders import service
from tests.integration._http import serve_http
from tests.integration._work_order_server import HandClock, seed

WECOM_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
DINGTALK_TOKEN = "d1f0c3a5b7e9d1f0c3a5b7e9d1f0c3a5b7e9d1f0c3a5b7e9d1f0c3a5b7e9aa"
DINGTALK_SECRET = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
FEISHU_TOKEN = "2f6c3b1e-aaaa-bbbb-cccc-0123456789ab"
FEISHU_SECRET = "feishu-secret-abcdefghijkl"
CONSOLE = "https://facility.example.cn"
TITLE = "2号冷水机组出水温度过高"
TOKENS = (WECOM_KEY, DINGTALK_TOKEN, DINGTALK_SECRET, FEISHU_TOKEN, FEISHU_SECRET)

OK = {"wecom": {"errcode": 0, "errmsg": "ok"}, "dingtalk": {"errcode": 0, "errmsg": "ok"}}
OK["feishu"] = {"code": 0, "msg": "success", "data": {}}


@dataclass
class Robots:
    """A real HTTP server playing all three robots; ``answers[kind]`` are popped per request."""

    url: str = ""
    requests: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)
    answers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def of(self, kind: str) -> list[tuple[str, dict[str, str], bytes]]:
        return [(path, headers, body) for k, path, headers, body in self.requests if k == kind]

    def handler(self) -> type[BaseHTTPRequestHandler]:
        robots = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                kind = self.path.split("/")[1]
                robots.requests.append((kind, self.path, dict(self.headers), body))
                queue = robots.answers.get(kind, [])
                answer = orjson.dumps(queue.pop(0) if queue else OK[kind])
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def wecom(self, **options: Any) -> RobotTarget:
        url = f"{self.url}/wecom/cgi-bin/webhook/send?key={WECOM_KEY}"
        return RobotTarget("wecom", options.pop("name", "ops-wecom"), url, **options)

    def dingtalk(self, **options: Any) -> RobotTarget:
        url = f"{self.url}/dingtalk/robot/send?access_token={DINGTALK_TOKEN}"
        return RobotTarget("dingtalk", "ops-dingtalk", url, DINGTALK_SECRET, **options)

    def feishu(self, **options: Any) -> RobotTarget:
        url = f"{self.url}/feishu/open-apis/bot/v2/hook/{FEISHU_TOKEN}"
        secret = options.pop("secret", FEISHU_SECRET)
        return RobotTarget("feishu", options.pop("name", "ops-feishu"), url, secret, **options)


@pytest.fixture
def robots() -> Iterator[Robots]:
    state = Robots()
    with serve_http(state.handler()) as url:
        state.url = url
        yield state


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine, factory = connect(database_url)
    upgrade(engine)
    seed(factory)
    yield factory
    engine.dispose()


def _order(
    sessions: sessionmaker[Session], clock: HandClock, priority: Priority = Priority.P1
) -> int:
    with sessions() as session:
        order, _ = service.create_work_order(
            session,
            title=TITLE,
            actor="requester",
            asset_code="AHU-1",
            priority=priority,
            now=clock(),
        )
        return order.id


def _deliveries(sessions: sessionmaker[Session]) -> list[Delivery]:
    with sessions() as session:
        return list(session.scalars(sa.select(Delivery).order_by(Delivery.id)))


def test_each_robot_gets_its_own_format_signed_in_its_language_with_a_link_to_the_order(
    sessions: sessionmaker[Session], robots: Robots, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = HandClock()
    created = frozenset({"created"})
    config = NotifyConfig(
        robots=(
            robots.wecom(events=created),
            robots.dingtalk(events=created),
            robots.feishu(events=created, language="en"),
            robots.feishu(name="ops-feishu-text", events=created, card=False, secret=None),
        ),
        console_base_url=CONSOLE + "/",
    )
    order_id = _order(sessions, clock)
    link = f"{CONSOLE}/console/orders/{order_id}"

    assert NotificationWorker(sessions, config, clock).run_once() == 4

    assert [d.status for d in _deliveries(sessions)] == ["sent"] * 4
    for _, _, headers, body in robots.requests:
        assert headers["Content-Type"] == "application/json; charset=utf-8"
        assert headers["X-Facility-Delivery"].isdigit()
        assert link.encode() in body  # the link points at the order

    ((path, _, body),) = robots.of("wecom")
    assert path == f"/wecom/cgi-bin/webhook/send?key={WECOM_KEY}"
    assert TITLE.encode("utf-8") in body  # raw UTF-8 on the wire, not \\u escapes
    message = orjson.loads(body)
    assert message["msgtype"] == "markdown" and list(message) == ["msgtype", "markdown"]
    content = message["markdown"]["content"]
    assert content.startswith(f"**新工单 #{order_id}**")
    for line in (f"工单号：#{order_id}", f"标题：{TITLE}", "设备：AHU-1", "优先级：P1"):
        assert line in content
    assert f"[在控制台查看工单]({link})" in content

    ((path, _, body),) = robots.of("dingtalk")
    parts = urlsplit(path)
    query = parse_qs(parts.query)
    assert parts.path == "/dingtalk/robot/send"
    assert query["access_token"] == [DINGTALK_TOKEN]
    timestamp = query["timestamp"][0]
    assert int(timestamp) == int(clock().timestamp() * 1000)  # milliseconds
    expected = hmac.new(
        DINGTALK_SECRET.encode(), f"{timestamp}\n{DINGTALK_SECRET}".encode(), hashlib.sha256
    ).digest()
    assert base64.b64decode(query["sign"][0]) == expected  # parse_qs undid the URL-encoding
    assert not set(path.split("sign=")[1]) & set("+/=")  # base64 is URL-encoded on the wire
    message = orjson.loads(body)
    assert message["msgtype"] == "markdown"
    assert message["markdown"]["title"] == f"新工单 #{order_id}"
    assert f"- **标题**：{TITLE}" in message["markdown"]["text"]
    assert "- **状态**：新建" in message["markdown"]["text"]

    (card, text) = robots.of("feishu")
    assert card[0] == f"/feishu/open-apis/bot/v2/hook/{FEISHU_TOKEN}"
    message = orjson.loads(card[2])
    assert message["msg_type"] == "interactive"
    assert message["timestamp"] == str(int(clock().timestamp()))  # seconds, as a string
    key = f"{message['timestamp']}\n{FEISHU_SECRET}".encode()
    expected = hmac.new(key, b"", hashlib.sha256).digest()
    assert base64.b64decode(message["sign"]) == expected
    assert message["card"]["header"]["title"]["content"] == f"New work order #{order_id}"
    markdown = message["card"]["elements"][0]["text"]["content"]
    assert f"**Title**: {TITLE}" in markdown and "**Asset**: AHU-1" in markdown
    (button,) = message["card"]["elements"][1]["actions"]
    assert button["url"] == link
    message = orjson.loads(text[2])
    assert message["msg_type"] == "text" and "sign" not in message  # unsigned robot
    assert message["content"]["text"].startswith(f"新工单 #{order_id}\n工单号：#{order_id}\n")
    assert message["content"]["text"].endswith(f"\n在控制台查看工单：{link}")
    assert not [r for r in caplog.records if any(t in r.getMessage() for t in TOKENS)]


def test_a_robot_answering_an_error_code_is_retried_then_given_up_but_not_lost(
    sessions: sessionmaker[Session], robots: Robots, caplog: pytest.LogCaptureFixture
) -> None:
    clock = HandClock()
    refused = {"errcode": 93000, "errmsg": "invalid webhook url"}
    robots.answers["wecom"] = [refused] * 3
    robots.answers["dingtalk"] = [{"errcode": 310000, "errmsg": "sign not match"}] * 2
    config = NotifyConfig(
        robots=(
            robots.wecom(events=frozenset({"created"})),
            robots.dingtalk(events=frozenset({"created"})),
        ),
        max_attempts=3,
        backoff_s=1,
    )
    worker = NotificationWorker(sessions, config, clock)
    _order(sessions, clock)
    with caplog.at_level(logging.INFO):
        for _ in range(4):
            worker.run_once()
            clock.advance(seconds=60)

    wecom, dingtalk = _deliveries(sessions)
    assert (wecom.channel, wecom.status, wecom.attempts) == ("wecom", "dead", 3)
    assert "code 93000: invalid webhook url" in wecom.last_error
    assert (dingtalk.channel, dingtalk.status, dingtalk.attempts) == ("dingtalk", "sent", 3)
    assert len(robots.of("wecom")) == 3 and len(robots.of("dingtalk")) == 3
    ids = {headers["X-Facility-Delivery"] for _, headers, _ in robots.of("wecom")}
    assert ids == {str(wecom.id)}  # every retry carries the same delivery id
    with sessions() as session:  # the message stays in the outbox with its dead delivery
        assert session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 1
    assert "giving up on wecom delivery to ops-wecom" in caplog.text
    assert WECOM_KEY not in caplog.text and WECOM_KEY not in wecom.last_error


def test_a_rate_limited_robot_waits_out_the_minute(
    sessions: sessionmaker[Session], robots: Robots
) -> None:
    clock = HandClock()
    robots.answers["wecom"] = [{"errcode": 45009, "errmsg": "api freq out of limit"}]
    config = NotifyConfig(robots=(robots.wecom(events=frozenset({"created"})),), backoff_s=1)
    worker = NotificationWorker(sessions, config, clock)
    _order(sessions, clock)

    assert worker.run_once() == 1  # rate limited
    clock.advance(seconds=30)
    assert worker.run_once() == 0  # not the 1 s backoff: a whole minute
    clock.advance(seconds=30)
    assert worker.run_once() == 1
    (delivery,) = _deliveries(sessions)
    assert (delivery.status, delivery.attempts) == ("sent", 2)


def test_events_are_routed_per_robot_and_by_priority(
    sessions: sessionmaker[Session], robots: Robots
) -> None:
    clock = HandClock()
    p1 = robots.wecom(name="p1-only", events=frozenset({"created"}), priorities=frozenset({"P1"}))
    breaches = robots.feishu(events=frozenset({"breached"}))
    worker = NotificationWorker(sessions, NotifyConfig(robots=(p1, breaches)), clock)
    _order(sessions, clock, Priority.P3)
    worker.run_once()
    assert robots.requests == []  # a P3 order is neither new-P1 nor (yet) breached
    p1_id = _order(sessions, clock, Priority.P1)
    worker.run_once()
    ((_, _, body),) = robots.of("wecom")
    assert f"#{p1_id}" in orjson.loads(body)["markdown"]["content"]
    assert robots.of("feishu") == []
    assert {(d.channel, d.target) for d in _deliveries(sessions)} == {("wecom", "p1-only")}


def test_a_robot_that_cannot_be_reached_keeps_its_token_out_of_the_error(
    sessions: sessionmaker[Session],
) -> None:
    clock = HandClock()
    dead = f"http://127.0.0.1:{free_port()}/cgi-bin/webhook/send?key={WECOM_KEY}"
    robot = RobotTarget("wecom", "gone", dead, events=frozenset({"created"}))
    assert WECOM_KEY not in repr(robot)
    config = NotifyConfig(robots=(robot,), max_attempts=1, timeout_s=2)
    NotificationWorker(sessions, config, clock).run_once()
    _order(sessions, clock)
    NotificationWorker(sessions, config, clock).run_once()
    (delivery,) = _deliveries(sessions)
    assert delivery.status == "dead" and "ConnectError" in delivery.last_error
    assert WECOM_KEY not in delivery.last_error and delivery.target == "gone"
