"""Pure ticket-text cleaning: keep the customer's own words, drop quotes, signatures, greetings and HTML.

Also splits cleaned text into sentences with character spans, so the model can say which sentence carried
its judgement. Values in, values out; no I/O.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

# Inputs beyond this are cut before any regex runs, so a 100 KB paste costs the same as a long e-mail.
MAX_CHARS = 20_000

_HTML_HINT = re.compile(r"<\s*(html|body|div|p|br|span|table|blockquote|font|b|i|a)\b", re.IGNORECASE)
_BLOCK_TAGS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "table", "ul", "ol", "hr"})
_SKIP_TAGS = frozenset({"style", "script", "head", "title", "blockquote"})

# Where a quoted earlier message starts; everything from here on is someone else's words.
_QUOTE_HEADERS = (
    re.compile(r"^\s*on\b.{0,200}\bwrote:\s*$", re.IGNORECASE),
    re.compile(r"^\s*-{2,}\s*original message\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^\s*-{2,}\s*forwarded message\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^\s*_{10,}\s*$"),
    re.compile(r"^\s*from:\s.+$", re.IGNORECASE),  # Outlook puts "From: ... Sent: ..." above the quote
    re.compile(r"^\s*am .{0,120}schrieb .{0,120}:\s*$", re.IGNORECASE),
    re.compile(r"^\s*le .{0,120}a écrit\s*:\s*$", re.IGNORECASE),
)
# "On Tue, 3 Mar 2026 at 10:01, Jo <jo@x.io>" is often wrapped so "wrote:" lands on the next line.
_WRAPPED_ON = re.compile(r"^[ \t]*on\b[^\n]{0,200}\n[^\n]{0,200}\bwrote:\s*$", re.IGNORECASE | re.MULTILINE)

_SENT_FROM = re.compile(
    r"^\s*(sent from my \w+|sent from (outlook|mail) for \w+|get outlook for \w+|sent via \w+)\b.*$",
    re.IGNORECASE,
)
_SIG_DASHES = re.compile(r"^--\s*$")
_VALEDICTION = re.compile(
    r"^\s*(best( wishes| regards)?|kind regards|warm regards|regards|many thanks|thanks( again| so much)?|"
    r"thank you|cheers|sincerely|yours( sincerely| truly)?|all the best|br|rgds|talk soon|greetings)"
    # not \s*[,.!]?\s*$: two \s* side by side try every split of a run of Unicode spaces (em spaces are
    # not collapsed into one space), 1.1 s for one 20,000-character line (security audit 9)
    r"\s*(?:[,.!]\s*)?$",
    re.IGNORECASE,
)
# A salutation line: the greeting, then whom it addresses and a closing ",", "!" or ":" ("Dear Patient Advice
# and Liaison Service,"), or at most two bare words ("Hi team", "Good morning everyone"). Not a line that goes
# on after a comma or runs on without one: "Hi team, the export is broken" and "hi is there a phone number i
# can call" are the message (the old rule, any 40 characters, dropped them whole).
_GREETING = re.compile(
    r"^\s*(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)|greetings|hallo|hiya|morning)\b,?"
    r"(?:[^.!?,:\n]{0,40}[,!:]|(?:[ \t]+[^\s.!?,:]+){0,2})[ \t]*$",
    re.IGNORECASE,
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")
_SPACES = re.compile(r"[ \t\u00a0]+")
_SENTENCE_END = re.compile(r"(?<=[.!?…])([\"')\]]*)\s+|\n+")


# Courtesy opening a message carries no sentiment of its own ("Hi! Hope you're well. <request>"), but the
# model read such openers as praise and turned requests and outages positive (issue 14). Pure courtesy
# sentences (greetings, well-wishes) are cut at the START of a message, only while at least
# _COURTESY_MIN_WORDS words are left. Closing thanks are kept: cutting them too (measured, see
# docs/sentiment-model.md) turned "It works now, thank you so much!" negative. Written from common English
# e-mail courtesy, not from any test set. The pattern is matched only inside the first _COURTESY_WINDOW
# characters, at most _COURTESY_MAX_CUTS times, so its cost does not grow with the message.
_COURTESY_WINDOW = 240
_COURTESY_MAX_CUTS = 4
_COURTESY_MIN_WORDS = 3
_WELL = r"(?:well|good|great|fine|ok|okay|nicely|smoothly|lovely|nice|wonderful|fantastic|brilliant|amazing)"
_OPENING_UNITS = (
    # greetings, optionally with who they are addressed to ("Hi Anna,", "Hello there!", "Hi all,")
    r"(?:hi|hello|hey|hiya|dear|greetings|good (?:morning|afternoon|evening|day)|morning|afternoon|evening)"
    r"(?: [^\W\d_][\w'-]*){0,2}",
    # well-wishes: "Hope you are well", "I hope you're doing well", "Hope this email finds you well",
    # "Hope all is well", "Hope you had a great weekend", "Trust your week is going smoothly"
    r"(?:i |we )?(?:hope|trust) (?:you(?:'re| are)(?: (?:doing|keeping|all))?|you(?:'ve| have) (?:had|been)"
    r"(?: having)?(?: an?)?|you had an?|you(?:'re| are) having an?|all(?:'s| is)|everything(?:'s| is)|"
    r"things are(?: going)?|this (?:email |e-mail |message |note |mail )?finds you|"
    r"your (?:day|week|weekend|morning|afternoon|monday|friday)(?: is|'s| has been| was)(?: going)?)"
    rf"(?: (?:very|really|so|all))? {_WELL}(?: [^\W\d_]+){{0,2}}",
    r"happy (?:monday|tuesday|wednesday|thursday|friday|weekend|new year|holidays)",
    r"how are you(?: doing)?(?: today)?|how(?:'s| is) it going|how are things",
)
# What ends a courtesy sentence: punctuation and emoticons (":)", ":-)", ":D", ";)", emoji).
_COURTESY_END = r"(?:[ \t]*(?::-?[)D]|;-?\)|[!.,;:\u2026]|[\u263a\U0001f300-\U0001faff]))+"
_OPENING = re.compile(
    rf"[ \t\n]*(?:{'|'.join(_OPENING_UNITS)})(?:{_COURTESY_END}|(?=[ \t]*\n))[ \t\n]*", re.IGNORECASE
)


def strip_courtesy(text: str) -> str:
    """`text` without pure courtesy sentences at its start, if enough of the message is left."""
    body = text
    for _ in range(_COURTESY_MAX_CUTS):
        m = _OPENING.match(body[:_COURTESY_WINDOW])
        if m is None or not m.end():
            break
        body = body[m.end() :]
    if body == text or len(words(body)) < _COURTESY_MIN_WORDS:
        return text
    return body.strip()


class _TextExtractor(HTMLParser):
    """Collects visible text; block tags become line breaks and quoted mail (<blockquote>) is dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


