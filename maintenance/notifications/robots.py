"""Group robots of WeCom (企业微信), DingTalk (钉钉) and Feishu/Lark (飞书): formats and signatures.

The worker in :mod:`maintenance.notifications.service` delivers to robots through the same outbox
as webhooks and e-mail; this module only turns one outbox payload into the HTTP request a robot
expects (:func:`build_request`) and judges its answer (:func:`check_answer`). Each follows the
vendor's public documentation of the custom group robot:

* WeCom "群机器人配置说明": ``{"msgtype": "markdown", "markdown": {"content": ...}}``, success
  ``{"errcode": 0}``; 45009 means the robot's rate limit (20 messages a minute) was hit.
* DingTalk "自定义机器人发送群消息" / "自定义机器人安全设置" (加签): ``{"msgtype": "markdown",
  "markdown": {"title", "text"}}``; signed mode appends ``&timestamp=<ms>&sign=<urlencoded
  base64(HMAC-SHA256(secret, "<ms>\\n<secret>"))>``; success ``{"errcode": 0}``; 130101 means
  "send too fast".
* Feishu/Lark "自定义机器人使用指南": ``{"msg_type": "interactive", "card": ...}`` or ``{"msg_type":
  "text", "content": {"text"}}``; signed mode adds ``"timestamp": "<s>"`` and ``"sign":
  base64(HMAC-SHA256(key="<s>\\n<secret>", msg=b""))`` to the body; success ``{"code": 0}``
  (older hooks: ``{"StatusCode": 0}``).

Robot URLs carry their access token (``key=``, ``access_token=``, ``/hook/<token>``), so the URL
is as secret as the signing secret: neither appears in ``repr``, logs, ``last_error`` or the
``deliveries`` table (a delivery names its robot by ``name``).
"""

# Chinese texts use full-width punctuation, which is correct there and not a confusable:
# ruff: noqa: RUF001

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, quote_plus, urlsplit

import orjson

from maintenance.notifications.events import CERTIFICATE_EVENTS, EVENTS, ORDER_EVENTS, STOCK_EVENTS

__all__ = [
    "KINDS",
    "RobotError",
    "RobotTarget",
    "build_request",
    "check_answer",
    "dingtalk_sign",
    "feishu_sign",
    "order_link",
    "protect_logs",
    "scrub",
]

RobotKind = Literal["wecom", "dingtalk", "feishu"]
Language = Literal["zh-Hans", "en"]
#: The ``deliveries.channel`` of each robot kind.
KINDS: tuple[RobotKind, ...] = ("wecom", "dingtalk", "feishu")
LANGUAGES: tuple[Language, ...] = ("zh-Hans", "en")
PRIORITIES = frozenset({"P1", "P2", "P3", "P4"})
#: Error codes that mean "slow down" rather than "refused" (Feishu: HTTP 429 only).
RATE_LIMITED = {"wecom": {45009}, "dingtalk": {130101}, "feishu": set[int]()}
#: How long to wait at least after a rate-limit answer (the robots count per minute).
RATE_LIMIT_PAUSE_S = 60.0
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
#: WeCom markdown content is limited to 4096 bytes; DingTalk and Feishu allow far more.
_MAX_BYTES = 4000


class RobotError(Exception):
    """A robot did not take the message; ``pause_s`` is set when it asked us to slow down."""

    def __init__(self, message: str, *, pause_s: float | None = None) -> None:
        super().__init__(message)
        self.pause_s = pause_s


