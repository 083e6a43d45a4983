"""A note is shown exactly as typed: no Markdown, HTML, Streamlit directive or LaTeX from it is ever interpreted.

The check renders the HTML the app hands to st.markdown with a CommonMark parser (raw HTML on, as
``unsafe_allow_html`` does) and looks for anything the note could have made: images (fetched by the browser),
links, emphasis, headings, code.
"""

from __future__ import annotations

import markdown_it
import pytest

from app.widgets import highlight, inert, token_heat

HOSTILE = [
    "Low mood.\n\n![pixel](http://evil.example/p.png)",
    "Sleep poor.\r\n\r\n[call me](http://evil.example) and <img src=x onerror=alert(1)>",
    "# Heading\n\n**bold** _it_ `code` ~~strike~~ :red[alarm] :material/warning: $x^2$",
    "\n\n    indented code block\n\n> quote\n\n- list\n1. item\n| a | b |\n|---|---|",
    "<script>alert(1)</script>\n\n<a href='http://evil.example'>x</a>\n\n&amp; &#60;",
    "https://evil.example/autolink <http://evil.example/x> www.evil.example",
]
_MD = markdown_it.MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
FORBIDDEN = ("<img", "<a ", "<strong", "<em", "<h1", "<code", "<pre", "<blockquote", "<ul", "<ol", "<table",
             "<script", "<s>", "<del")


@pytest.mark.parametrize("note", HOSTILE)
def test_note_markup_is_never_interpreted(note):
    for html in (highlight(note, []), highlight(note, [(0, 5, "evidence"), (6, 9, "x", "crisis")]), inert(note),
                 token_heat([(note, 0.5)])):
        rendered = _MD.render(html).lower()
        assert not any(tag in rendered for tag in FORBIDDEN), rendered
        assert "\n\n" not in html


def test_the_text_itself_still_shows():
    import html as htmllib

    note = "Mood 3/10 (low) - [sic] *sleeping* 4h; e-mail a@b.c"
    shown = htmllib.unescape(_MD.render(highlight(note, [])).replace("<br>", "\n"))
    assert note in shown


@pytest.mark.parametrize("note", HOSTILE)
def test_markdown_only_elements_get_escaped_text(note):
    """st.error/st.warning take Markdown only: the claims view backslash-escapes note and model text for them."""
    from app.widgets import md_escape

    rendered = _MD.render(md_escape(note)).lower()
    assert not any(tag in rendered for tag in FORBIDDEN if tag not in ("<script",)), rendered
    assert "\n" not in md_escape(note)