def _defuse_unclosed(text: str) -> str:
    """Every "<" with no ">" before the next "<" (or the end) as the text "&lt;": it cannot start a whole
    tag, and the standard library's HTMLParser rescans the rest of the body for each one (quadratic, CPython
    gh-135462 / CVE-2025-6069, fixed only in later patch releases): 6,000 "<a " in one message, which anyone
    can e-mail to a support desk, took 3.5 s of the scoring worker's CPU. One pass from the right."""
    if "<" not in text:
        return text
    out: list[str] = []
    closed = False  # a ">" comes before the next "<" (seen so far from the right)
    for ch in reversed(text):
        if ch == ">":
            closed = True
        elif ch == "<":
            if not closed:
                ch = "&lt;"
            closed = False
        out.append(ch)
    return "".join(reversed(out))


def html_to_text(text: str) -> str:
    """Visible text of an HTML body (line breaks kept); plain text passes through unescaped only."""
    if not _HTML_HINT.search(text):
        return html.unescape(text) if "&" in text else text
    parser = _TextExtractor()
    parser.feed(_defuse_unclosed(text))
    parser.close()
    return "".join(parser.parts)


def _cut_quoted(lines: list[str]) -> list[str]:
    """Lines before the first quote header, without '>'-quoted lines."""
    kept: list[str] = []
    for line in lines:
        if any(p.match(line) for p in _QUOTE_HEADERS) or _SIG_DASHES.match(line) or _SENT_FROM.match(line):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    return kept


# Signature lines join a title and a company ("IT Administrator | Tyrellstar Labs Corp", "Head of Finance,
# Acme Ltd"): each part is name-like even when the whole line has more than five words.
_SIG_PARTS = re.compile(r"\s+[|\u2022\u00b7\u2013\u2014-]\s+|,\s+")


