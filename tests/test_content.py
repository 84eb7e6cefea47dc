"""Tests for fediverse_intranet.content: Markdown rendering, sanitising, tags and mentions."""

import pytest

from fediverse_intranet.content import (
    MentionRef,
    drop_quote_line,
    normalise_tag,
    plain_text,
    render_markdown,
    sanitize_html,
)

REL = 'rel="nofollow noopener noreferrer"'
KNOWN = {("alice", None), ("bob", "gov-b.example")}


def tag_url(tag: str) -> str:
    return f"/tags/{tag}"


def mention_url(ref: MentionRef) -> str | None:
    if (ref.username, ref.domain) not in KNOWN:
        return None
    return f"https://{ref.domain or 'intranet.example'}/@{ref.username}"


def render(source: str):
    return render_markdown(source, tag_url=tag_url, mention_url=mention_url)


def test_hashtags_are_linked_and_extracted() -> None:
    result = render("Nieuw: #Paspoorten en #reisdocumenten_2026 bij het #café")
    assert result.html == (
        f'<p>Nieuw: <a href="/tags/paspoorten" class="hashtag" {REL}>#Paspoorten</a> en '
        f'<a href="/tags/reisdocumenten_2026" class="hashtag" {REL}>#reisdocumenten_2026</a> '
        f'bij het <a href="/tags/caf%C3%A9" class="hashtag" {REL}>#café</a></p>\n'
    )
    assert result.hashtags == ("paspoorten", "reisdocumenten_2026", "café")


def test_mentions_are_linked_and_extracted() -> None:
    result = render("Vraag aan @Alice en @bob@Gov-B.example.")
    assert result.html == (
        f'<p>Vraag aan <a href="https://intranet.example/@alice" class="mention" {REL}>'
        f"@Alice</a> en "
        f'<a href="https://gov-b.example/@bob" class="mention" {REL}>@bob@Gov-B.example</a>.</p>\n'
    )
    assert result.mentions == (MentionRef("alice", None), MentionRef("bob", "gov-b.example"))


def test_unknown_mention_stays_text() -> None:
    result = render("Hallo @carol en @dave@elders.example")
    assert result.html == "<p>Hallo @carol en @dave@elders.example</p>\n"
    assert result.mentions == ()


def test_code_spans_and_blocks_are_not_linked() -> None:
    result = render("Zie `#intern @alice`\n\n```\n#config @alice\n```\n\n    #indented @alice\n")
    assert "<a" not in result.html
    assert "<code>#intern @alice</code>" in result.html
    assert "<code>#config @alice\n</code>" in result.html
    assert result.hashtags == ()
    assert result.mentions == ()


def test_link_text_and_urls_are_not_linked_again() -> None:
    result = render(
        "[#tag @alice](https://e.example/#x) https://e.example/@alice#top www.rijksoverheid.nl/#nu"
    )
    assert result.html == (
        f'<p><a href="https://e.example/#x" {REL}>#tag @alice</a> '
        f'<a href="https://e.example/@alice#top" {REL}>https://e.example/@alice#top</a> '
        f'<a href="http://www.rijksoverheid.nl/#nu" {REL}>www.rijksoverheid.nl/#nu</a></p>\n'
    )
    assert result.hashtags == ()
    assert result.mentions == ()


def test_email_address_and_mid_word_are_not_mentions_or_tags() -> None:
    result = render("Mail alice@example.org of schrijf a#b en x@alice")
    assert result.mentions == ()
    assert result.hashtags == ()
    assert 'class="mention"' not in result.html
    assert "a#b en x@alice" in result.html


def test_decomposed_unicode_tag_is_one_tag() -> None:
    result = render("#cafe\u0301 en #café")
    assert result.hashtags == ("café",)
    assert result.html.count('href="/tags/caf%C3%A9"') == 2


def test_escaped_hash_is_not_a_tag() -> None:
    result = render(r"Geen \#tag hier")
    assert result.html == "<p>Geen #tag hier</p>\n"
    assert result.hashtags == ()


def test_dedupe_keeps_first_appearance_order() -> None:
    result = render("#Beta @bob@gov-b.example #alpha @alice #beta #BETA @Alice @BOB@gov-b.example")
    assert result.hashtags == ("beta", "alpha")
    assert result.mentions == (MentionRef("bob", "gov-b.example"), MentionRef("alice", None))
    assert result.html.count('class="hashtag"') == 4


def test_invalid_tags_stay_text() -> None:
    long_tag = "a" * 65
    result = render(f"#2026 en #{long_tag} en #ok")
    assert result.hashtags == ("ok",)
    assert f"#2026 en #{long_tag} en <a" in result.html


def test_raw_html_is_shown_as_text() -> None:
    result = render("<script>alert(1)</script> <img src=x onerror=alert(1)>")
    assert result.html == (
        "<p>&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(1)&gt;</p>\n"
    )


def test_javascript_links_are_not_links() -> None:
    result = render("[klik](javascript:alert(1)) <javascript:alert(2)>")
    assert "<a" not in result.html
    assert "href" not in result.html


def test_links_get_rel_and_plain_urls_are_linkified() -> None:
    result = render("Zie [regels](https://wetten.example/x) en https://overheid.example/nieuws")
    assert result.html == (
        f'<p>Zie <a href="https://wetten.example/x" {REL}>regels</a> en '
        f'<a href="https://overheid.example/nieuws" {REL}>https://overheid.example/nieuws</a></p>\n'
    )


