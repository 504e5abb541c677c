"""The HTML reader: the article, not the furniture around it; its metadata; a broken install stops the run once.

Cases html-cookie-banner and html-ingest-lxml-clean (their inputs copied under
tests/fixtures/html_case/), then more pages of the same kinds.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from rag import ReaderUnavailableError
from rag.ingest import readers
from rag.ingest.readers import SkipFile, parse

from .fixtures.html_pages import COOKIE_CASE_DIR, FURNITURE_PAGES, LXML_CLEAN_CASE_PAGE, NO_ARTICLE_PAGES
from .fixtures.procs import child_env


def _parse_page(tmp_path: Path, html: str, name: str = "page.html") -> readers.RawDocument:
    path = tmp_path / name
    path.write_text(html, encoding="utf-8")
    return parse(path, path.read_bytes())


@pytest.fixture
def cookie_case(tmp_path) -> Path:
    target = tmp_path / "case"
    shutil.copytree(COOKIE_CASE_DIR, target)
    return target


def test_cookie_case_indexes_the_article_and_answers_from_it(make_rag, cookie_case):
    rag = make_rag()
    report = rag.ingest([cookie_case / "common", cookie_case / "cookie_page.html"], progress=False)
    assert report.added == 4 and not report.skipped, report.skipped
    text = " ".join(p.text for p in rag.passages() if p.file_name == "cookie_page.html")
    assert "The old stone bridge over the river reopened" in text
    assert "Engineers replaced 60 cracked stones" in text
    assert "cookie" not in text.lower() and "partners" not in text

    answer = rag.ask("How many stones did engineers replace on the bridge?")
    assert not answer.abstained
    cited = [c for c in answer.citations if Path(c.source).name == "cookie_page.html"]
    assert cited and any("60 cracked stones" in c.quote for c in cited), answer.text
    raw = parse(cookie_case / "cookie_page.html", (cookie_case / "cookie_page.html").read_bytes())
    for c in cited:  # offsets still index the extracted main text
        assert raw.text[c.start:c.end] == c.quote

    assert rag.ask("How long are cookies retained?").abstained


@pytest.mark.parametrize("name", sorted(FURNITURE_PAGES))
def test_furniture_is_dropped_and_the_article_kept(tmp_path, name):
    page = FURNITURE_PAGES[name]
    raw = _parse_page(tmp_path, page.html)
    for phrase in page.keep:
        assert phrase in raw.text, (phrase, raw.text)
    for phrase in page.drop:
        assert phrase.lower() not in raw.text.lower(), (phrase, raw.text)


@pytest.mark.parametrize("name", sorted(NO_ARTICLE_PAGES))
def test_a_page_without_an_article_is_refused(tmp_path, name):
    with pytest.raises(SkipFile, match="no article text found in the HTML"):
        _parse_page(tmp_path, NO_ARTICLE_PAGES[name])


def test_navigation_only_page_is_reported_by_ingest(make_rag, tmp_path):
    folder = tmp_path / "pages"
    folder.mkdir()
    (folder / "front.html").write_text(NO_ARTICLE_PAGES["navigation-only"])
    (folder / "story.html").write_text(FURNITURE_PAGES["nav-heavy"].html)
    report = make_rag().ingest([folder], progress=False)
    assert report.added == 1
    assert [(Path(s.path).name, "no article text" in s.reason) for s in report.skipped] == [("front.html", True)]


def test_lxml_clean_case_page_is_indexed_with_its_title(make_rag, tmp_path):
    page = tmp_path / "page.html"
    shutil.copy(LXML_CLEAN_CASE_PAGE, page)
    rag = make_rag()
    report = rag.ingest([page], progress=False)
    assert report.added == 1, report.skipped
    assert [d.title for d in rag.documents()] == ["Ferry timetable changes"]


@pytest.fixture
def fresh_reader_check():
    """require_reader remembers success; forget it around a test that takes a module away."""
    readers.require_reader.cache_clear()
    yield
    readers.require_reader.cache_clear()


def test_missing_html_dependency_fails_the_ingest_once_and_keeps_the_index(
        make_rag, cookie_case, monkeypatch, fresh_reader_check):
    rag = make_rag()
    assert rag.ingest([cookie_case], progress=False).added == 4
    stored = {a.doc_id: a.chunks for a in rag.documents()}
    (cookie_case / "common" / "storm.txt").write_text("Storm update\n\nThe storm has passed and power is back.\n")
    shutil.copy(LXML_CLEAN_CASE_PAGE, cookie_case / "ferry.html")
    # as after an install by pip 23.2: None in sys.modules makes `import lxml_html_clean` fail
    monkeypatch.setitem(sys.modules, "lxml_html_clean", None)
    readers.require_reader.cache_clear()

    for rebuild in (False, True):
        with pytest.raises(ReaderUnavailableError) as caught:
            rag.ingest([cookie_case], rebuild=rebuild, progress=False)
        message = str(caught.value)
        assert "lxml_html_clean" in message and "pip install lxml_html_clean" in message
        assert {a.doc_id: a.chunks for a in rag.documents()} == stored  # nothing written, nothing wiped
    assert "power is back" not in " ".join(p.text for p in rag.passages())

    # without the check up front, the first HTML file stops the run: once, and nothing stored is deleted
    monkeypatch.setattr("rag.api.check_readers", lambda files: None)
    with pytest.raises(ReaderUnavailableError):
        rag.ingest([cookie_case], progress=False)
    after = {a.doc_id: a.chunks for a in rag.documents()}
    assert after.keys() == stored.keys() and all(after.values())


def test_missing_html_dependency_is_one_line_from_the_command(make_rag, model_cache, tmp_path):
    """A real `rag ingest` whose Python cannot import lxml_html_clean: one error line, exit 1, index kept."""
    page = tmp_path / "articles" / "page.html"
    page.parent.mkdir()
    shutil.copy(LXML_CLEAN_CASE_PAGE, page)
    (page.parent / "note.txt").write_text("Harbour note\n\nThe harbour reopens on Monday after dredging.\n")
    rag = make_rag()
    rag.ingest([page.parent / "note.txt"], progress=False)
    data_dir = Path(rag.settings.data_dir)
    shutil.copytree(model_cache, data_dir / "models")
    script = ("import sys; sys.modules['lxml_html_clean'] = None; sys.argv[0] = 'rag'\n"
              "from rag.cli import app; app()")
    proc = subprocess.run([sys.executable, "-c", script, "ingest", "--rebuild", str(page.parent)],
                          cwd=tmp_path, env=child_env(data_dir), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: HTML files need lxml_html_clean"), proc.stderr
    assert "pip install lxml_html_clean" in lines[0] and "skipped" not in proc.stdout + proc.stderr
    assert [d.file_name for d in make_rag().documents()] == ["note.txt"]


def test_metadata_fills_author_outlet_url_and_dates(tmp_path):
    raw = _parse_page(tmp_path, """<!doctype html><html><head><title>Council passes budget | Harbour Herald</title>
