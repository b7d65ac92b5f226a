"""Turn posted text into what a reader sees: plain, visible, repaired Unicode.

Every text field of a posted article passes through ``clean_text`` before it is validated, in this
order, so each step sees the output of the one before:

1. Characters no storage accepts: U+0000 is dropped; lone surrogates become U+FFFD (a surrogate
   pair written as two escapes is joined).
2. Mojibake and odd forms: ftfy repairs double-encoded UTF-8 (``FranÃ§ois`` → ``François``), C1
   controls, terminal escapes and line breaks, drops the other C0 controls (tab, line breaks,
   vertical tab and form feed excepted) and composes the text to NFC. Curly quotes and widths stay
   as written.
3. Markup: text holding an HTML element, comment, CDATA section or character reference is rendered
   as plain text by inscriptis (block elements end lines, ``<br>`` breaks one, scripts and styles
   vanish, entities are decoded); text escaped twice by a feed is rendered again, up to three times.
   Text that only looks like markup (``3 < 5``, ``AT&T``) is left as it is. What the markup
   rendered goes through step 2 again (references can spell mojibake too).
4. Invisible characters: format characters (Unicode category Cf: soft hyphen, zero-width space, word
   joiner, BOM, bidirectional marks ...) are dropped, so ``Ham\\u00adburg`` is ``Hamburg``; a zero-width
   joiner or non-joiner stays where the script needs it (between two non-Latin letters, in emoji).
5. White space: every kind of space is one plain space. A single-line field (title, author, tags)
   becomes one line; a body keeps its paragraphs (one blank line between them) and line breaks.
"""

from __future__ import annotations

import html
import re
import sys
import unicodedata
from collections.abc import Callable
from functools import cache
from html.parser import HTMLParser

import ftfy
from inscriptis import get_text
from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.html_properties import Display
from inscriptis.model.config import ParserConfig
from lxml.html import defs

# inscriptis' strict profile, plus the HTML5 blocks it lacks; hidden elements render nothing.
_BLOCKS = ("section", "details", "summary", "dl", "dt", "dd", "fieldset", "form", "center", "menu")
_HIDDEN = ("noscript", "template", "svg", "button", "select", "rt", "rp")  # rt, rp: ruby readings
_CSS = {
    **CSS_PROFILES["strict"],
    **{tag: CSS_PROFILES["strict"]["div"] for tag in _BLOCKS},
    **{tag: CSS_PROFILES["strict"]["script"] for tag in _HIDDEN},
}
_RENDER = ParserConfig(css=_CSS)
# Elements that break lines when rendered: a body holding none keeps its own line breaks.
_BREAKING = frozenset(
    {tag for tag, style in _CSS.items() if style.display == Display.block}
    | {"br", "table", "tr", "td", "th", "ul", "ol", "li", "pre"}
)
_FTFY = ftfy.TextFixerConfig(
    unescape_html=False,  # markup was rendered already: a literal "&amp;" left now is text
    uncurl_quotes=False,
    fix_character_width=False,
    fix_latin_ligatures=False,
    explain=False,
)
_MAX_RENDERS = 3
_ELEMENTS = frozenset(defs.tags)
# Unicode's control characters (category Cc) but tab and line breaks.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_JOINERS = frozenset("\u200c\u200d")
# Format characters that are visible signs, not invisible controls (Arabic number signs and the like).
_VISIBLE_FORMAT = frozenset("\u0600\u0601\u0602\u0603\u0604\u0605\u06dd\u070f\u0890\u0891\u08e2")
_SPACES = re.compile(r"[^\S\n]+")
_REFERENCE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_BLANK_LINES = re.compile(r"\n{3,}")