@dataclass(frozen=True, slots=True)
class RobotTarget:
    """One group robot: where it is, how it signs, its language and which events it gets.

    ``priorities`` narrows the work-order events to those priorities (empty = all); events that
    are not about an order (stock, certificates) are not filtered by it.
    """

    kind: RobotKind
    name: str
    url: str = field(repr=False)
    secret: str | None = field(default=None, repr=False)
    language: Language = "zh-Hans"
    events: frozenset[str] = frozenset(EVENTS)
    priorities: frozenset[str] = frozenset()
    card: bool = True  # Feishu: an interactive card; False = plain text

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"robot kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"robot name {self.name[:80]!r} must be 1-64 of A-Z a-z 0-9 _ . -")
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"robot {self.name}: the URL must start with http:// or https://")
        if self.secret is not None and (self.kind == "wecom" or not self.secret):
            raise ValueError(f"robot {self.name}: only DingTalk and Feishu robots take a secret")
        if self.language not in LANGUAGES:
            raise ValueError(f"robot {self.name}: language must be one of {', '.join(LANGUAGES)}")
        if unknown := sorted(self.events - set(EVENTS)):
            raise ValueError(f"robot {self.name}: unknown events {', '.join(unknown)}")
        if unknown := sorted(self.priorities - PRIORITIES):
            raise ValueError(f"robot {self.name}: unknown priorities {', '.join(unknown)}")

    def wants(self, event: str, payload: dict[str, Any]) -> bool:
        """Whether this robot is routed ``event`` (and the order's priority, if filtered)."""
        if event not in self.events:
            return False
        if self.priorities and event in ORDER_EVENTS:
            return str(payload.get("work_order", {}).get("priority")) in self.priorities
        return True

    def secrets(self) -> list[str]:
        """Strings that must never be shown: the URL, its tokens and the signing secret."""
        parts = urlsplit(self.url)
        found = [self.url, *(v for _, v in parse_qsl(parts.query) if len(v) >= 6)]
        found += [segment for segment in parts.path.split("/") if len(segment) >= 16]
        if self.secret:
            found.append(self.secret)
        return sorted(set(found), key=len, reverse=True)


def scrub(text: str, robot: RobotTarget) -> str:
    """``text`` with the robot's URL, tokens and secret replaced by ``***``."""
    for secret in robot.secrets():
        text = text.replace(secret, "***").replace(quote_plus(secret), "***")
    return text


class _Redact(logging.Filter):
    """Masks robot URLs and secrets in records of the HTTP client, which logs each request URL."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: list[str] = []
        self.lock = threading.Lock()

    def add(self, secrets: list[str]) -> None:
        with self.lock:
            self.secrets = sorted(set(self.secrets) | set(secrets), key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = message
        for secret in self.secrets:
            masked = masked.replace(secret, "***")
        if masked != message:
            record.msg, record.args = masked, None
        return True


_REDACT = _Redact()
#: Loggers that may print a request URL: httpx logs every request at INFO, httpcore at DEBUG.
_HTTP_LOGGERS = ("httpx", "httpcore", "httpcore.connection", "httpcore.http11")


def protect_logs(robots: tuple[RobotTarget, ...]) -> None:
    """Keep these robots' URLs, tokens and secrets out of the HTTP client's log records."""
    _REDACT.add(
        [s for robot in robots for s in (*robot.secrets(), *map(quote_plus, robot.secrets()))]
    )
    for name in _HTTP_LOGGERS:
        logger = logging.getLogger(name)
        if _REDACT not in logger.filters:
            logger.addFilter(_REDACT)


# -- signatures -----------------------------------------------------------------------------------
def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk 加签: base64(HMAC-SHA256(key=secret, msg="<ms>\\n<secret>")), not URL-encoded."""
    mac = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu/Lark 签名校验: base64(HMAC-SHA256(key="<s>\\n<secret>", msg=b""))."""
    mac = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


# -- texts ----------------------------------------------------------------------------------------
HEADINGS: dict[str, dict[str, str]] = {
    "zh-Hans": {
        "created": "新工单 #{id}",
        "assigned": "工单 #{id} 已派给 {assignee}",
        "breached": "工单 #{id} 已超出 SLA（{priority}）",
        "escalated": "升级：工单 #{id} 仍超出 SLA",
        "resolved": "工单 #{id} 已完成，请验收",
        "verified": "工单 #{id} 已验收",
        "reopened": "工单 #{id} 已重新打开",
        "certificate_expiring": "{supplier} 的证书将在 {days_left} 天后到期",
        "certificate_expired": "{supplier} 的证书已过期",
        "stock_low": "库存不足：{sku} {name}（剩余 {on_hand} {unit}）",
    },
    "en": {
        "created": "New work order #{id}",
        "assigned": "Work order #{id} assigned to {assignee}",
        "breached": "SLA breached on work order #{id} ({priority})",
        "escalated": "Escalation: work order #{id} still breached",
        "resolved": "Please verify work order #{id}",
        "verified": "Work order #{id} verified",
        "reopened": "Work order #{id} reopened",
        "certificate_expiring": "Certificate of {supplier} expires in {days_left} days",
        "certificate_expired": "Certificate of {supplier} has expired",
        "stock_low": "Low stock: {sku} {name} ({on_hand} {unit} left)",
    },
}
LABELS: dict[str, dict[str, str]] = {
    "zh-Hans": {
        "number": "工单号",
        "title": "标题",
        "asset": "设备",
        "location": "位置",
        "priority": "优先级",
        "status": "状态",
        "assignee": "负责人",
        "link": "在控制台查看工单",
        "supplier": "供应商",
        "certificate": "证书",
        "expires_on": "到期日",
        "on_hand": "现有库存",
        "reorder_point": "再订货点",
        "suggested": "建议订购",
        "none": "无",
    },
    "en": {
        "number": "Order",
        "title": "Title",
        "asset": "Asset",
        "location": "Location",
        "priority": "Priority",
        "status": "Status",
        "assignee": "Assignee",
        "link": "Open the order in the console",
        "supplier": "Supplier",
        "certificate": "Certificate",
        "expires_on": "Expires on",
        "on_hand": "On hand",
        "reorder_point": "Reorder point",
        "suggested": "Suggested order",
        "none": "none",
    },
}
STATUSES: dict[str, str] = {
    "new": "新建",
    "assigned": "已派工",
    "in_progress": "处理中",
    "on_hold": "挂起",
    "resolved": "待验收",
    "verified": "已验收",
    "reopened": "重新打开",
    "closed": "已关闭",
    "cancelled": "已取消",
}


@dataclass(frozen=True, slots=True)
class Text:
    """A message independent of the robot's markup: heading, labelled lines, optional link."""

    heading: str
    lines: tuple[tuple[str, str], ...]
    link: tuple[str, str] | None  # (label, url)


