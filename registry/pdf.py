"""PDF rendering with WeasyPrint: Chinese set in an embedded CJK font, nothing fetched from the network."""

from __future__ import annotations

import functools
from pathlib import Path

from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

# Noto Sans CJK SC (fonts-noto-cjk) for its true bold; WenQuanYi Micro Hei as the small fallback.
# WeasyPrint embeds a subset of whichever it uses, so the PDF reads the same on any machine.
BASE_STYLE = """
  @page { size: A4; margin: 20mm 18mm; }
  html { font-family: "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; font-size: 11pt; }
  body { line-height: 1.6; }
"""


class LocalOnlyFetcher(URLFetcher):
    """Serve file: and data: URLs only, so a stray remote URL can never stall or leak a render."""

    def fetch(self, url, headers=None):
        if url.startswith(("file:", "data:")):
            return super().fetch(url, headers)
        raise ValueError(f"blocked fetch of {url}")


@functools.cache
def _fonts() -> tuple[FontConfiguration, CSS]:
    fonts = FontConfiguration()
    return fonts, CSS(string=BASE_STYLE, font_config=fonts)


def render_pdf(html: str) -> bytes:
    """Render an HTML document to PDF bytes; relative URLs resolve under static/."""
    fonts, base = _fonts()
    document = HTML(string=html, base_url=STATIC_DIR.as_uri() + "/", url_fetcher=LocalOnlyFetcher())
    return document.write_pdf(stylesheets=[base], font_config=fonts)


def render_pdf_document(html: str, *, identifier: bytes, stylesheet: str | None = None) -> tuple[bytes, int]:
    """Render a document reproducibly: a fixed file identifier (dates come from the HTML's dcterms meta).

    Returns the PDF bytes and the page count. The same HTML gives the same bytes on every run.
    """
    fonts, base = _fonts()
    document = HTML(string=html, base_url=STATIC_DIR.as_uri() + "/", url_fetcher=LocalOnlyFetcher())
    sheets = [base] + ([CSS(string=stylesheet, font_config=fonts)] if stylesheet else [])
    rendered = document.render(stylesheets=sheets, font_config=fonts)
    return rendered.write_pdf(pdf_identifier=identifier), len(rendered.pages)
