"""The HTML reader: page furniture out, then the article's main text and metadata via trafilatura.

Consent dialogs, paywall prompts, newsletter boxes and menus are removed from
the parsed page before trafilatura sees it. Left in, they win whenever they
hold more text than the article: a short article "covers little of the page",
so trafilatura's fallbacks take the longest block, which is the cookie notice.
(``favor_precision`` would fix that case, but it also drops the headline in an
article's ``<header>``.) What goes is decided by the page's markup: ids and
classes of consent managers and sign-up boxes, menu tags and roles, and boxes
whose button says "Accept" or "Subscribe" and whose text opens like a prompt.
Anything holding the main content (``<article>``, ``<main>``,
``itemprop=articleBody``, or a class JSON-LD marks as paywalled content) or
the headline (the ``<h1>`` sharing most words with the page's title) stays.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from urllib.parse import urljoin

from lxml.html import HtmlElement

from .metadata import ArticleMeta, parse_date, short_text, web_url

# Words of an id or class (camelCase split) that mark furniture. A word matches whole, plural or joined to one of
# _PARTS ("cookiebar", "paywallContainer"), never as a prefix: "wall" is not "wallace", "gate" is not "gateway".
# A consent manager's or sign-up box's own names: never the article.
_ALWAYS = ("cookie", "consent", "gdpr", "dsgvo", "rgpd", "ccpa", "onetrust", "optanon", "cybot", "cmpbox", "cmpwrapper",
           "didomi", "usercentrics", "trustarc", "iubenda", "osano", "newsletter", "signup")
# Names that also mark real content on some sites (Google asks for paywalled text to be marked class="paywall",
# sites call article bodies "premium"): furniture only outside the main content, when the element asks the reader
# to act (a form, an Accept/Subscribe/Log in button), is not several paragraphs of prose and not most of the page.
_WHEN_ASKING = ("paywall", "regwall", "wall", "piano", "subscribe", "subscriber", "subscription", "premium", "modal",
                "popup", "overlay", "dialog", "promo", "upsell", "gate")
# Generic names (Adobe's components are all "cmp-..."): furniture only when the text opens like a prompt.
_WHEN_PROMPTING = ("cmp", "privacy", "banner", "notice", "notif", "notification", "alert", "toast", "sticky")
_PARTS = "bar|banner|box|notice|popup|modal|dialog|overlay|layer|wrapper|container|form|prompt|wall"


def _marker(names: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(rf"(?:{'|'.join(names)})s?(?:{_PARTS})?")


_ALWAYS_RE, _ASKING_RE, _PROMPTING_RE = _marker(_ALWAYS), _marker(_WHEN_ASKING), _marker(_WHEN_PROMPTING)
_MULTIWORD = re.compile(r"\b(?:sp[-_]message|qc[-_]cmp|tp[-_](?:modal|backdrop|container)|cc[-_](?:window|banner)"
                        r"|sign[-_]up|opt[-_]?in|mc[-_]embed)(?![a-z])", re.I)
_MENU_TAGS = {"nav", "aside", "footer", "menu", "dialog"}
_MENU_ROLES = {"navigation", "banner", "contentinfo", "complementary", "dialog", "alertdialog", "search"}
_CONTENT_ROLES = {"main", "article"}
# What a prompt's button or link says, in whole words: accept, subscribe, sign up, log in. A "Share" or "Print"
# button asks nothing, and neither does "Join the discussion" or a link to the "Paris agreement".
_ACTION = re.compile(
    r"\b(?:subscri\w*|sign[ -]?(?:up|in)|log[ -]?in|register|abonn\w*|trial|newsletter|unlock|upgrade|become a member|"
    r"join (?:now|today|us)|donate|accept\w*|agree|allow|reject\w*|decline|ok|okay|got it|consent|settings|"
    r"preferences|zustimm\w*|akzept\w*|ablehn\w*|einstellung\w*|einverstanden|accepter|refuser|aceptar|rechazar|"
    r"accett\w*|rifiut\w*|akkoord|weiger\w*)\b", re.I)
_MAX_LABEL_WORDS = 8  # "Subscribe for just 1 euro a month"; a longer link is a sentence, not a button
# The words a prompt opens with, for a box that has such a button but no marker in its markup
_PROMPT = re.compile(
    r"\b(?:we|this (?:web)?site|our (?:web)?site|our partners) uses? cookies|accept (?:all )?cookies|"
    r"cookie (?:settings|preferences|policy)|manage (?:your )?(?:cookie )?(?:preferences|settings|choices)|"
    r"we value your privacy|legitimate interest|wir verwenden cookies|(?:diese|unsere) (?:web)?seite verwendet cookies|"
    r"alle akzeptieren|cookie-einstellungen|nous utilisons des cookies|tout accepter|utilizamos cookies|"
    r"aceptar todas|utilizziamo (?:i )?cookie|accetta tutti|wij gebruiken cookies|"
    r"subscribe (?:now )?to (?:continue|keep|read)|continue reading|keep reading|already a subscriber|"
    r"already have an account|subscribers only|start your (?:free )?trial|jetzt abonnieren|abonnez-vous|"
    r"(?:reached|used) (?:your|the) (?:limit|last)|free (?:articles|stories) (?:this|per|a) month|"
    r"become a (?:member|subscriber)|support (?:our|local|independent) journalism|"
    r"sign up (?:for|to) (?:our|the)|subscribe to our|in your inbox|enter your e-?mail",
    re.I,
)
_PROMPT_LEAD = 300  # characters of a box its prompt words must appear in
_PROMPT_MAX = 4_000  # longer boxes are articles, not prompts
_PROSE_PARAGRAPHS = 5  # an element with this many paragraphs of 80+ characters is an article body
_MIN_OWN_WORDS = 10  # a page whose text outside link labels is shorter holds no article
_MAX_CONTROLS = 200  # a page of 10,000 buttons costs no more than this many checks
_MAX_SCANS = 2_000  # subtree scans while pruning: nested lookalike markup cannot make it quadratic


@dataclass
class Page:
    """The article's text and what the HTML says about it, already checked: a value that does not parse is None."""

    text: str
    meta: ArticleMeta = field(default_factory=ArticleMeta)