def _is_name_line(line: str) -> bool:
    """A short trailing line that looks like a name, a title, a phone number or a company."""
    if not line.split() or len(line) > 80 or re.search(r"[.!?]\s*$", line.strip()):
        return False
    parts = [p for p in _SIG_PARTS.split(line.strip()) if p]
    return len(parts) <= 3 and all(len(p.split()) <= 5 for p in parts) and (len(parts) > 1 or len(line) <= 60)


def _cut_signature(lines: list[str]) -> list[str]:
    """Drop a closing like 'Best regards,' when only name-like lines follow it."""
    for i in range(len(lines) - 1, max(-1, len(lines) - 8), -1):
        if _VALEDICTION.match(lines[i]):
            tail = [ln for ln in lines[i + 1 :] if ln.strip()]
            # A bare "Thanks!" closing the message is content; "Thanks," or "Thanks!\nJo" is a sign-off.
            signed = bool(tail) or lines[i].rstrip().endswith(",")
            if signed and len(tail) <= 4 and all(_is_name_line(ln) for ln in tail) and any(lines[:i]):
                return lines[:i]
    return lines


def _cut_greeting(lines: list[str]) -> list[str]:
    """Drop a leading salutation line ('Hi Anna,', 'Dear support team,'), unless it is the whole message:
    "Hello, thanks" reads as a greeting and two bare words, and cutting it left nothing to judge."""
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        if _GREETING.match(line):
            rest = lines[:i] + lines[i + 1 :]
            return rest if any(ln.strip() for ln in rest) else lines
        break
    return lines


def clean_message(text: str) -> str:
    """The customer's own words from one message: no HTML, quoted replies, signature or greeting."""
    text = _CONTROL.sub(" ", text[:MAX_CHARS]).replace("\r\n", "\n").replace("\r", "\n")
    text = html_to_text(text)
    text = _WRAPPED_ON.sub("On wrote:", text)
    lines = [_SPACES.sub(" ", ln).strip() for ln in text.split("\n")]
    lines = _cut_greeting(_cut_signature(_cut_quoted(lines)))
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):  # collapse runs of blank lines
            out.append(line)
    return strip_courtesy("\n".join(out).strip())


def has_words(text: str) -> bool:
    """True when there is something to judge: at least two letters in a row."""
    return re.search(r"[^\W\d_]{2}", text) is not None


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans [start, end) of the sentences of `text`, whitespace trimmed, empties skipped."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        _add_span(text, start, match.start() + len(match.group(1) or ""), spans)
        start = match.end()
    _add_span(text, start, len(text), spans)
    return spans


def _add_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


def split_sentences(text: str) -> list[str]:
    """The sentences of `text` as strings (see sentence_spans)."""
    return [text[a:b] for a, b in sentence_spans(text)]


# Frequent English function words. The encoder's vocabulary is English WordPiece: for other languages its
# label is noise, so such text is treated as having nothing to judge.
_ENGLISH_WORDS = frozenset(
    [
        "about",
        "after",
        "again",
        "all",
        "also",
        "am",
        "and",
        "any",
        "are",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "don't",
        "for",
        "from",
        "get",
        "got",
        "had",
        "has",
        "have",
        "her",
        "here",
        "him",
        "his",
        "how",
        "i",
        "i'm",
        "if",
        "into",
        "is",
        "it",
        "it's",
        "its",
        "just",
        "more",
        "my",
        "not",
        "now",
        "of",
        "one",
        "only",
        "or",
        "our",
        "out",
        "please",
        "she",
        "some",
        "than",
        "thank",
        "thanks",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "too",
        "up",
        "us",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
    ]
)
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def words(text: str) -> list[str]:
    """The words of `text` (letters, with inner apostrophes)."""
    return _WORD.findall(text)


def looks_english(text: str) -> bool:
    """False for text that may not be English: mostly non-Latin letters, or few English function words.

    Headlines and hashtag tweets also fail the function-word test; the model then asks its tokenizer
    (foreign words split into many word pieces) before giving up on a text.
    """
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return False
    if sum(c.isascii() for c in letters) / len(letters) < 0.5:
        return False
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) < 8:
        return True  # too short to tell; let the model judge
    return sum(w in _ENGLISH_WORDS for w in words) / len(words) >= 0.08