def test_markdown_images_become_links() -> None:
    result = render("![Plattegrond *3e*](https://cdn.example/kaart.png)")
    assert result.html == (
        f'<p><a href="https://cdn.example/kaart.png" {REL}>Plattegrond <em>3e</em></a></p>\n'
    )
    assert "<img" not in render("![](https://cdn.example/x.png)").html


def test_tables_and_strikethrough() -> None:
    result = render("| a | b |\n|:--|--:|\n| 1 | ~~2~~ |\n")
    assert '<th align="left">a</th>' in result.html
    assert '<td align="right"><s>2</s></td>' in result.html
    assert "style" not in result.html


def test_sanitize_html_removes_danger_and_keeps_text() -> None:
    hostile = (
        '<p onclick="steal()">Hallo<script>alert(1)</script><style>p{color:red}</style>'
        '<iframe src="https://evil.example">frame</iframe> '
        '<a href="javascript:alert(1)">js</a> '
        '<a href="data:text/html,<b>x</b>" class="mention evil" rel="me">data</a> '
        '<a href="https://ok.example" target="_blank">ok</a> '
        '<span class="h-card evil" style="color:red">kaart</span></p>'
    )
    assert sanitize_html(hostile) == (
        f"<p>Hallo <a {REL}>js</a> "
        f'<a class="mention" {REL}>data</a> '
        f'<a href="https://ok.example" {REL}>ok</a> '
        '<span class="h-card">kaart</span></p>'
    )


def test_sanitize_html_keeps_allowed_structure() -> None:
    html = '<ol start="3" type="a"><li><strong>x</strong></li></ol><div><h2>kop</h2><hr></div>'
    assert sanitize_html(html) == '<ol start="3"><li><strong>x</strong></li></ol><h2>kop</h2><hr>'


def test_normalise_tag() -> None:
    assert normalise_tag("#Omgevingswet") == "omgevingswet"
    assert normalise_tag("Omgevingswet") == "omgevingswet"
    assert normalise_tag("CAFE\u0301") == "café"  # decomposed é becomes NFC
    assert normalise_tag("Ärztekammer_2") == "ärztekammer_2"
    assert normalise_tag("a" * 64) == "a" * 64
    assert normalise_tag("a" * 65) is None
    assert normalise_tag("") is None
    assert normalise_tag("#") is None
    assert normalise_tag("2026") is None
    assert normalise_tag("_2026") == "_2026"
    assert normalise_tag("met spatie") is None
    assert normalise_tag("kebab-case") is None


def test_plain_text_collapses_whitespace_and_blocks() -> None:
    html = "<h1>Titel</h1><p>Eerste   regel<br>tweede &amp; derde</p><ul><li>a</li><li>b</li></ul>"
    assert plain_text(html) == "Titel Eerste regel tweede & derde a b"
    assert plain_text("<p>x<script>alert(1)</script></p>") == "x"


def test_plain_text_truncates_at_word_boundary() -> None:
    html = "<p>Nieuwe regels voor reisdocumenten</p>"
    assert plain_text(html, limit=20) == "Nieuwe regels voor…"
    assert plain_text(html, limit=17) == "Nieuwe regels…"
    assert plain_text(html, limit=100) == "Nieuwe regels voor reisdocumenten"
    assert plain_text("<p>Reisdocumenten</p>", limit=6) == "Reisd…"


def test_a_remote_posts_hashtag_links_point_at_our_topic_pages():
    """Only links whose text is one of the post's topics change; everything else stays as
    the sanitiser left it, and the result is sanitised again."""
    from fediverse_intranet.content import link_hashtags

    remote = sanitize_html(
        '<p><a href="https://m.example/tags/Paspoort" class="mention hashtag">#<span>Paspoort'
        '</span></a> <a href="https://m.example/tags/x">＃Spoed</a> '
        '<a href="https://m.example/@a" title="a&quot;b">#niet</a> a &lt;b&gt; &amp;'
        '<a href="https://m.example/tags/z">tekst</a></p>'
    )
    linked = link_hashtags(remote, {"paspoort", "spoed"}, lambda tag: f"/tags/{tag}")
    assert '<a href="/tags/paspoort" class="hashtag"' in linked
    assert '<a href="/tags/spoed" class="hashtag"' in linked
    assert 'href="https://m.example/@a"' in linked and 'href="https://m.example/tags/z"' in linked
    assert "a &lt;b&gt; &amp;" in linked and linked == sanitize_html(linked)
    assert link_hashtags(remote, set(), lambda tag: tag) == remote


@pytest.mark.parametrize(
    ("html", "kept"),
    [
        (  # Mastodon: <p class="quote-inline">, its URL in spans
            '<p>Goed nieuws.</p><p class="quote-inline">RE: <a href="https://m.example/@b/1">'
            '<span class="invisible">https://</span><span>m.example/@b/1</span></a></p>',
            "<p>Goed nieuws.</p>",
        ),
        (  # Misskey: inside the last paragraph, after two line breaks
            '<p><span>Eindelijk!<br><br>RE: <a href="https://k.example/notes/1">'
            "https://k.example/notes/1</a></span></p>",
            "<p><span>Eindelijk!</span></p>",
        ),
        ('<p>RE: <a href="https://x.example/1">dit</a> en meer</p>', None),  # not at the end
        ("<p>Over RE: zonder link</p>", None),
    ],
)
def test_a_quote_posts_re_line_is_dropped_only_at_its_end(html, kept):
    clean = sanitize_html(html)
    assert drop_quote_line(clean) == (clean if kept is None else kept)