def extract(data: bytes) -> Page | None:
    """The article in ``data`` with its metadata, or None when the page holds no article text."""
    import trafilatura

    tree = trafilatura.load_html(data)
    if tree is None:
        return None
    prune_furniture(tree)
    # dates from the page's markup, URL and <time> only: "first floated on 12 March 2019" in the text is no cue
    options = dict(include_comments=False, include_tables=True,
                   date_extraction_params={"original_date": True, "extensive_search": False})
    try:
        extracted = trafilatura.bare_extraction(tree, with_metadata=True, **options)
    except Exception:  # a metadata parser tripped on an odd value: the text is still wanted
        extracted = trafilatura.bare_extraction(tree, with_metadata=False, **options)
    text = getattr(extracted, "text", None) if extracted is not None else None
    if not isinstance(text, str) or not text.strip() or _only_links(text, tree):
        return None
    page = Page(text)
    readers = {
        "title": lambda: short_text(extracted.title),
        "published": lambda: parse_date(extracted.date),
        "updated": lambda: _modified(tree),
        "author": lambda: short_text(extracted.author),
        "outlet": lambda: short_text(extracted.sitename),
        "url": lambda: _canonical(tree) or web_url(extracted.url),
    }
    for name, read in readers.items():
        try:
            setattr(page.meta, name, read())
        except Exception:  # one malformed value leaves its field empty, never the page unread
            pass
    return page


def declared_canonical(data: bytes) -> str | None:
    """The page's ``<link rel="canonical">``, absolute; None when it has none (or is not HTML)."""
    import trafilatura

    tree = trafilatura.load_html(data)
    return _canonical(tree) if tree is not None else None


def prune_furniture(tree: HtmlElement) -> None:
    """Remove consent dialogs, paywall and sign-up prompts and menus from ``tree``, in place."""
    body = tree.find(".//body")
    if body is None:
        body = tree
    kept, words = _survey(body, _headline(tree, body))
    pruning = _Pruning(_protected_classes(tree), kept, words, words[body])
    doomed: list[HtmlElement] = []
    stack = [(child, False) for child in reversed(body)]
    while stack:  # depth first without recursion: pages can be 100,000 tags deep
        elem, in_content = stack.pop()
        if not isinstance(elem.tag, str):
            continue
        if pruning.is_furniture(elem, in_content):
            doomed.append(elem)
            continue
        inside = in_content or _is_content(elem)
        stack.extend((child, inside) for child in reversed(elem))
    for elem in doomed:
        elem.drop_tree()  # its tail text (the words after it) stays
    _prune_prompts(body, pruning.kept)


