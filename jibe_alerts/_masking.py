"""The masking engine behind :mod:`jibe_alerts.grouping`.

A message is cut to its first :data:`MAX_MESSAGE_CHARS` characters, its whitespace is collapsed,
and one compiled alternation regex replaces every variable part by a ``<kind>`` placeholder.
Everything here is a pure function of the input text: no randomness, no ``hash()``, no state
beyond compiled regexes, so every process on every host computes the same template.

Digits that are glued to letters or ``_`` belong to an identifier and are kept (``S3``, ``UTF8``,
``ipv6``, ``x86_64``, ``sharedmedia123_logs``); a number after a ``-`` is a numeric suffix and is
masked (``DoTask-02`` becomes ``DoTask-<num>``, and so ``UTF-8`` becomes ``UTF-<num>``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

#: Only this many leading characters of a message take part in its template.
MAX_MESSAGE_CHARS: Final = 1000
#: Templates are cut (at a space) to this many characters, so a template is its own template.
MAX_TEMPLATE_CHARS: Final = 1000


@dataclass(frozen=True, slots=True)
class MaskedValue:
    """One masked-out part of a message: its placeholder name and the text it replaced."""

    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class Parameterized:
    """A message split into its template and the values that were masked out, in order."""

    template: str
    values: tuple[MaskedValue, ...]


# --- building blocks --------------------------------------------------------------------------
_Q1 = r"'(?:[^'\\]|\\.)*+'"
_Q2 = r'"(?:[^"\\]|\\.)*+"'
_HEX = "[0-9a-fA-F]"
_MON = (
    "(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    "|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_DOW = "(?:Mon(?:day)?|Tue(?:s(?:day)?)?|Wed(?:nesday)?|Thu(?:rs(?:day)?)?|Fri(?:day)?|Sat(?:urday)?|Sun(?:day)?)"
_CLOCK = r"[0-2]?[0-9]:[0-5][0-9](?::[0-6][0-9](?:[.,][0-9]{1,9})?)?"
_TZ = r"(?: ?(?:Z|[+-][0-9]{2}:?[0-9]{2}|UTC|GMT|[ECMP][SD]T|CES?T|BST|IST|JST)(?![\w+-]))?"
_YMD = r"[0-9]{4}(?:-[01]?[0-9]-|/[01]?[0-9]/|\.[01]?[0-9]\.)[0-3]?[0-9]"
_DMY = r"[0-3]?[0-9]/[0-3]?[0-9]/[0-9]{4}"  # day/month or month/day
# A path segment: no trailing dot (sentence punctuation), dots allowed inside and in front.
_SEG = r"(?:\.\.?(?=/)|\.*+[\w@%+~=$-]++(?:\.++[\w@%+~=$-]++)*+)"
_SRC_EXT = "(?:py|pyx|java|go|js|mjs|ts|tsx|rb|c|h|cc|cpp|hpp|rs|php|kt|scala|cs|swift|sh|lua|pl)"
_V6 = (
    rf"(?=[0-9a-fA-F:]*[0-9])(?:{_HEX}{{1,4}}:){{7}}{_HEX}{{1,4}}"
    rf"|(?=[0-9a-fA-F:]*[0-9])(?:{_HEX}{{1,4}}(?::{_HEX}{{1,4}}){{0,6}})?::"
    rf"(?:{_HEX}{{1,4}}(?::{_HEX}{{1,4}}){{0,6}})?(?:\.[0-9]{{1,3}}){{0,3}}(?:%[\w.]+)?"
)
_NUM_BODY = r"[0-9]++(?:\.[0-9]++)*+(?:[eE][-+]?[0-9]++)?(?:%|[kKMGTPE]i?[bB](?:ps)?|bytes|[bBkKMGT])?"
_UNIT = r"(?:ms|us|µs|ns|mins?|secs?|hrs?|s|m|h|d|w)"
_LONG_UNIT = (
    r"(?:ms|(?:milli|micro|nano)?seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?"
    r"|months?|years?)"
)
_DEC = r"[0-9]++(?:\.[0-9]++)?"

# (kind, characters that must all occur for it to match, pattern).  Order matters: at one
# position the first alternative that matches wins.  Kind "" keeps the text (dict/JSON keys).
_ALTERNATIVES: Final[tuple[tuple[str, str, str], ...]] = (
    ("", "'", rf"(?:(?<=[{{,])|(?<=[{{,] )){_Q1}(?= ?:)"),
    ("", '"', rf"(?:(?<=[{{,])|(?<=[{{,] )){_Q2}(?= ?:)"),
    ("str", "'", rf"(?<![\w']){_Q1}(?![\w'])"),
    ("str", '"', _Q2),
    (
        "list",
        "[",
        rf"\[(?=[^\[\],'\"]*+[,'\"])(?:[^\[\]'\"]++|{_Q1}|{_Q2}|\[[^\[\]]*+\])*+\]",
    ),
    (
        "list",
        "(",
        rf"\( ?(?:(?:{_Q1}|{_Q2}|[^\s,()\[\]'\"]++) ?, ?)++(?:(?:{_Q1}|{_Q2}|[^\s,()\[\]'\"]++) ?)?\)"
        rf"|\( ?(?:{_Q1}|{_Q2}) ?\)",
    ),
    ("ip", "[", rf"\[(?:{_V6})\](?::[0-9]{{1,5}})?(?![\w])"),
    (
        "url",
        "/",
        r"(?<![\w.+-])[A-Za-z][A-Za-z0-9+.-]{0,20}://"
        r"(?:[^\s'\"<>()\[\]{}.,;:!?]|[.,;:!?]++(?=[^\s'\"<>()\[\]{}.,;:!?]))*+",
    ),
    ("email", "@", r"(?<![\w.+-])[\w.+-]{1,64}+@[\w-]++(?:\.[\w-]++)++(?![\w@])"),
    (
        "path",
        "/",
        rf"(?<![\w./\\~-])(?:~|\.\.?)?/(?:{_SEG}/?)++(?::[0-9]++){{0,2}}"
        r"(?:\?(?:[\w%+=&/~-]|\.(?=\w))*+)?",
    ),
    ("path", "\\", r"(?<![\w\\])(?:[A-Za-z]:|\\)\\(?:[^\\\s:*?\"<>|',;()\[\]]++\\?)++"),
    (
        "path",
        "/",
        rf"(?<![\w./\\~@-])(?=[\w@%+~=$.-]++/)(?=[\w@%+~=$./-]*?[0-9_.-])(?:{_SEG}/)++"
        rf"(?=[\w@%+~=$.-]*?[^\W\d_]){_SEG}(?![\w/])",
    ),
    ("arn", ":", r"(?<![\w:-])arn:[\w-]++:[\w-]++:[\w-]*+:[0-9]*+:[^\s'\",;()\[\]]++"),
    ("uuid", "-", rf"(?<![0-9A-Za-z]){_HEX}{{8}}-(?:{_HEX}{{4}}-){{3}}{_HEX}{{12}}(?![0-9A-Za-z])"),
    (
        "datetime",
        "",
        rf"(?<![\w.:-])(?:{_YMD}[T _]|{_DMY} |[0-3]?[0-9]/{_MON}/[0-9]{{4}}:)"
        rf"{_CLOCK}{_TZ}(?![\w:])",
    ),
    (
        "datetime",
        "",
        rf"(?<![\w.:-])(?:(?:{_DOW},? )?{_MON} [0-3]?[0-9] {_CLOCK}{_TZ}(?: [0-9]{{4}})?"
        rf"|(?:{_DOW},? )?[0-3]?[0-9] {_MON} [0-9]{{4}} {_CLOCK}{_TZ})(?![\w:])",
    ),
    (
        "date",
        "",
        rf"(?<![\w.:/-])(?:{_YMD}|{_DMY}|{_MON} [0-3]?[0-9], [0-9]{{4}}|[0-3]?[0-9] {_MON} [0-9]{{4}})"
        r"(?![\w/-])",
    ),
    ("time", ":", rf"(?<![\w.:])[0-2]?[0-9]:[0-5][0-9]:[0-6][0-9](?:[.,][0-9]{{1,9}})?{_TZ}(?![\w:])"),
    (
        "ip",
        ".",
        r"(?<![\w.:])[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?:/[0-9]{1,2})?(?::[0-9]{1,5})?"
        r"(?![\w])(?!\.[0-9])",
    ),
    ("ip", ":", rf"(?<![\w.:])(?:{_V6})(?![\w:])"),
    (
        "host",
        ":",
        rf"(?<![\w.@/-])(?:localhost|(?:[a-z0-9][a-z0-9-]*+\.)++(?!{_SRC_EXT}:)[a-z][a-z0-9-]*+)"
        r":[0-9]{1,5}(?![\w.:])",
    ),
    ("hex", "", rf"(?<![\w])0[xX]{_HEX}++(?![\w])"),
    (
        "hex",
        "",
        rf"(?<![0-9A-Za-z])(?=[0-9]*+[a-fA-F])(?=[a-fA-F]*+[0-9]){_HEX}{{8,}}+(?![0-9A-Za-z])",
    ),
    (
        "duration",
        "",
        rf"(?<![\w.])(?:{_DEC}{_UNIT}(?:{_DEC}{_UNIT})*|{_DEC} {_LONG_UNIT})(?![\w])",
    ),
    ("num", "", rf"(?:(?<![\w.)\]])[-+]|(?<![\w.])){_NUM_BODY}(?![\w])"),
)

# Lines without any of these characters have nothing to mask (every alternative needs one).
_HAS_CANDIDATE = re.compile(r"[0-9'\"\[(/\\@]")
_TRIGGERS: Final = "".join(sorted({c for _, req, _ in _ALTERNATIVES for c in req}))
_TRIGGER_RE = re.compile("[" + re.escape(_TRIGGERS) + "]")


@dataclass(frozen=True, slots=True)
class _Masker:
    """One compiled alternation for the alternatives whose trigger characters are present."""

    pattern: re.Pattern[str]
    kinds: tuple[str, ...]  # indexed by Match.lastindex
    replace: Callable[[re.Match[str]], str]


@functools.cache
def _masker_for(present: frozenset[str]) -> _Masker:
    """Compile (once per set of trigger characters) the alternation that can match here."""
    parts: list[str] = []
    kinds: list[str] = [""]
    for kind, required, pattern in _ALTERNATIVES:
        if all(c in present for c in required):
            # The empty group at the end marks the alternative: Match.lastindex names it.
            parts.append(f"(?:{pattern})()")
            kinds.append(kind)
    compiled = re.compile("|".join(parts), re.DOTALL)
    assert compiled.groups == len(parts), "alternatives must not capture"
    placeholders = tuple(f"<{k}>" if k else "" for k in kinds)

    def replace(match: re.Match[str]) -> str:
        return placeholders[match.lastindex or 0] or match[0]

    return _Masker(compiled, tuple(kinds), replace)


def _prepare(text: str) -> tuple[str, _Masker | None]:
    """Cut and collapse *text*; pick the masker for it, or None when nothing can match."""
    text = " ".join(text[:MAX_MESSAGE_CHARS].split())
    if _HAS_CANDIDATE.search(text) is None:
        return text, None
    return text, _masker_for(frozenset(_TRIGGER_RE.findall(text)))


def _cap(template: str) -> str:
    """Cut an over-long template at a space, so it never ends inside a placeholder."""
    if len(template) <= MAX_TEMPLATE_CHARS:
        return template
    return template[: MAX_TEMPLATE_CHARS + 1].rsplit(" ", 1)[0]


def template_uncached(text: str) -> str:
    """Return the template of *text*, computed afresh (see ``grouping.message_template``)."""
    text, masker = _prepare(text)
    if masker is None:
        return _cap(text)
    return _cap(masker.pattern.sub(masker.replace, text))


def parameterize_uncached(text: str) -> Parameterized:
    """Return *text* split into template and masked values, computed afresh."""
    text, masker = _prepare(text)
    if masker is None:
        return Parameterized(_cap(text), ())
    pieces: list[str] = []
    values: list[MaskedValue] = []
    ends: list[int] = []  # where each value's placeholder ends in the template
    kinds = masker.kinds
    size = end = 0
    for match in masker.pattern.finditer(text):
        kind = kinds[match.lastindex or 0]
        if not kind:
            continue
        literal = text[end : match.start()]
        size += len(literal) + len(kind) + 2
        pieces += (literal, "<", kind, ">")
        values.append(MaskedValue(kind, match[0]))
        ends.append(size)
        end = match.end()
    pieces.append(text[end:])
    template = _cap("".join(pieces))
    kept = tuple(v for v, e in zip(values, ends, strict=True) if e <= len(template))
    return Parameterized(template, kept)