def _clean(value: Any, limit: int = 200) -> str:
    """One line of user text: no line breaks (they would fake lines), at most ``limit`` chars."""
    text = " ".join(str(value).split()) if value not in (None, "") else ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def order_link(console_base_url: str | None, order_id: Any) -> str | None:
    """The console page of an order, ``<base>/console/orders/<id>``; ``None`` without a base."""
    if not console_base_url or order_id is None:
        return None
    return f"{console_base_url.rstrip('/')}/console/orders/{int(order_id)}"


def compose(
    event: str, payload: dict[str, Any], language: Language, console_base_url: str | None
) -> Text:
    """The message about one outbox payload in ``language``."""
    labels = LABELS[language]
    none = labels["none"]
    if event in STOCK_EVENTS:
        fields = {k: _clean(v) for k, v in payload.items() if k != "data"}
        unit = fields.get("unit", "")
        lines = [
            (labels["on_hand"], f"{fields.get('on_hand', '')} {unit}"),
            (labels["reorder_point"], f"{fields.get('reorder_point', '')} {unit}"),
            (labels["suggested"], f"{fields.get('suggested_qty', '')} {unit}"),
            (labels["supplier"], fields.get("supplier") or none),
        ]
        link = None
    elif event in CERTIFICATE_EVENTS:
        supplier = payload.get("supplier", {})
        certificate = payload.get("certificate", {})
        fields = {
            "supplier": _clean(supplier.get("name")),
            "days_left": _clean(payload.get("days_left")),
        }
        lines = [
            (labels["supplier"], f"{fields['supplier']} ({_clean(supplier.get('code'))})"),
            (
                labels["certificate"],
                f"{_clean(certificate.get('name'))} {_clean(certificate.get('number'))}".strip(),
            ),
            (labels["expires_on"], _clean(certificate.get("expires_on"))),
        ]
        link = None
    else:
        order = payload.get("work_order", {})
        fields = {k: _clean(v) for k, v in order.items()}
        status = fields.get("status", "")
        if language == "zh-Hans":
            status = STATUSES.get(status, status)
        lines = [
            (labels["number"], f"#{fields.get('id', '')}"),
            (labels["title"], fields.get("title", "")),
            (labels["asset"], fields.get("asset") or none),
            (labels["priority"], fields.get("priority", "")),
            (labels["status"], status),
        ]
        if fields.get("location"):
            lines.append((labels["location"], fields["location"]))
        if fields.get("assignee"):
            lines.append((labels["assignee"], fields["assignee"]))
        url = order_link(console_base_url, order.get("id"))
        link = (labels["link"], url) if url else None
    heading = HEADINGS[language][event].format_map(_Defaults(fields))
    return Text(heading, tuple(lines), link)