@dataclass
class _Pruning:
    """Which elements are furniture; scans of subtrees are counted, so the whole pass stays linear."""

    protected: set[str]  # classes that hold the article although they look like furniture
    kept: set[HtmlElement]  # the main content, the headline and everything around them: never furniture
    words: dict[HtmlElement, int]  # the words in each element, script and style left out
    page_words: int
    scans: int = _MAX_SCANS

    def is_furniture(self, elem: HtmlElement, in_content: bool) -> bool:
        if elem in self.kept or set((elem.get("class") or "").split()) & self.protected:
            return False
        tag, role, words = elem.tag.lower(), (elem.get("role") or "").lower(), _marker_words(elem)
        if _named(words, _ALWAYS_RE) or _MULTIWORD.search(_markup(elem)):
            return True
        if tag in _MENU_TAGS or role in _MENU_ROLES or (elem.get("aria-modal") or "").lower() == "true":
            return True
        if tag == "header" and not in_content and self._scan():  # the site's (logo, menu), not an article's own
            return elem.find(".//h1") is None or elem.find(".//nav") is not None
        if (not in_content and _named(words, _ASKING_RE) and 2 * self.words[elem] <= self.page_words
                and self._scan() and _asks(elem) and _prose_paragraphs(elem) < _PROSE_PARAGRAPHS):
            return True
        return _named(words, _PROMPTING_RE) and self._scan() and _opens_like_prompt(elem)

    def _scan(self) -> bool:
        """Whether another subtree may be searched; once the budget is spent, everything else stays."""
        self.scans -= 1
        return self.scans >= 0


def _survey(body: HtmlElement, headline: HtmlElement | None) -> tuple[set[HtmlElement], dict[HtmlElement, int]]:
    """What holds the main content (``<article>``, ``<main>``, ...) or the headline, and how many words each element
    holds: one pass from the leaves up, so no check rescans a subtree however deep the nesting."""
    kept: set[HtmlElement] = set()
    words: dict[HtmlElement, int] = defaultdict(int)
    for elem in reversed(list(body.iter())):  # every element after all of its descendants
        if isinstance(elem.tag, str):
            if elem.tag not in ("script", "style"):
                words[elem] += len((elem.text or "").split())
            if elem is headline or _is_content(elem):
                kept.add(elem)
        parent = elem.getparent()
        if elem is not body and parent is not None:
            words[parent] += words[elem] + len((elem.tail or "").split())
            if elem in kept:
                kept.add(parent)
    return kept, words


def _headline(tree: HtmlElement, body: HtmlElement) -> HtmlElement | None:
    """Of the page's first ``<h1>``s, the one sharing most words with its title (the later on a tie), or its only one."""
    title = " ".join([tree.findtext(".//title") or "", *tree.xpath('.//meta[@property="og:title"]/@content')])
    title_words = set(re.findall(r"\w+", title.lower()))
    h1s = list(islice(body.iter("h1"), 20))
    shared, last = max(((len(title_words & set(re.findall(r"\w+", h.text_content().lower()))), i)
                        for i, h in enumerate(h1s)), default=(0, -1))
    return h1s[last] if shared or len(h1s) == 1 else None


def _prose_paragraphs(elem: HtmlElement) -> int:
    return sum(len(p.text_content()) >= 80 for p in elem.iter("p"))


def _opens_like_prompt(elem: HtmlElement) -> bool:
    return bool(_PROMPT.search(" ".join(elem.text_content()[: 2 * _PROMPT_LEAD].split())[:_PROMPT_LEAD]))


def _only_links(text: str, tree: HtmlElement) -> bool:
    """Whether the text is link labels (a menu, a list of headlines) with hardly a sentence of its own."""
    anchors = {" ".join(a.text_content().split()) for a in islice(tree.iter("a"), 10_000)}
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    linked = [line for line in lines if line in anchors]
    own_words = sum(len(line.split()) for line in lines if line not in anchors)
    return bool(linked) and own_words < _MIN_OWN_WORDS


