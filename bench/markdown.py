"""How long the Markdown of one post can hold the event loop. Prints figures, judges nothing.

    .venv/bin/python bench/markdown.py [--repeat 3]

Parses (``content.parse_markdown``: the costly half) and renders posts built from the
inputs that cost markdown-it-py the most per character, each with as many formatting
characters as a post may hold (``posts.MAX_MARKUP``), and prints the slowest of
``--repeat`` runs of each, with ordinary prose of the longest article for comparison and
the machine's RSA sign rate beside them. See bench/README.md.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.federation import sign_rate  # noqa: E402
from fediverse_intranet.content import markup_count, parse_markdown, render_parsed  # noqa: E402
from fediverse_intranet.services.posts import MAX_ARTICLE_CHARS, MAX_MARKUP  # noqa: E402

# Units that make markdown-it-py scan the most per character (found by timing a few dozen
# constructs at 100,000 characters: images, links, emphasis, tables, headings, lines,
# entities, code spans, HTML, autolinks).
UNITS = ["![", "[", "[a](", "*_", "*a_", "#t ", "|a|\nb", "a\nb", "&", "`a ", "<", "<!--"]
PROSE = "Dit is een gewone zin over de Omgevingswet, paspoorten en *spoed*. "


def _fill(unit: str) -> str:
    """``unit`` repeated up to the cap on formatting characters and on article length."""
    marks = max(markup_count(unit), 1)
    return (unit * (MAX_MARKUP // marks))[:MAX_ARTICLE_CHARS]


def _slowest(source: str, repeat: int) -> float:
    worst = 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        parsed = parse_markdown(source, tag_url=lambda tag: f"/tags/{tag}")
        render_parsed(parsed, mention_url=lambda ref: None)
        worst = max(worst, time.perf_counter() - start)
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"# {platform.python_implementation()} {platform.python_version()}, ", end="")
    print(f"RSA-2048 sign rate {sign_rate():,.0f}/s, MAX_MARKUP {MAX_MARKUP:,}")
    rows = [(repr(unit), _fill(unit)) for unit in UNITS]
    rows.append(("prose", (PROSE * (MAX_ARTICLE_CHARS // len(PROSE) + 1))[:MAX_ARTICLE_CHARS]))
    print(f"{'input':>12} {'characters':>11} {'formatting':>11} {'ms':>7}")
    for name, source in rows:
        ms = _slowest(source, args.repeat) * 1000
        print(f"{name:>12} {len(source):>11,} {markup_count(source):>11,} {ms:>7.0f}")


if __name__ == "__main__":
    main()