class _Defaults(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def _truncate(text: str) -> str:
    data = text.encode()
    if len(data) <= _MAX_BYTES:
        return text
    return data[: _MAX_BYTES - 3].decode(errors="ignore") + "…"


def _separator(language: Language) -> str:
    return "：" if language == "zh-Hans" else ": "


def _body(robot: RobotTarget, text: Text) -> dict[str, Any]:
    sep = _separator(robot.language)
    if robot.kind == "wecom":
        content = f"**{text.heading}**\n" + "\n".join(f"> {k}{sep}{v}" for k, v in text.lines)
        if text.link:
            content += f"\n[{text.link[0]}]({text.link[1]})"
        return {"msgtype": "markdown", "markdown": {"content": _truncate(content)}}
    if robot.kind == "dingtalk":
        markdown = f"### {text.heading}\n\n" + "\n\n".join(
            f"- **{k}**{sep}{v}" for k, v in text.lines
        )
        if text.link:
            markdown += f"\n\n[{text.link[0]}]({text.link[1]})"
        return {
            "msgtype": "markdown",
            "markdown": {"title": text.heading, "text": _truncate(markdown)},
        }
    if not robot.card:
        plain = text.heading + "\n" + "\n".join(f"{k}{sep}{v}" for k, v in text.lines)
        if text.link:
            plain += f"\n{text.link[0]}{sep}{text.link[1]}"
        return {"msg_type": "text", "content": {"text": _truncate(plain)}}
    elements: list[dict[str, Any]] = [
        {
            "tag": "div",
            "text": {
                "tag": "lark_md",
                "content": _truncate("\n".join(f"**{k}**{sep}{v}" for k, v in text.lines)),
            },
        }
    ]
    if text.link:
        elements.append(
            {
                "tag": "action",
                "actions": [
                    {
                        "tag": "button",
                        "text": {"tag": "plain_text", "content": text.link[0]},
                        "url": text.link[1],
                        "type": "primary",
                    }
                ],
            }
        )
    return {
        "msg_type": "interactive",
        "card": {
            "config": {"wide_screen_mode": True},
            "header": {"title": {"tag": "plain_text", "content": text.heading}},
            "elements": elements,
        },
    }


def build_request(
    robot: RobotTarget,
    event: str,
    payload: dict[str, Any],
    *,
    console_base_url: str | None,
    timestamp_s: float,
) -> tuple[str, bytes]:
    """The URL (with DingTalk's signature) and the UTF-8 JSON body to POST for one event."""
    body = _body(robot, compose(event, payload, robot.language, console_base_url))
    url = robot.url
    if robot.secret and robot.kind == "dingtalk":
        millis = int(timestamp_s * 1000)
        sign = quote_plus(dingtalk_sign(robot.secret, millis))
        url += ("&" if urlsplit(url).query else "?") + f"timestamp={millis}&sign={sign}"
    elif robot.secret and robot.kind == "feishu":
        seconds = int(timestamp_s)
        body = {"timestamp": str(seconds), "sign": feishu_sign(robot.secret, seconds), **body}
    return url, orjson.dumps(body)


def check_answer(robot: RobotTarget, status: int, content: bytes) -> None:
    """Raise :class:`RobotError` unless the robot accepted the message."""
    if status == 429:
        raise RobotError(
            f"{robot.kind} robot {robot.name} answered HTTP 429", pause_s=RATE_LIMIT_PAUSE_S
        )
    if status >= 300:
        raise RobotError(f"{robot.kind} robot {robot.name} answered HTTP {status}")
    try:
        answer = orjson.loads(content)
    except orjson.JSONDecodeError:
        raise RobotError(f"{robot.kind} robot {robot.name} answered no JSON") from None
    if not isinstance(answer, dict):
        raise RobotError(f"{robot.kind} robot {robot.name} answered no JSON object")
    if robot.kind == "feishu":
        code = answer.get("code", answer.get("StatusCode"))
        message = answer.get("msg", answer.get("StatusMessage", ""))
    else:
        code, message = answer.get("errcode"), answer.get("errmsg", "")
    if code == 0:
        return
    pause = RATE_LIMITED[robot.kind]
    raise RobotError(
        scrub(f"{robot.kind} robot {robot.name} answered code {code}: {_clean(message)}", robot),
        pause_s=RATE_LIMIT_PAUSE_S if code in pause else None,
    )