def _prune_prompts(body: HtmlElement, kept: set[HtmlElement]) -> None:
    """Boxes with a button or form that open with the words of a consent, paywall or sign-up prompt, but no marker.

    Prompts lead with their message ("We use cookies", "Subscribe to continue
    reading"); an article that quotes such words further down, or a box with
    the headline, is left alone.
    """
    seen: set[HtmlElement] = set()
    controls = (e for e in body.iter(*_CONTROL_TAGS) if _is_call_to_action(e))
    for control in list(islice(controls, _MAX_CONTROLS)):
        box = control.getparent()
        for _ in range(3):
            if box is None or box is body or box in seen or box in kept:
                break
            seen.add(box)
            if _opens_like_prompt(box):
                if len(box.text_content()) <= _PROMPT_MAX:
                    box.drop_tree()
                break
            box = box.getparent()


def _marker_words(elem: HtmlElement) -> list[str]:
    """The words of id and class, camelCase split: "CybotCookiebotDialog" -> cybot, cookiebot, dialog."""
    raw = _markup(elem)
    raw = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", raw)
    return re.findall(r"[a-z]+", raw.lower())


def _named(words: list[str], marker: re.Pattern[str]) -> bool:
    return any(marker.fullmatch(w) for w in words)


def _markup(elem: HtmlElement) -> str:
    return f"{elem.get('id') or ''} {elem.get('class') or ''}"


def _is_content(elem: HtmlElement) -> bool:
    return (elem.tag in ("article", "main") or (elem.get("role") or "").lower() in _CONTENT_ROLES
            or (elem.get("itemprop") or "").lower() == "articlebody")


def _asks(elem: HtmlElement) -> bool:
    return any(_is_call_to_action(e) for e in elem.iter(*_CONTROL_TAGS))


_CONTROL_TAGS = ("button", "input", "form", "a")


def _is_call_to_action(elem: HtmlElement) -> bool:
    """A form, an e-mail field, or a button or button-like link that says accept, subscribe, sign up or log in."""
    if elem.tag == "form":
        return True
    kind = (elem.get("type") or "").lower()
    if elem.tag == "input" and kind in ("email", "hidden"):
        return kind == "email"
    text = elem.text_content()[:200]
    label = " ".join(elem.get(a) or "" for a in ("value", "title", "aria-label", "id", "class"))  # not href
    if len(text.split()) > _MAX_LABEL_WORDS or not _ACTION.search(f"{text} {label}"):
        return False
    if elem.tag != "a" or elem.get("role") == "button" or re.search(r"\b(?:btn|button|cta)", elem.get("class") or "", re.I):
        return True
    # a link standing on its own ("Already a subscriber? Log in"), not one inside a sentence ("voters can register ...")
    previous = elem.getprevious()
    before = (previous.tail if previous is not None else elem.getparent().text) or ""
    return before.strip()[-1:] in ("", ".", "?", "!", ":") and len((elem.tail or "").strip()) <= 1


def _protected_classes(tree: HtmlElement) -> set[str]:
    """Classes that schema.org markup says hold the article behind a paywall (``hasPart.cssSelector``)."""
    found: set[str] = set()
    for script in tree.iterfind(".//script[@type='application/ld+json']"):
        found.update(re.findall(r'"cssSelector"\s*:\s*"\.([\w-]+)"', script.text or ""))
    return found


def _modified(tree: HtmlElement) -> date | None:
    """The page's own "last modified" date: meta tags, microdata, then JSON-LD."""
    for xpath in ('.//meta[@property="article:modified_time"]/@content', './/meta[@property="og:updated_time"]/@content',
                  './/meta[@itemprop="dateModified"]/@content', './/*[@itemprop="dateModified"]/@datetime'):
        for value in tree.xpath(xpath):
            if found := parse_date(value):
                return found
    for script in tree.iterfind(".//script[@type='application/ld+json']"):
        if m := re.search(r'"dateModified"\s*:\s*"([^"]{10,40})"', script.text or ""):
            if found := parse_date(m.group(1)):
                return found
    return None


def _canonical(tree: HtmlElement) -> str | None:
    """``<link rel="canonical">``, made absolute against og:url when it is relative."""
    for link in tree.iterfind(".//link[@href]"):
        if "canonical" in (link.get("rel") or "").lower().split():
            href = link.get("href").strip()
            base = next(iter(tree.xpath('.//meta[@property="og:url"]/@content')), "")
            try:
                return web_url(urljoin(base, href) if base else href)
            except ValueError:
                return None
    return None