<meta property="og:site_name" content="Harbour Herald">
<meta property="og:url" content="https://www.harbourherald.example/news/council-budget?utm_source=feed">
<link rel="canonical" href="https://www.harbourherald.example/news/council-budget">
<meta name="author" content="Maria Keller">
<meta property="article:published_time" content="2025-03-04T09:30:00+01:00">
<meta property="article:modified_time" content="2025-03-05T12:00:00+01:00">
</head><body><article><h1>Council passes budget</h1>
<p>The city council passed next year's budget of 412 million euros on Tuesday by 31 votes to 12.</p>
<p>Spending on schools rises by six percent, while the road budget is cut.</p></article></body></html>""")
    assert raw.meta.title == "Council passes budget"
    assert (raw.meta.author, raw.meta.outlet) == ("Maria Keller", "Harbour Herald")
    assert raw.meta.url == "https://www.harbourherald.example/news/council-budget"
    assert (raw.meta.published, raw.meta.updated) == (date(2025, 3, 4), date(2025, 3, 5))


def test_metadata_from_json_ld_and_a_relative_canonical_link(tmp_path):
    raw = _parse_page(tmp_path, """<!doctype html><html><head><title>Ferry fares rise</title>
<meta property="og:url" content="https://fjordpost.example/a/1">
<link rel="canonical" href="/news/ferry-fares">
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle",
"author": {"@type": "Person", "name": "Jonas Berg"}, "publisher": {"@type": "Organization", "name": "Fjord Post"},
"datePublished": "2025-03-04", "dateModified": "2025-03-06T08:00:00Z"}</script></head>
<body><article><h1>Ferry fares rise</h1><p>Ferry fares to the islands rise by ten percent from April, the operator
said on Monday.</p></article></body></html>""")
    assert (raw.meta.author, raw.meta.outlet) == ("Jonas Berg", "Fjord Post")
    assert raw.meta.url == "https://fjordpost.example/news/ferry-fares"
    assert (raw.meta.published, raw.meta.updated) == (date(2025, 3, 4), date(2025, 3, 6))


def test_malformed_metadata_leaves_fields_empty_and_the_page_indexed(make_rag, tmp_path):
    folder = tmp_path / "odd"
    folder.mkdir()
    page = folder / "odd.html"
    page.write_text("""<!doctype html><html><head><title>Council passes budget</title>
