"""The monthly service review rendered for people: HTML (always) and PDF (with Chromium)."""

from __future__ import annotations

from maintenance.review.report._render import CHART_NAMES, find_chromium, render_html, write_pdf

__all__ = ["CHART_NAMES", "find_chromium", "render_html", "write_pdf"]
