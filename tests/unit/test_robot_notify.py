"""Robot signatures against vectors computed elsewhere, and robot targets built from settings."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote_plus

import orjson
import pytest

from facility.app.stack import notify_config
from facility.core.errors import ConfigError
from facility.core.settings import load_settings
from maintenance.notifications.robots import (
    RobotTarget,
    build_request,
    dingtalk_sign,
    feishu_sign,
    scrub,
)

DINGTALK_SECRET = "SECb6c4f1a0e2d94d3c8f7e6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4"
# printf '%s\n%s' 1700000000000 "$SECRET" | openssl dgst -sha256 -hmac "$SECRET" -binary | base64
DINGTALK_VECTOR = "GrE6x8fjj1n98RfnNHZrojanVjjL/oQ43hB3psg0drM="
# printf '' | openssl dgst -sha256 -hmac $'1700000000\nfeishu-secret-abc123' -binary | base64
FEISHU_VECTOR = "BIlOJCCHiY1/aTY5+pbHUUIMAWIA/hlrrhDJV7iAhec="


def test_dingtalk_signature_matches_openssl_and_the_documented_recipe() -> None:
    assert dingtalk_sign(DINGTALK_SECRET, 1700000000000) == DINGTALK_VECTOR
    message = f"1700000000123\n{DINGTALK_SECRET}".encode()
    mac = hmac.new(DINGTALK_SECRET.encode(), message, hashlib.sha256).digest()
    assert dingtalk_sign(DINGTALK_SECRET, 1700000000123) == base64.b64encode(mac).decode()


def test_feishu_signature_keys_the_hmac_with_timestamp_and_secret_over_an_empty_message() -> None:
    assert feishu_sign("feishu-secret-abc123", 1700000000) == FEISHU_VECTOR
    mac = hmac.new(b"1700000001\nfeishu-secret-abc123", b"", hashlib.sha256).digest()
    assert feishu_sign("feishu-secret-abc123", 1700000001) == base64.b64encode(mac).decode()


def test_the_dingtalk_signature_is_url_encoded_in_the_query() -> None:
    robot = RobotTarget(
        "dingtalk", "d", "https://oapi.dingtalk.com/robot/send?access_token=abc", DINGTALK_SECRET
    )
    url, _ = build_request(
        robot, "stock_low", {"sku": "B"}, console_base_url=None, timestamp_s=1700000000.0
    )
    assert url == (
        "https://oapi.dingtalk.com/robot/send?access_token=abc"
        f"&timestamp=1700000000000&sign={quote_plus(DINGTALK_VECTOR)}"
    )
    assert "%2F" in url and "%3D" in url


def test_feishu_signed_body_carries_timestamp_and_sign() -> None:
    robot = RobotTarget(
        "feishu", "f", "https://open.feishu.cn/open-apis/bot/v2/hook/t", "feishu-secret-abc123"
    )
    _, body = build_request(
        robot, "certificate_expired", {}, console_base_url=None, timestamp_s=1700000000.9
    )
    message = orjson.loads(body)
    assert (message["timestamp"], message["sign"]) == ("1700000000", FEISHU_VECTOR)


def test_secrets_are_masked_and_not_in_repr() -> None:
    robot = RobotTarget(
        "dingtalk", "d", "https://oapi.dingtalk.com/robot/send?access_token=tok123456", "SECabc"
    )
    assert "tok123456" not in repr(robot) and "SECabc" not in repr(robot)
    assert scrub("GET .../send?access_token=tok123456 with SECabc", robot) == (
        "GET .../send?access_token=*** with ***"
    )


def test_robots_are_built_from_settings_and_masked_in_config_show() -> None:
    settings = load_settings(
        console_base_url="https://facility.example.cn",
        robots=[
            {
                "name": "ops",
                "kind": "wecom",
                "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k-123456",
                "events": ["created", "breached"],
                "priorities": ["P1"],
            },
            {
                "name": "ops",
                "kind": "feishu",
                "url": "https://open.feishu.cn/open-apis/bot/v2/hook/abcdefabcdefabcdef",
                "secret": "s3cr3t",
                "language": "en",
            },
        ],
    )
    config = notify_config(settings)
    wecom, feishu = config.robots
    assert (wecom.kind, wecom.events, wecom.priorities) == (
        "wecom",
        frozenset({"created", "breached"}),
        frozenset({"P1"}),
    )
    assert (feishu.language, feishu.secret, "stock_low" in feishu.events) == ("en", "s3cr3t", True)
    assert config.console_base_url == "https://facility.example.cn"
    shown = orjson.dumps(settings.masked()).decode()
    assert "k-123456" not in shown and "s3cr3t" not in shown and "abcdefabcdef" not in shown


@pytest.mark.parametrize(
    ("robot", "problem"),
    [
        ({"kind": "wecom", "url": "https://x.example/send?key=1", "secret": "s"}, "secret"),
        ({"kind": "dingtalk", "url": "ftp://x"}, "http"),
        ({"kind": "feishu", "url": "https://x.example/h", "events": ["nope"]}, "unknown events"),
        ({"kind": "feishu", "url": "https://x.example/h", "priorities": ["P9"]}, "priorities"),
    ],
)
def test_unusable_robot_settings_are_a_config_error(robot: dict[str, object], problem: str) -> None:
    settings = load_settings(robots=[{"name": "r", **robot}])
    with pytest.raises(ConfigError, match=rf"FACILITY_ROBOTS\[0\].*{problem}"):
        notify_config(settings)


def test_two_robots_of_one_kind_need_different_names() -> None:
    robot = {"name": "r", "kind": "wecom", "url": "https://x.example/send?key=1"}
    with pytest.raises(ConfigError, match="share a name"):
        notify_config(load_settings(robots=[robot, robot]))