<meta property="og:site_name" content="   "><meta property="og:url" content="not a url">
<link rel="canonical" href="http://[::1"><meta name="author" content="">
<meta property="article:published_time" content="2025-13-45T99:99">
<meta property="article:modified_time" content="yesterday">
<script type="application/ld+json">{"@type": "NewsArticle", "author": [{"name": 5}, null, ],
"datePublished": {"x": 1}, "dateModified": "0000-00-00"</script>
</head><body><article><h1>Council passes budget</h1>
<p>The city council passed next year's budget of 412 million euros on Tuesday by 31 votes to 12.</p>
</article><footer>© 2025 Harbour Herald</footer></body></html>""")
    raw = parse(page, page.read_bytes())
    assert "412 million euros" in raw.text
    assert (raw.meta.published, raw.meta.updated, raw.meta.author, raw.meta.outlet, raw.meta.url) == (None, None, None, None, None)
    report = make_rag().ingest([folder], progress=False)
    assert report.added == 1 and not report.skipped


# --- real content that looks like furniture --------------------------------------------------------------------

_CLIMATE = [
    "EU ministers agree 2040 climate target",
    "Environment ministers of the 27 member states agreed on Tuesday to cut emissions by 90 percent by 2040.",
    "The target, which still needs the European Parliament's approval, keeps the bloc on the path set by the",
    "Up to three percentage points may come from international carbon credits bought from 2036 onwards.",
    "Poland and Hungary had asked for a lower figure, while Denmark wanted no credits at all, diplomats said.",
]
PREMIUM_BODY = f"""<!doctype html><html><head><title>{_CLIMATE[0]} | Brussels Courier</title></head><body>
<div class="premium-article-body"><h1>{_CLIMATE[0]}</h1><p>{_CLIMATE[1]}</p>
<p>{_CLIMATE[2]} <a href="/topics/paris-agreement">Paris agreement</a>.</p>
<p>{_CLIMATE[3]}</p><p>{_CLIMATE[4]}</p>
<p>Read more: <a href="/topics/emissions-trading">Emissions trading</a></p></div>
</body></html>"""

WALLACE_COLUMN = """<!doctype html><html><head><title>Why the old bridge matters</title></head><body>
<div class="wallace-column"><h2 class="gateway-title">Why the old bridge matters</h2>
<p>The stone bridge has carried the market road over the river since 1742, and for most of that time nobody asked
whether it could carry more.</p><p>Four months of repairs have shown how much a town depends on one crossing.</p>
<a class="btn btn-comments" href="/bridge#comments">Join the discussion</a></div>
</body></html>"""


def test_premium_article_body_with_an_agreement_link_is_indexed_whole(tmp_path):
    """Class "premium-...", a link to the "Paris agreement" ending its sentence: an article, not a paywall prompt."""
    raw = _parse_page(tmp_path, PREMIUM_BODY)
    for line in _CLIMATE:
        assert line in raw.text, (line, raw.text)
    assert "Paris agreement" in raw.text


def test_a_column_named_wallace_with_a_join_the_discussion_button_keeps_its_text(tmp_path):
    """Marker words match whole: "wallace" is not "wall", "gateway" is not "gate"; "Join the discussion" asks nothing."""
    raw = _parse_page(tmp_path, WALLACE_COLUMN)
    assert "carried the market road over the river since 1742" in raw.text
    assert "how much a town depends on one crossing" in raw.text

_FARES = ("Ferry fares to the islands rise by ten percent from April, the operator said on Monday, citing the cost of "
          "fuel and of the two new boats.", "Season tickets for islanders stay at last year's price until the end of June.")
SUBSCRIBE_PROMPT = """<div class="promo-box"><p>Subscribe to continue reading: unlimited access to all our journalism for
one euro in the first month, then 9.99 euros a month. Cancel at any time.</p><a class="btn" href="/subscribe">Subscribe</a></div>"""


def test_a_short_article_in_a_premium_box_keeps_its_text_and_the_prompt_elsewhere_goes(tmp_path):
    """Class "premium" with a Subscribe link, the page's <h1> inside: the article, whatever its name says."""
    raw = _parse_page(tmp_path, f"""<!doctype html><html><head><title>Ferry fares rise | Island Post</title></head><body>
<div class="premium"><h1>Ferry fares rise</h1><p>{_FARES[0]}</p><p>{_FARES[1]}</p>
<p><a href="/subscribe">Subscribe</a></p></div>{SUBSCRIBE_PROMPT}</body></html>""")
    assert _FARES[0] in raw.text and _FARES[1] in raw.text
    assert "unlimited access" not in raw.text


def test_a_body_level_header_holding_the_headline_keeps_it(tmp_path):
    """The article's own <header> straight under <body>: its <h1> is the headline; the site's header (a nav) goes."""
    raw = _parse_page(tmp_path, """<!doctype html><html><head><title>River News</title></head><body>
<header class="site-header"><div class="logo">River News</div><nav><a href="/">Home</a> <a href="/local">Local</a></nav></header>
<header class="article-header"><h1>Dam repaired after divers find crack</h1><p class="byline">By Ana Ruiz</p></header>
<div class="text"><p>The dam on the upper river was repaired on Friday after divers found a crack in May, the water board
said.</p><p>Boats may use the lock again from Monday, and the footpath over the dam reopens next week.</p></div>
</body></html>""")
    assert raw.meta.title == "Dam repaired after divers find crack"
    assert "divers found a crack in May" in raw.text and "By Ana Ruiz" in raw.text
    assert "Home" not in raw.text


def test_a_premium_box_holding_most_of_the_page_is_the_article(tmp_path):
    """The <h1> above it, a Subscribe link in it: a box named "premium" that is most of the page's text stays."""
    raw = _parse_page(tmp_path, f"""<!doctype html><html><head><title>Ferry fares rise | Island Post</title></head><body>
<header><h1>Ferry fares rise</h1></header>
<div class="premium"><p>{_FARES[0]}</p><p>{_FARES[1]}</p><p><a href="/subscribe">Subscribe</a></p></div>
<div class="promo-box"><p>Subscribe to continue reading.</p><a class="btn" href="/subscribe">Subscribe</a></div>
</body></html>""")
    assert _FARES[0] in raw.text and _FARES[1] in raw.text
    assert "continue reading" not in raw.text


def test_inside_the_article_a_subscriber_box_with_a_newsletter_link_is_content(tmp_path):
    """Within <article>, "subscriber"/"premium" names mark the paid part of the story, not a prompt."""
    raw = _parse_page(tmp_path, """<!doctype html><html><head><title>Port strike talks collapse</title></head><body>
<article><h1>Port strike talks collapse</h1>
<p>Talks between the port authority and the dockers' union broke down on Wednesday night after eleven hours.</p>
<div class="subscriber-content"><p>The union wants a pay rise of six percent; the authority has offered three and a
one-off bonus.</p><p>Container ships are already waiting off the coast, and two lines have said they will divert to
other ports from Monday.</p>
<p><a class="cta" href="/newsletters/port">Get the port newsletter</a></p></div>
</article></body></html>""")
    assert "offered three and a one-off bonus" in raw.text
    assert "divert to other ports from Monday" in raw.text


def test_a_date_in_the_running_text_is_not_the_published_date(tmp_path):
    """No date markup: "first floated on 12 March 2019" is the story's, not the page's; a <time> is a cue."""
    story = """<article><h1>Tunnel plan revived</h1>{}<p>The tunnel plan, first floated on 12 March 2019, was revived by
the council on Thursday after years of debate.</p><p>Work could start next spring if the region pays half.</p></article>
<footer>© 2024 Harbour Herald</footer>"""
    page = "<!doctype html><html><head><title>Tunnel plan revived</title></head><body>{}</body></html>"
    raw = _parse_page(tmp_path, page.format(story.format("")))
    assert "first floated on 12 March 2019" in raw.text
    assert raw.meta.published is None
    dated = _parse_page(tmp_path, page.format(story.format('<time datetime="2025-03-06">6 March 2025</time>')))
    assert dated.meta.published == date(2025, 3, 6)


# More real content named like furniture (first two), and furniture whose <h1> must not pass for the headline
NEWSLETTER_ISSUE = """<!doctype html><html><head><title>Morning Briefing: the harbour vote | Coastal Times</title></head>
<body><header><div class="logo">Coastal Times</div><nav><a href="/">Home</a> <a href="/newsletters">Newsletters</a></nav></header>
<div class="newsletter-issue"><h1>Morning Briefing: the harbour vote</h1><p class="byline">By Sam Ortiz</p>
<p>Good morning. The council votes tonight on selling the old harbour warehouses to a housing cooperative for
4.2 million euros.</p><p>Opponents want the buildings kept for the fishing fleet and have collected 3,000 signatures.</p>
</div>
<div class="signup-box"><p>Get the Morning Briefing in your inbox every weekday.</p>
<form><input type="email" name="email"><button>Sign up</button></form></div></body></html>"""

DIALOGUE_INTERVIEW = """<!doctype html><html><head><title>"We built the lock by hand"</title></head><body>
<div class="dialogue-interview"><h2>"We built the lock by hand"</h2>
<p><b>Q:</b> How long did the lock take to restore?</p>
<p><b>A:</b> Three summers. Every gate beam was cut from oak by the volunteers, and the old iron fittings were recast.</p>
<p><b>Q:</b> What comes next?</p><p><b>A:</b> The upper weir, if the river trust finds the money this year.</p>
<button class="podcast-subscribe">Subscribe to the podcast</button></div></body></html>"""

CONSENT_WITH_H1 = """<!doctype html><html><head><title>Library opens on Sundays | City Post</title></head><body>
<header><h1 class="logo">City Post</h1><nav><a href="/">Home</a> <a href="/city">City</a></nav></header>
<div class="privacy-modal" role="dialog"><h1>We value your privacy</h1><p>We and our partners use cookies to personalise
content and ads and to measure traffic. Choose "Accept all" to agree or manage your choices in the settings.</p>
<button>Accept all</button><button>Manage settings</button></div>
<div class="page"><h1>Library opens on Sundays</h1><p>The central library will open on Sundays from May, the council
decided on Tuesday after a petition signed by 4,000 residents.</p></div></body></html>"""


@pytest.mark.parametrize(("html", "keep", "drop"), [
    (NEWSLETTER_ISSUE, ("harbour warehouses to a housing cooperative", "collected 3,000 signatures"),
     ("in your inbox every weekday", "Home")),
    (DIALOGUE_INTERVIEW, ("Three summers", "cut from oak by the volunteers", "The upper weir"), ()),
    (CONSENT_WITH_H1, ("petition signed by 4,000 residents",), ("privacy", "cookies", "Accept", "Home")),
], ids=["newsletter-issue", "dialogue-interview", "consent-with-h1"])
def test_content_named_like_furniture_stays_and_furniture_with_an_h1_goes(tmp_path, html, keep, drop):
    raw = _parse_page(tmp_path, html)
    for phrase in keep:
        assert phrase in raw.text, (phrase, raw.text)
    for phrase in drop:
        assert phrase.lower() not in raw.text.lower(), (phrase, raw.text)