class _MarkupSniffer(HTMLParser):
    """Tell markup from text that merely holds ``<`` or ``&``, and note which kind of markup."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.tags: set[str] = set()
        self.structure = False  # comments, CDATA, declarations

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _ELEMENTS:
            self.tags.add(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _ELEMENTS:
            self.tags.add(tag)

    def handle_comment(self, data: str) -> None:
        self.structure = True

    def unknown_decl(self, data: str) -> None:  # <![CDATA[ ... ]]>
        self.structure = True


def _sniff(text: str) -> _MarkupSniffer:
    sniffer = _MarkupSniffer()
    if "<" in text:
        sniffer.feed(text)
        sniffer.close()
    return sniffer


def _decode_reference(match: re.Match[str]) -> str:
    decoded = html.unescape(match.group())
    return match.group() if decoded == match.group() else decoded  # "&T;" is no reference HTML knows


def decode_references(text: str) -> str:
    """Decode the character references that end in ``;`` (``&eacute;``, ``&#8217;``), and no others.

    Outside markup, ``&copy=1`` in a URL or ``R&D`` are text: HTML's legacy references without ``;``
    are left as they are.
    """
    return _REFERENCE.sub(_decode_reference, text) if "&" in text else text


def looks_like_markup(text: str) -> bool:
    """Whether ``text`` holds an HTML element, comment, CDATA section or a character reference."""
    sniffer = _sniff(text)
    return bool(sniffer.tags) or sniffer.structure or decode_references(text) != text


def _unwrap_cdata(text: str) -> str:
    # A CDATA section holds literal text (in feeds, usually more HTML): keep what is inside.
    return text.replace("<![CDATA[", "").replace("]]>", "")


def render_markup(text: str) -> str:
    """Render HTML as plain text; text without markup comes back unchanged.

    Text with references but no element keeps its line breaks (only the references are decoded);
    so does markup without a block element, as a CMS stores paragraphs as blank lines between them.
    Markup is rendered once: what it escaped on purpose (``&lt;script&gt;`` in a story about HTML)
    stays text. Text that is a whole escaped document (``&lt;p&gt;...&lt;/p&gt;``, a feed escaping
    twice) is decoded, then rendered.
    """
    for _ in range(_MAX_RENDERS):
        sniffer = _sniff(text)
        if sniffer.tags or sniffer.structure:
            if not sniffer.tags & _BREAKING:
                text = text.replace("\n", "<br>")
            return str(get_text(_unwrap_cdata(text), _RENDER))
        decoded = decode_references(text)
        if decoded == text:
            return text
        escaped = _sniff(decoded)
        if not (escaped.tags & _BREAKING or escaped.structure):
            return decoded  # "Why the &lt;blink&gt; tag died" is a headline, not a document
        text = decoded
    return text


def unicode_text(text: str) -> str:
    """Make ``text`` valid Unicode: lone surrogates become U+FFFD, a pair written apart is one character."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _storable(text: str) -> str:
    text = unicode_text(text)
    # Vertical tab and form feed break lines (ftfy would drop the first and keep the second).
    return text.replace("\x00", "").replace("\x0b", "\n").replace("\x0c", "\n")


def _repaired(text: str) -> str:
    if text.isascii() and "\x1b" not in text:  # no mojibake, no terminal escape: only controls to drop
        return _no_controls(text.replace("\r\n", "\n").replace("\r", "\n"))
    return _no_controls(_utf8_read_as_cp1252(ftfy.fix_text(text, _FTFY)))


# UTF-8 read as Windows-1252: a lead byte (0xC2-0xF4) shown as "Â".."ô", then a continuation byte.
_CONTINUATION = bytes(range(0x80, 0xC0)).decode("cp1252", errors="ignore") + "".join(
    map(chr, range(0x80, 0xA0))
)
_MOJIBAKE = re.compile("[\u00c2-\u00f4][" + re.escape(_CONTINUATION) + "]")
_WORD = re.compile(r"\S+")


def _utf8_read_as_cp1252(text: str) -> str:
    # ftfy leaves sequences that also read as plausible Latin ("ErdoÄŸan" for "Erdoğan"); a word that
    # is valid UTF-8 once written back in Windows-1252 was that UTF-8.
    if not _MOJIBAKE.search(text):
        return text
    return _WORD.sub(_redecoded, text)


def _redecoded(match: re.Match[str]) -> str:
    word = match.group()
    if not _MOJIBAKE.search(word):
        return word
    try:
        return word.encode("cp1252").decode("utf-8")
    except UnicodeError:
        return word


def _no_controls(text: str) -> str:
    # What ftfy leaves of the controls (C1 codes that Windows-1252 does not define, DEL).
    return _CONTROLS.sub("", text)


@cache
def _invisible() -> re.Pattern[str]:
    # Every format character of this Python's Unicode tables, but the visible signs.
    chars = (chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf")
    return re.compile("[" + "".join(re.escape(c) for c in chars if c not in _VISIBLE_FORMAT) + "]")


def _visible(text: str) -> str:
    return _invisible().sub(lambda m: _kept_joiner(text, m.start()), text)


def _kept_joiner(text: str, i: int) -> str:
    return text[i] if text[i] in _JOINERS and _joins_script(text, i) else ""


def _joins_script(text: str, i: int) -> bool:
    # Joiners shape Arabic, Indic and emoji sequences; between Latin letters they only split words.
    before = text[i - 1] if i > 0 else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    return not before.isspace() and not after.isspace() and ord(before) > 0x24F and ord(after) > 0x24F


def clean_characters(text: str) -> str:
    """Apply the character steps (1, 2 and 4) alone: lines and markup stay as they are.

    For a plain-text article before its layout is read: controls such as U+001D would otherwise end
    a line for ``str.splitlines``.
    """
    return _visible(_repaired(_storable(text)))


def clean_text(text: str, *, multiline: bool) -> str:
    """Return the plain, visible, NFC text a reader sees; see the module docstring for the steps.

    Markup is rendered once; the character steps run until they change nothing, so a re-posted
    article whose text holds no markup keeps its id.
    """
    text = render_markup(_repaired(_storable(text)))
    for _ in range(_MAX_RENDERS):  # a step can reveal work for an earlier one (mojibake after a space)
        cleaned = _characters_and_spaces(text, multiline)
        if cleaned == text:
            break
        text = cleaned
    return text


def _characters_and_spaces(text: str, multiline: bool) -> str:
    # References may have spelled mojibake or controls: "Fran&Atilde;&sect;ois".
    text = _SPACES.sub(" ", _visible(_repaired(_storable(text))))
    if not multiline:
        return " ".join(text.split())
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def clean_url(url: str) -> str:
    """Drop what cannot be part of a URL: controls, invisible characters, white space, ``&amp;``."""
    text = "".join(c for c in _no_controls(_storable(url)) if unicodedata.category(c) != "Cf")
    return "".join(text.split()).replace("&amp;", "&")


_SINGLE_LINE = ("title", "author", "section", "source", "language")
_TEXT_FIELDS = (*_SINGLE_LINE, "body", "url")


def _each_text(fields: dict[str, object], fix: Callable[[str, str], str]) -> dict[str, object]:
    # Values of other types are left as they are, for validation to name.
    out = dict(fields)
    for name in _TEXT_FIELDS:
        if isinstance(value := out.get(name), str):
            out[name] = fix(name, value)
    if isinstance(tags := out.get("tags"), list):
        out["tags"] = [fix("tags", t) if isinstance(t, str) else t for t in tags]
    return out


def unicode_fields(fields: dict[str, object]) -> dict[str, object]:
    """The posted article with every text field valid Unicode (see ``unicode_text``), nothing else changed."""
    return _each_text(fields, lambda _name, value: unicode_text(value))


def _clean_field(name: str, value: str) -> str:
    if name == "url":
        return clean_url(value)
    return clean_text(value, multiline=name == "body")


def clean_fields(fields: dict[str, object]) -> dict[str, object]:
    """Clean the text fields of a posted article: what a reader sees, each field by its kind."""
    return _each_text(fields, _clean_field)
