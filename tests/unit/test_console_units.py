"""Pure logic of the console: report links, rate limits, charts, languages, health, QR sheets."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import segno
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from console._charts import downsample, line_chart
from console._data import Health, asset_health
from console._i18n import LOCALE_DIR, catalogue, localizer, negotiate
from console._labels import format_value
from console._links import LinkError, RateLimiter, Revocations, sign_link, verify_link
from console._qrsheet import Sticker, qr_sheet_pdf
from console._session import csrf_token
from maintenance.shared.vocabulary import Priority

CONSOLE = Path(__file__).resolve().parents[2] / "console"
SECRET = "unit-secret-0123456789abcdef0123456789"


# -- report links ----------------------------------------------------------------------------------
def test_a_signed_link_verifies_to_its_asset_and_issue_time() -> None:
    token = sign_link(secret=SECRET, asset_id=42, issued_at=1_700_000_000)
    link = verify_link(token, secret=SECRET)
    assert (link.asset_id, link.issued_at) == (42, 1_700_000_000)
    assert len(token) < 50, "short enough for a small QR code"


def test_a_link_signed_with_another_secret_is_refused() -> None:
    token = sign_link(secret="another-secret-entirely-0123456789", asset_id=1)
    with pytest.raises(LinkError, match="not signed by this installation"):
        verify_link(token, secret=SECRET)


@pytest.mark.parametrize("field", [1, 2, 3])
def test_changing_any_part_of_a_link_breaks_its_signature(field: int) -> None:
    parts = sign_link(secret=SECRET, asset_id=7, issued_at=1_700_000_000).split(".")
    parts[field] = "1" + parts[field][1:] if parts[field][0] != "1" else "2" + parts[field][1:]
    with pytest.raises(LinkError):
        verify_link(".".join(parts), secret=SECRET)


@pytest.mark.parametrize(
    "token", ["", "v1", "v1.a.b", "v1.a.b.c.d", "v9.1.1.x", "v1.!.1.x", "v1.1.1." + "A" * 100]
)
def test_a_malformed_link_is_refused_with_a_clear_reason(token: str) -> None:
    with pytest.raises(LinkError, match=r"malformed|not signed"):
        verify_link(token, secret=SECRET)


def test_signing_a_negative_asset_id_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        sign_link(secret=SECRET, asset_id=-1)


def test_revoking_voids_older_links_of_that_asset_only(tmp_path: Path) -> None:
    revocations = Revocations(tmp_path / "links.json")
    old = sign_link(secret=SECRET, asset_id=1, issued_at=100)
    other = sign_link(secret=SECRET, asset_id=2, issued_at=100)
    revocations.revoke(1, at=200)
    with pytest.raises(LinkError, match="withdrawn"):
        verify_link(old, secret=SECRET, revocations=revocations)
    assert verify_link(other, secret=SECRET, revocations=revocations).asset_id == 2
    newer = sign_link(secret=SECRET, asset_id=1, issued_at=300)
    assert verify_link(newer, secret=SECRET, revocations=revocations).asset_id == 1


def test_a_revocation_written_by_another_process_is_seen_without_a_restart(
    tmp_path: Path,
) -> None:
    path = tmp_path / "links.json"
    console_view = Revocations(path)
    assert console_view.not_before(5) == 0
    Revocations(path).revoke(5, at=1234)
    assert console_view.not_before(5) == 1234


def test_the_rate_limiter_allows_the_limit_per_window_and_then_refuses() -> None:
    limiter = RateLimiter(limit=2, window_s=60)
    assert [limiter.allow("a", now=t) for t in (0, 1, 2)] == [True, True, False]
    assert limiter.allow("b", now=2), "another key has its own budget"
    assert limiter.allow("a", now=61), "the window slid past the first event"


def test_the_rate_limiter_bounds_its_memory_under_a_flood_of_keys() -> None:
    limiter = RateLimiter(limit=1, window_s=60, max_keys=3)
    assert all(limiter.allow(f"k{i}", now=0) for i in range(3))
    assert limiter.allow("k-new", now=1), "full: the oldest key is evicted, the new one served"
    assert len(limiter) == 3


def test_csrf_tokens_depend_on_the_nonce_and_the_secret() -> None:
    token = csrf_token("nonce-a", SECRET)
    assert re.fullmatch(r"[0-9a-f]{40}", token)
    assert token != csrf_token("nonce-b", SECRET)
    assert token != csrf_token("nonce-a", SECRET + "x")


# -- charts ----------------------------------------------------------------------------------------
def _series(n: int) -> list[tuple[datetime, float]]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [(start + timedelta(seconds=i), float(i % 10)) for i in range(n)]


def test_downsampling_keeps_every_buckets_extremes_in_time_order() -> None:
    points = _series(1000)
    points[517] = (points[517][0], 99.0)
    reduced = downsample(points, 100)
    assert len(reduced) <= 100
    assert max(v for _, v in reduced) == 99.0, "a spike survives"
    assert [t for t, _ in reduced] == sorted(t for t, _ in reduced)


def test_downsampling_to_fewer_than_two_points_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        downsample(_series(10), 1)


def test_a_chart_has_an_accessible_name_and_one_point_per_reading() -> None:
    svg = line_chart(
        _series(20),
        title="ahu-1 · <temp>",
        unit="degC",
        fmt_number=str,
        fmt_time=lambda ts: ts.strftime("%H:%M"),
        empty_text="none",
    )
    assert 'role="img"' in svg and "<title>ahu-1 · &lt;temp&gt; (degC)</title>" in svg
    points = re.search(r'points="([^"]+)"', svg)
    assert points and len(points.group(1).split()) == 20


def test_an_empty_or_flat_series_still_draws_without_dividing_by_zero() -> None:
    empty = line_chart(
        [], title="t", unit="", fmt_number=str, fmt_time=str, empty_text="No readings"
    )
    assert "No readings" in empty
    flat = [(datetime(2026, 1, 1, tzinfo=UTC), 5.0)] * 3
    assert "<polyline" in line_chart(
        flat, title="t", unit="", fmt_number=str, fmt_time=str, empty_text="-"
    )


# -- health ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("priorities", "presence", "health"),
    [
        ([Priority.P1], [True], Health.CRITICAL),
        ([Priority.P2], [True], Health.CRITICAL),
        ([], [True, False], Health.CRITICAL),
        ([Priority.P3], [True], Health.WARNING),
        ([Priority.P4], [None], Health.WARNING),
        ([], [None, None], Health.UNKNOWN),
        ([], [], Health.UNKNOWN),
        ([], [True, None], Health.OK),
        ([], [True, True], Health.OK),
    ],
)
def test_asset_health_is_the_worst_of_its_open_orders_and_devices(
    priorities: list[Priority], presence: list[bool | None], health: Health
) -> None:
    assert asset_health(priorities=priorities, presence=presence).health is health


# -- languages -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("choice", "header", "language"),
    [
        (None, "zh-CN,zh;q=0.9,en;q=0.8", "zh-Hans"),
        (None, "en-GB,en;q=0.9", "en"),
        (None, "fr-FR, de;q=0.9", "en"),
        (None, "en;q=0.3, zh-Hans;q=0.9", "zh-Hans"),
        (None, "zh-Hant-TW", "en"),
        (None, "", "en"),
        (None, None, "en"),
        (None, "zh;q=abc, en", "en"),
        (None, ";;;,,,q=", "en"),
        (None, "x" * 10_000 + ",zh", "en"),
        ("zh-Hans", "en", "zh-Hans"),
        ("en", "zh-CN", "en"),
        ("klingon", "zh-CN", "zh-Hans"),
    ],
)
def test_the_language_is_the_users_choice_else_the_browsers_else_english(
    choice: str | None, header: str | None, language: str
) -> None:
    assert negotiate(choice, header) == language


def test_numbers_and_dates_are_formatted_per_locale() -> None:
    en, zh = localizer("en"), localizer("zh-Hans")
    moment = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert en.number(12345.678) == "12,345.7"
    assert zh.number(12345.678) == "12,345.7"
    assert en.datetime(moment) == "Mar 4, 2026, 5:06:07\u202fAM"
    assert zh.datetime(moment) == "2026年3月4日 05:06:07"
    assert zh.datetime(moment, "Asia/Shanghai") == "2026年3月4日 13:06:07"
    assert en.datetime(moment, "Not/AZone") == en.datetime(moment), "bad zone falls back to UTC"


def test_an_unknown_message_is_recorded_as_missing_and_shown_as_is() -> None:
    loc = localizer("zh-Hans")
    assert loc.gettext("Log in") == "登录"
    assert loc.gettext("A string nobody wrote") == "A string nobody wrote"
    assert loc.missing == {"A string nobody wrote"}
    assert loc.label("not_a_metric") == "not_a_metric"
    assert loc.missing == {"A string nobody wrote"}, "data labels are not UI keys"


def test_one_english_word_with_two_meanings_has_a_chinese_word_per_context() -> None:
    loc = localizer("zh-Hans")
    assert loc.pgettext("work order", "Order") == "工单"
    assert loc.pgettext("quantity to order", "Order") == "订货量"
    assert localizer("en").pgettext("work order", "Order") == "Order"
    assert loc.pgettext("work order", "Nobody wrote this") == "Nobody wrote this"
    assert loc.missing == {"work order\x04Nobody wrote this"}


@pytest.mark.parametrize(
    ("metric", "value", "zh", "en"),
    [
        ("occupancy", 1.0, "有人", "occupied"),
        ("occupancy", 0.0, "无人", "vacant"),
        ("contact", 1.0, "关闭", "closed"),
        ("water_leak", 1.0, "漏水", "leak"),
        ("fan", 1.0, "开", "on"),
    ],
)
def test_a_boolean_reading_reads_as_the_words_of_its_metric(
    metric: str, value: float, zh: str, en: str
) -> None:
    chinese, english = localizer("zh-Hans"), localizer("en")
    assert format_value(chinese, value, "bool", metric) == zh
    assert format_value(english, value, "bool", metric) == en
    assert chinese.missing == set() and english.missing == set()


def _source_messages() -> set[tuple[str | None, str]]:
    """Every (context, message) the source marks: ``_``/``N_`` without one, ``pgettext`` in
    templates and ``NC_`` in Python with one."""
    found = set()
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    keywords = {
        "_": None,
        "gettext": None,
        "N_": None,
        "pgettext": ((1, "c"), 2),
        "NC_": ((1, "c"), 2),
    }
    for _file, _line, message, _comments, context in extract_from_dir(
        str(CONSOLE), method_map, options, keywords=keywords
    ):
        if isinstance(message, str) and message:
            found.add((context, message))
    return found


@pytest.mark.parametrize("folder", ["en", "zh_Hans"])
def test_every_message_in_the_source_is_translated_in_both_catalogues(folder: str) -> None:
    with (LOCALE_DIR / folder / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        po = read_po(handle)
    translated = {(m.context, str(m.id)) for m in po if m.id and m.string and not m.fuzzy}
    missing = _source_messages() - translated
    assert missing == set(), f"run pybabel extract/update and translate: {sorted(missing)}"


def test_chinese_translations_keep_every_placeholder() -> None:
    translations, known = catalogue("zh-Hans")
    for message in known:
        placeholders = set(re.findall(r"%\((\w+)\)s", message))
        assert set(re.findall(r"%\((\w+)\)s", translations.gettext(message))) == placeholders


# -- QR sheet --------------------------------------------------------------------------------------
def test_the_qr_sheet_is_a_pdf_with_a_page_per_twelve_stickers() -> None:
    stickers = [
        Sticker(f"A-{i}", f"Asset {i}", f"https://f.example/console/r/t{i}") for i in range(13)
    ]
    pdf = qr_sheet_pdf(stickers)
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    assert b"/Count 2" in pdf
    assert pdf.count(b"/Type /Page ") == 2
    assert b"(A-12) Tj" in pdf
    xref = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n", 1)[0])
    assert pdf[xref : xref + 4] == b"xref"


def test_a_qr_sheet_draws_every_dark_module_of_the_code() -> None:
    url = "https://f.example/console/r/v1.1.abc.xyz"
    pdf = qr_sheet_pdf([Sticker("A", "A", url)])
    dark = sum(sum(row) for row in segno.make(url, error="m", micro=False).matrix)
    widths = [float(w) for w in re.findall(rb"[\d.]+ [\d.]+ ([\d.]+) [\d.]+ re\n", pdf)]
    module = min(widths)
    assert round(sum(widths) / module) == dark


def test_names_outside_latin_1_print_as_question_marks_not_garbage() -> None:
    pdf = qr_sheet_pdf([Sticker("AHU-1", "空调机组 (roof)", "https://f.example/r/x")])
    assert b"(???? \\(roof\\)) Tj" in pdf


def test_an_empty_sheet_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="no assets"):
        qr_sheet_pdf([])


# -- styles ----------------------------------------------------------------------------------------
def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.parametrize("health", ["ok", "warning", "critical", "unknown"])
def test_health_colours_meet_wcag_aa_contrast(health: str) -> None:
    css = (CONSOLE / "static" / "console.css").read_text(encoding="utf-8")
    ink = re.search(rf"--{health}-ink: (#[0-9a-f]{{6}})", css)
    background = re.search(rf"--{health}-bg: (#[0-9a-f]{{6}})", css)
    assert ink and background
    a, b = _luminance(ink.group(1)), _luminance(background.group(1))
    assert (max(a, b) + 0.05) / (min(a, b) + 0.05) >= 4.5


# -- layering --------------------------------------------------------------------------------------
@pytest.mark.parametrize("package", ["gateway", "rules", "maintenance", "simulators"])
def test_nothing_below_the_console_imports_it(package: str) -> None:
    root = CONSOLE.parent / package
    offenders = [
        str(path.relative_to(CONSOLE.parent))
        for path in root.rglob("*.py")
        if re.search(r"^\s*(from|import) console\b", path.read_text(encoding="utf-8"), re.M)
    ]
    assert offenders == []
