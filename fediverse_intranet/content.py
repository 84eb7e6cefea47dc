"""Turn a person's Markdown post into safe HTML and find its hashtags and @mentions.

Pure functions only: no database, no web framework. Callers supply URLs through callbacks so
this module does not need to know about routing or which accounts exist.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Mapping, MutableMapping
from dataclasses import dataclass
from html import escape
from html.parser import HTMLParser
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

__all__ = [
    "MARKUP_CHARACTERS",
    "MentionRef",
    "ParsedMarkdown",
    "RenderedContent",
    "drop_quote_line",
    "emoji_image",
    "link_emoji",
    "link_hashtags",
    "markup_count",
    "normalise_tag",
    "parse_markdown",
    "plain_text",
    "render_markdown",
    "render_parsed",
    "sanitize_html",
]


@dataclass(frozen=True)
class MentionRef:
    """An @mention as written; the caller decides which account (if any) it means."""

    username: str  # as typed, lower-cased
    domain: str | None  # None for a local mention like @alice


@dataclass(frozen=True)
class RenderedContent:
    """Everything a post needs after rendering: HTML to store and the tags/mentions to index."""

    html: str
    hashtags: tuple[str, ...]
    mentions: tuple[MentionRef, ...]


# --- sanitising --------------------------------------------------------------------------------

ALLOWED_TAGS = frozenset(
    {"p", "br", "a", "strong", "em", "b", "i", "u", "s", "del", "code", "pre", "blockquote"}
    | {"ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "span"}
    | {"table", "thead", "tbody", "tr", "th", "td"}
)
ALLOWED_CLASSES = frozenset({"hashtag", "mention", "u-url", "h-card", "invisible", "ellipsis"})
LINK_REL = "nofollow noopener noreferrer"
# Dropped together with everything inside them: their content is code or chrome, not prose.
_DROP_WITH_CONTENT = frozenset({"script", "style", "iframe", "object", "noscript", "template"})


def sanitize_html(html: str) -> str:
    """Reduce any HTML to the small, inert subset we are willing to show.

    Both remote HTML and our own rendered Markdown pass through here so there is one rule for
    what may reach a browser. ``class`` is filtered per value, ``rel`` is always replaced.
    """
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(_DROP_WITH_CONTENT),
        attributes={"a": {"href"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}},
        allowed_classes={"a": set(ALLOWED_CLASSES), "span": set(ALLOWED_CLASSES)},
        url_schemes={"http", "https", "mailto"},
        link_rel=LINK_REL,
        strip_comments=True,
    )


class _Rewriter(HTMLParser):
    """Writes sanitised HTML out again as it reads it; subclasses change what they must.
    ``rewrite`` feeds one document and returns the result."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []

    def rewrite(self, html: str) -> str:
        self.feed(html)
        self.close()
        return "".join(self.out)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.append(_start_tag(tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.append(_start_tag(tag, attrs))

    def handle_endtag(self, tag: str) -> None:
        self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        self.out.append(escape(data, quote=False))


class _HashtagLinker(_Rewriter):
    """Rewrites sanitised HTML, pointing each link whose text is one of the post's hashtags
    (``#tag``, ``#<span>tag</span>``) at our topic page instead of the other server's."""

    def __init__(self, tags: Collection[str], tag_url: Callable[[str], str]) -> None:
        super().__init__()
        self.tags, self.tag_url = tags, tag_url
        self._link: tuple[int, list[tuple[str, str | None]]] | None = None  # where, attrs
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a" and self._link is None:
            self._link, self._text = (len(self.out), attrs), []
            self.out.append("")  # the opening tag, written at its end
            return
        super().handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._link is not None:
            where, attrs = self._link
            tag_name = normalise_tag("".join(self._text).strip().removeprefix("＃"))
            if tag_name is not None and tag_name in self.tags:
                ours: list[tuple[str, str | None]] = [("href", self.tag_url(tag_name))]
                attrs = [*ours, ("class", "hashtag")]
            self.out[where] = _start_tag("a", attrs)
            self._link = None
        super().handle_endtag(tag)

    def handle_data(self, data: str) -> None:
        if self._link is not None:
            self._text.append(data)
        super().handle_data(data)


def _start_tag(tag: str, attrs: list[tuple[str, str | None]]) -> str:
    written = "".join(f' {name}="{escape(value or "")}"' for name, value in attrs)
    return f"<{tag}{written}>"


def link_hashtags(html: str, tags: Collection[str], tag_url: Callable[[str], str]) -> str:
    """Another server's sanitised HTML with its hashtag links pointing at our topic pages
    (``tags``: the post's topics, normalised), as Mastodon opens a remote ``#tag`` in its own
    timeline. The result is sanitised again: one rule for what reaches a browser."""
    if not tags or "<a" not in html:
        return html
    return sanitize_html(_HashtagLinker(tags, tag_url).rewrite(html))


_SHORTCODE = re.compile(r":([A-Za-z0-9_+\-]{1,64}):")
EMOJI_CLASS = "emoji"


class _EmojiImages(_Rewriter):
    """Rewrites sanitised HTML, putting each custom emoji's image where its ``:shortcode:``
    stands in the text (never inside an attribute)."""

    def __init__(self, images: Mapping[str, str]) -> None:
        super().__init__()
        self.images = images

    def handle_data(self, data: str) -> None:
        at = 0
        for found in _SHORTCODE.finditer(data):
            src = self.images.get(found.group(1))
            if src is None:
                continue
            self.out.append(escape(data[at : found.start()], quote=False))
            self.out.append(emoji_image(src, found.group(1)))
            at = found.end()
        self.out.append(escape(data[at:], quote=False))


def emoji_image(src: str, shortcode: str) -> str:
    """A custom emoji as Mastodon shows one: a small image, its ``:shortcode:`` as its text."""
    code = escape(f":{shortcode}:")
    return f'<img src="{escape(src)}" alt="{code}" title="{code}" class="{EMOJI_CLASS}">'


def link_emoji(html: str, images: Mapping[str, str]) -> str:
    """Sanitised HTML with custom emoji shown: ``images`` maps a shortcode to the address of
    its image, which must be one of ours (the caller's: a proxy of this instance). Not
    sanitised again afterwards, since the one rule allows no images: the input must be
    sanitised already, and only these images are added."""
    if not images or ":" not in html:
        return html
    return _EmojiImages(images).rewrite(html)


# "RE: <link>" at the very end of a quote post (Mastodon's <p class="quote-inline">, Misskey,
# Pleroma): for servers that cannot show a quote. Links may hold spans (Mastodon's URL parts).
_QUOTE_LINE = re.compile(
    r"(?:<br>\s*)*RE:\s*<a [^>]*>(?:[^<]|<span[^>]*>[^<]*</span>)*</a>"
    r"(?P<rest>(?:\s|</span>|</p>)*)$"
)
_EMPTY_BLOCKS = re.compile(r"<p>(?:\s|<br>|<span>\s*</span>)*</p>")


def drop_quote_line(html: str) -> str:
    """A quote post's sanitised HTML without its trailing "RE: <link>" line, which the
    quoted card (or the link to the quoted post) replaces, as Mastodon hides it."""
    found = _QUOTE_LINE.search(html)
    if found is None:
        return html
    kept = html[: found.start()] + found.group("rest")
    return _EMPTY_BLOCKS.sub("", kept).strip()


# --- plain text --------------------------------------------------------------------------------

_BLOCK_TAGS = frozenset(ALLOWED_TAGS - {"a", "strong", "em", "b", "i", "u", "s", "del", "code"})
_WHITESPACE = re.compile(r"\s+")


class _TextCollector(HTMLParser):
    """Collects text, turning block boundaries into spaces so words do not run together."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(html: str, limit: int | None = None) -> str:
    """Text of HTML for notification snippets, page titles and ``<meta>`` descriptions.

    The input is sanitised first, so script/style contents never leak into the text. With
    ``limit``, the result (including the trailing '…') is at most ``limit`` characters and is cut
    at a word boundary when there is one.
    """
    if limit is not None and limit < 1:
        raise ValueError("limit must be at least 1")
    collector = _TextCollector()
    collector.feed(sanitize_html(html))
    collector.close()
    text = _WHITESPACE.sub(" ", "".join(collector.parts)).strip()
    if limit is None or len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if not text[limit - 1].isspace() and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:-") + "…"


# --- hashtags and mentions ---------------------------------------------------------------------

_TAG_BODY = re.compile(r"\w{1,64}")  # \w on str: unicode letters, digits, underscore
# A tag or mention must not continue a word, URL path, or another tag/mention (a#b, x@y.org).
_ENTITY = re.compile(
    r"(?<![\w/#@])(?:"
    r"#(?P<tag>\w+)"
    r"|@(?P<user>\w(?:[\w.-]*\w)?)(?:@(?P<domain>\w(?:[\w.-]*\w)?))?"
    r")(?![\w@])"
)


def normalise_tag(raw: str) -> str | None:
    """Canonical form of a hashtag, so #Café, #café and #CAFÉ are one tag; None if invalid.

    One leading ``#`` or full-width ``＃`` (as Japanese and Chinese keyboards type it, and
    Misskey sends it) is not part of the name; a name with anything but letters, digits and
    ``_`` (a dash, a space, an emoji) is not a tag."""
    body = raw[1:] if raw[:1] in ("#", "\uff03") else raw
    tag = unicodedata.normalize("NFC", body).lower()
    if not _TAG_BODY.fullmatch(tag) or tag.isdigit():
        return None
    return tag


def _link(url: str, text: str, css_class: str) -> list[Token]:
    # Same URL normalisation (percent-encoding) that Markdown links get.
    href = _md.normalizeLink(url)
    opening = Token("link_open", "a", 1, attrs={"href": href, "class": css_class})
    return [opening, Token("text", "", 0, content=text), _close()]


def _close() -> Token:
    return Token("link_close", "a", -1)


def _link_entities(text: str, before: str, env: MutableMapping[str, Any]) -> list[Token]:
    """Split one text token into text and link tokens for each recognised tag or mention."""
    out: list[Token] = []
    pos = 0
    # `before` (the preceding character) lets the look-behind see across token boundaries.
    for match in _ENTITY.finditer(before + text, 1):
        start, end = match.start() - 1, match.end() - 1
        shown = match.group(0)
        if match["tag"] is not None:
            tag = normalise_tag(match["tag"])
            if tag is None:
                continue
            env["content_tags"].setdefault(tag, None)
            tokens = _link(env["content_tag_url"](tag), shown, "hashtag")
        else:
            # Every mention is a link for now; render_parsed gives it its URL, or makes it
            # text again when it names nobody the caller knows.
            domain = match["domain"].lower() if match["domain"] else None
            ref = MentionRef(match["user"].lower(), domain)
            env["content_mentions"].setdefault(ref, None)
            tokens = _link("", shown, "mention")
            tokens[0].meta["mention"] = ref
        if start > pos:
            out.append(Token("text", "", 0, content=text[pos:start]))
        out.extend(tokens)
        pos = end
    if pos == 0:
        return [Token("text", "", 0, content=text)]
    if pos < len(text):
        out.append(Token("text", "", 0, content=text[pos:]))
    return out


def _rewrite_inline(children: list[Token], env: MutableMapping[str, Any]) -> list[Token]:
    """Link tags/mentions in plain text and turn images into links; leave code and links alone."""
    out: list[Token] = []
    link_depth = 0
    before = " "
    for token in children:
        if token.type == "link_open":
            link_depth += 1
        elif token.type == "link_close":
            link_depth -= 1
        if token.type == "image":
            # No embedded images in posts: show a link to the picture, labelled by its alt text.
            label = token.children or [Token("text", "", 0, content=str(token.attrs["src"]))]
            if link_depth:
                out.extend(label)
            else:
                out.append(Token("link_open", "a", 1, attrs={"href": token.attrs["src"]}))
                out.extend([*label, _close()])
            before = "x"  # a word just ended, so '![a](b)#c' is not a tag
        elif token.type == "text" and not link_depth:
            out.extend(_link_entities(token.content, before, env))
        else:
            out.append(token)
        if token.type in {"softbreak", "hardbreak"}:
            before = " "
        elif token.content and token.type != "image":
            before = token.content[-1]
    return out


def _entities_rule(state: StateCore) -> None:
    """Core rule: runs on the token stream so code spans, code blocks and links are skipped."""
    for token in state.tokens:
        if token.type == "inline" and token.children:
            token.children = _rewrite_inline(token.children, state.env)
        elif token.type in {"th_open", "td_open"}:
            # Tables mark alignment with style="text-align:x"; keep it as the allowed align=x.
            style = str(token.attrs.pop("style", ""))
            if style.startswith("text-align:"):
                token.attrs["align"] = style.removeprefix("text-align:")


_md = MarkdownIt("commonmark", {"html": False, "linkify": True}).enable(
    ["table", "strikethrough", "linkify"]
)
# Before text_join, so an escaped '\#' or '\@' (a separate token there) is not linked.
_md.core.ruler.before("text_join", "fediverse_entities", _entities_rule)


# Characters that open Markdown constructs markdown-it scans for (links, images, emphasis,
# code, HTML, entities, headings, tables, strikethrough, escapes, lines). Parsing costs up to
# ~30 us for each one (bench: '![' 10,000 times took 0.3 s, prose ~0.5 us a character), so a
# post is refused above a number of them rather than hold the event loop for seconds.
MARKUP_CHARACTERS = frozenset("[]!*_`<>&#|~\\\n")


def markup_count(source: str) -> int:
    return sum(source.count(ch) for ch in MARKUP_CHARACTERS)


@dataclass(frozen=True)
class ParsedMarkdown:
    """A source parsed once: its tokens, hashtags, and every @mention in it (outside code
    and links), which :func:`render_parsed` links or leaves as text."""

    tokens: list[Token]
    hashtags: tuple[str, ...]
    mentions: tuple[MentionRef, ...]


def parse_markdown(source: str, *, tag_url: Callable[[str], str]) -> ParsedMarkdown:
    """Parse an author's Markdown; the costly half of rendering, done once per post. Who
    the mentions name can then be looked up before :func:`render_parsed` links them."""
    # NFC first, so a decomposed 'é' is one word character for the tag and mention patterns.
    source = unicodedata.normalize("NFC", source)
    env: dict[str, Any] = {"content_tag_url": tag_url, "content_tags": {}, "content_mentions": {}}
    tokens = _md.parse(source, env)
    return ParsedMarkdown(tokens, tuple(env["content_tags"]), tuple(env["content_mentions"]))


def render_parsed(
    parsed: ParsedMarkdown, *, mention_url: Callable[[MentionRef], str | None]
) -> RenderedContent:
    """Sanitised HTML of a parsed source. ``mention_url`` returns a profile URL, or None for
    accounts we do not know (those stay plain text and are not reported as mentions)."""
    linked: dict[MentionRef, None] = {}
    for token in parsed.tokens:
        if token.type == "inline" and token.children:
            token.children = _resolve_mentions(token.children, mention_url, linked)
    html = sanitize_html(_md.renderer.render(parsed.tokens, _md.options, {}))
    return RenderedContent(html=html, hashtags=parsed.hashtags, mentions=tuple(linked))


def _resolve_mentions(
    children: list[Token],
    mention_url: Callable[[MentionRef], str | None],
    linked: dict[MentionRef, None],
) -> list[Token]:
    out: list[Token] = []
    unwrap = False  # inside a mention that names nobody: keep its text, drop the link
    for token in children:
        ref = token.meta.get("mention") if token.type == "link_open" else None
        if ref is not None:
            url = mention_url(ref)
            if url is None:
                unwrap = True
                continue
            linked.setdefault(ref, None)
            token.attrs["href"] = _md.normalizeLink(url)
        elif unwrap and token.type == "link_close":
            unwrap = False
            continue
        out.append(token)
    return out


def render_markdown(
    source: str,
    *,
    tag_url: Callable[[str], str],
    mention_url: Callable[[MentionRef], str | None],
) -> RenderedContent:
    """Render an author's Markdown to sanitised HTML, linking hashtags and known @mentions
    (:func:`parse_markdown`, then :func:`render_parsed`)."""
    return render_parsed(parse_markdown(source, tag_url=tag_url), mention_url=mention_url)
