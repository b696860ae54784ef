"""The masking engine behind :mod:`jibe_alerts.grouping`.

A message is cut to its first :data:`MAX_MESSAGE_CHARS` characters, its whitespace is collapsed,
and one compiled alternation regex replaces every variable part by a ``<kind>`` placeholder.
Everything here is a pure function of the input text: no randomness, no ``hash()``, no state
beyond compiled regexes, so every process on every host computes the same template.

A value starts only after a space or an ASCII punctuation mark other than ``<`` and ``>`` (the
*context* character, which the regex consumes so that ``re`` can skip letters and digits at C
speed).  So digits glued to letters or ``_`` belong to an identifier and are kept (``S3``,
``UTF8``, ``ipv6``, ``x86_64``, ``sharedmedia123_logs``), while a number after a ``-`` is a
numeric suffix and is masked (``DoTask-02`` becomes ``DoTask-<num>``, so ``UTF-8`` becomes
``UTF-<num>``).  Placeholders end in ``>``, which is no context character, so masking a template
again changes nothing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, NamedTuple

#: Only this many leading characters of a message take part in its template.
MAX_MESSAGE_CHARS: Final = 1000
#: Longer templates are cut after a space or a placeholder (so a template is its own template).
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


def _not_after(chars: str) -> str:
    """Guard placed after an alternative's first character: the context char is not in *chars*."""
    return f"(?<![{chars}].)"


def _names_after_first(names: tuple[str, ...]) -> str:
    """Match the rest of any of *names* once its first letter has been consumed.

    Branches start with the (literal) second letter, which ``re`` rejects in one step.
    """
    by_prefix: dict[str, list[str]] = {}
    for name in names:
        by_prefix.setdefault(name[:2], []).append(name[2:])
    branches = [
        f"{prefix[1]}(?<={prefix})(?:{'|'.join(sorted(rests, key=len, reverse=True))})"
        for prefix, rests in sorted(by_prefix.items())
    ]
    return "(?:" + "|".join(branches) + ")"


# Patterns are compiled with re.ASCII, and every ``\w`` (always written inside a character
# class) also takes all non-ASCII characters: Unicode category tests are slow in ``re``, and
# non-ASCII text counts as letters anyway.  Such a class is rewritten as the negation of its
# ASCII complement, which ``re`` compiles and tests quickly.
_CLASS_OR_ESCAPE = re.compile(r"\\.|\[\^?\]?(?:[^\]\\]|\\.)*\]", re.DOTALL)
_LETTER = "[^\\x00-@\\[-`{-\\x7f]"  # ASCII letters and everything non-ASCII
_LOWER = "[^\\x00-`{-\\x7f]"  # ASCII lowercase letters and everything non-ASCII


def _widened(token: re.Match[str]) -> str:
    r"""Return a ``[...\w...]`` class as a negated class that matches all non-ASCII too."""
    text = token[0]
    if not text.startswith("[") or text.startswith("[^") or r"\w" not in text:
        return text
    ascii_class = re.compile(text, re.ASCII)
    outside = [c for c in map(chr, range(128)) if not ascii_class.fullmatch(c)]
    return "[^" + "".join(f"\\x{ord(c):02x}" for c in outside) + "]"


def _compile(pattern: str) -> re.Pattern[str]:
    r"""Compile one of this module's patterns (see the note on ``\w`` above)."""
    return re.compile(_CLASS_OR_ESCAPE.sub(_widened, pattern), re.ASCII | re.DOTALL)


# --- building blocks --------------------------------------------------------------------------
# Context characters: ASCII space and punctuation except "." (never before a value: "v1.2",
# "a.5"), "<" and ">" (placeholders stay whole) and "_" (part of words).
_CTX = r"[ !-\-/:;=?@\[-^`{-~]"
_Q1_REST = r"(?:[^'\\]++|\\.|'(?=[\w<]))*+'"  # an apostrophe inside a word does not close it
_Q2_REST = r'(?:[^"\\]++|\\.)*+"'
_Q1 = "'" + _Q1_REST
_Q2 = '"' + _Q2_REST
_HEX = "[0-9a-fA-F]"
_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December", "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep",
    "Sept", "Oct", "Nov", "Dec",
)  # fmt: skip
_DAYS = (
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
    "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun",
)  # fmt: skip
_MON = "(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + ")"
_CLOCK = r"[0-2]?[0-9]:[0-5][0-9](?::[0-6][0-9](?:[.,][0-9]{1,9})?)?"
_TZ = r"(?: ?(?:Z|[+-][0-9]{2}:?[0-9]{2}|UTC|GMT|[ECMP][SD]T|CES?T|BST|IST|JST)(?![<\w+-]))?"
_TIME_END = r"(?![<\w:])"
# A path segment: no trailing dot (sentence punctuation), dots allowed inside and in front.
_SEG = r"(?:\.\.?(?=/)|\.*+[\w@%+~=$-]++(?:\.++[\w@%+~=$-]++)*+)"
_PATH_TAIL = r"(?::[0-9]++){0,2}(?:\?(?:[\w%+=&/~-]++|\.(?=[\w]))*+)?"
_SRC_EXT = "(?:py|pyx|java|go|js|mjs|ts|tsx|rb|c|h|cc|cpp|hpp|rs|php|kt|scala|cs|swift|sh|lua|pl)"
_H4 = f"{_HEX}{{1,4}}"
_V6_TAIL = r"(?:\.[0-9]{1,3}){0,3}(?:%[\w.]+)?(?![<\w:])"
# IPv6 after its first character: all eight groups, or "::" with at least one digit around it.
_V6_DIGIT = r"(?:(?<=[0-9])|(?=[a-fA-F:]*+[0-9]))"
_V6_FULL_REST = rf"{_V6_DIGIT}{_HEX}{{0,3}}(?::{_H4}){{7}}{_V6_TAIL}"
_V6_SHORT_REST = (
    rf"{_V6_DIGIT}(?:(?<=:):|{_HEX}{{0,3}}(?::{_H4}){{0,6}}::)(?:{_H4}(?::{_H4}){{0,6}})?{_V6_TAIL}"
)
_V6 = rf"(?:{_HEX}{_V6_FULL_REST}|[0-9a-fA-F:]{_V6_SHORT_REST})"
_WIN_SEG = r"[^\\\s:*?\"<>|',;()\[\]]++"
_WIN_SEGS = rf"\\{_WIN_SEG}(?:\\{_WIN_SEG})*+"  # never ends with a backslash
_LIST_ITEM = rf"(?:{_Q1}|{_Q2}|[^\s,()\[\]'\"<>]++)"
_URL_CHAR = r"[^\s'\"<>()\[\]{}.,;:!?\\]"
_NUM_TAIL = (
    r"(?:\.[0-9]++)*+(?:[eE][-+]?[0-9]++)?(?:%|[kKMGTPE]i?[bB](?:ps)?|bytes|[bBkKMGT])?(?![\w<])"
)
_UNIT = r"(?:ms|us|µs|ns|mins?|secs?|hrs?|s|m|h|d|w)"
_LONG_UNIT = (
    r"(?:ms|(?:milli|micro|nano)?seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?"
    r"|months?|years?)"
)
_DEC = r"[0-9]++(?:\.[0-9]++)?"
_DIGIT_DATE = (
    r"[0-9]{3}(?:-[01]?[0-9]-|/[01]?[0-9]/|\.[01]?[0-9]\.)[0-3]?[0-9]"  # 2020-07-01
    r"|[0-9]?/[0-3]?[0-9]/[0-9]{4}"  # 07/28/2020, 28/07/2020
)


class _Alt(NamedTuple):
    """One kind of value: the class of its first character and the pattern for the rest.

    *rest* runs with the first character already consumed, so ``_not_after`` guards look at the
    context character.  *requires* lists substrings without which it cannot match: lines
    without them get a regex without it.  An alternative with several *kinds* marks each of its
    branches with an empty group ``()`` itself, in the order of *kinds*.
    """

    kind: str | tuple[str, ...]
    first: str
    rest: str
    requires: tuple[str, ...] = ()


# Order matters: at one position the first alternative that matches wins.  Kind "" keeps the
# text (dict and JSON keys are structure, not values).
_ALTERNATIVES: Final = (
    _Alt("", "'", rf"(?:(?<=[{{,].)|(?<=[{{,] .)){_Q1_REST}(?= ?:)"),
    _Alt("", '"', rf"(?:(?<=[{{,].)|(?<=[{{,] .)){_Q2_REST}(?= ?:)"),
    _Alt("str", "'", _not_after("'") + _Q1_REST + r"(?![\w<])"),
    _Alt("str", '"', _Q2_REST),
    _Alt(  # no placeholders inside: a list that was not one stays not one
        "list",
        r"\[",
        rf"(?=[^\[\],'\"]*+[,'\"])(?:[^\[\]'\"<>]++|{_Q1}|{_Q2}|\[[^\[\]<>]*+\])*+\]",
    ),
    _Alt("list", r"\(", rf" ?(?:(?:{_LIST_ITEM} ?, ?)++(?:{_LIST_ITEM} ?)?|(?:{_Q1}|{_Q2}) ?)\)"),
    _Alt("ip", r"\[", rf"{_V6}\](?::[0-9]{{1,5}})?(?![\w<])"),
    _Alt(
        "url",
        "[A-Za-z]",
        rf"{_not_after('+-')}[A-Za-z0-9+.-]{{0,20}}://(?:{_URL_CHAR}++|[.,;:!?]++(?={_URL_CHAR}))*+",
        ("://",),
    ),
    _Alt(
        "email",
        r"[\w]",
        rf"{_not_after('+-')}[\w.+-]{{0,63}}+@[\w-]++(?:\.[\w-]++)++(?![<\w@])",
        ("@",),
    ),
    _Alt("path", "/", rf"{_not_after('/~-')}(?:{_SEG}/?)++{_PATH_TAIL}", ("/",)),
    _Alt("path", "[~.]", rf"{_not_after('/~-')}(?:(?<=\.)\.)?/(?:{_SEG}/?)++{_PATH_TAIL}", ("/",)),
    _Alt("path", "[A-Za-z]", f":{_WIN_SEGS}", ("\\",)),
    _Alt("path", r"\\", rf"(?<!\\.){_WIN_SEGS}", ("\\",)),
    _Alt(  # bucket/key: a digit, "_", "." or "-" somewhere, a lowercase letter in the last part
        "path",
        r"[\w@%+~=$-]",
        rf"{_not_after('/@~-')}(?=[\w@%+~=$.-]*+/)"
        rf"(?:(?<=[0-9_-])|(?=(?:{_LETTER}++|[@%+~=$/]++)*+[0-9_.-]))"
        rf"[\w@%+~=$.-]*+/(?:{_SEG}/)*+(?=[0-9A-Z_@%+~=$.-]*+{_LOWER}){_SEG}(?![<\w/])",
        ("/",),
    ),
    _Alt(
        "arn",
        "a",
        rf"{_not_after(':-')}rn:(?=[^ ]*?[0-9/])[\w-]++:[\w-]++:[\w-]*+:[0-9]*+:"
        r"[^\s'\",;()\[\]<>\\]++",  # no backslash: it could escape a closing quote
        (":",),
    ),
    _Alt(
        "uuid",
        _HEX,
        rf"{_HEX}{{7}}-(?:{_HEX}{{4}}-){{3}}{_HEX}{{12}}(?![0-9A-Za-z<])",
    ),
    _Alt(
        "datetime",
        "[0-9]",
        rf"{_not_after(':-')}(?:(?:{_DIGIT_DATE})[T _]|[0-9]?/{_MON}/[0-9]{{4}}:"
        rf"|[0-9]? {_MON} [0-9]{{4}} ){_CLOCK}{_TZ}{_TIME_END}",
        (":",),
    ),
    _Alt(  # names first: "Tue, 28 Jul 2020 19:53:04", "Jul 29 00:00:11", "Jul 28, 2020"
        ("datetime", "datetime", "date"),
        "[" + "".join(sorted({n[0] for n in _MONTHS + _DAYS})) + "]",
        rf"(?:{_names_after_first(_DAYS)},? (?:{_MON} [0-3]?[0-9] {_CLOCK}{_TZ}(?: [0-9]{{4}})?"
        rf"|[0-3]?[0-9] {_MON} [0-9]{{4}} {_CLOCK}{_TZ}){_TIME_END}()"
        rf"|{_names_after_first(_MONTHS)} [0-3]?[0-9]"
        rf"(?: {_CLOCK}{_TZ}(?: [0-9]{{4}})?{_TIME_END}()|, [0-9]{{4}}(?![\w<])()))",
    ),
    _Alt(
        "date",
        "[0-9]",
        rf"{_not_after(':/-')}(?:{_DIGIT_DATE}|[0-9]? {_MON} [0-9]{{4}})(?![<\w/-])",
    ),
    _Alt(
        "time",
        "[0-9]",
        rf"{_not_after(':')}(?:(?<=[0-2])[0-9])?:[0-5][0-9]:[0-6][0-9](?:[.,][0-9]{{1,9}})?"
        rf"{_TZ}{_TIME_END}",
        (":",),
    ),
    _Alt(
        "ip",
        "[0-9]",
        rf"{_not_after(':')}[0-9]{{0,2}}(?:\.[0-9]{{1,3}}){{3}}(?:/[0-9]{{1,2}})?"
        r"(?::[0-9]{1,5})?(?![\w<])(?!\.[0-9])",
    ),
    _Alt("ip", _HEX, _not_after(":") + _V6_FULL_REST, (":",)),
    _Alt("ip", "[0-9a-fA-F:]", _not_after(":") + _V6_SHORT_REST, ("::",)),
    _Alt("host", "l", rf"{_not_after('@/-')}ocalhost:[0-9]{{1,5}}(?![<\w:])(?!\.[\w<])", (":",)),
    _Alt(
        "host",
        "[a-z]",
        rf"{_not_after('@/-')}[a-z0-9-]*+\.(?:[a-z0-9][a-z0-9-]*+\.)*+"
        rf"(?!{_SRC_EXT}:)[a-z][a-z0-9-]*+:[0-9]{{1,5}}(?![<\w:])(?!\.[\w<])",
        (":", "."),
    ),
    _Alt("hex", "0", rf"[xX]{_HEX}++(?![\w<])"),
    _Alt(
        "hex",
        _HEX,
        rf"(?:(?<=[0-9])(?=[0-9]*+[a-fA-F])|(?<=[a-fA-F])(?=[a-fA-F]*+[0-9]))"
        rf"{_HEX}{{7,}}+(?![0-9A-Za-z<])",
    ),
    _Alt(
        "duration",
        "[0-9]",
        rf"[0-9]*+(?:\.[0-9]++)?"
        rf"(?:{_UNIT}(?:{_DEC}{_UNIT})*+| {_LONG_UNIT})(?![\w<])",
    ),
    _Alt("num", "[-+]", _not_after(r")\]") + "[0-9]++" + _NUM_TAIL),
    _Alt("num", "[0-9]", "[0-9]*+" + _NUM_TAIL),
)

# Every alternative needs a digit or one of these characters, so lines without any are done.
_has_candidate: Final = re.compile(r"[0-9'\"\[(/\\@]").search
# Substrings that decide which alternatives take part (one compiled regex per combination);
# every ``requires`` entry is one of these.
_TRIGGERS: Final = ("://", "/", ":", "::", ".", "@", "\\")


def _triggers_in(text: str) -> tuple[bool, ...]:
    """``tuple(t in text for t in _TRIGGERS)``, spelt out: this runs for every new line."""
    return ("://" in text, "/" in text, ":" in text, "::" in text, "." in text, "@" in text,
            "\\" in text)
_PRINTABLE_ASCII: Final = tuple(chr(i) for i in range(0x21, 0x7F))


@dataclass(frozen=True, slots=True)
class _Masker:
    """One compiled alternation, for lines that contain a given set of trigger substrings."""

    pattern: re.Pattern[str]
    kinds: tuple[str, ...]  # indexed by Match.lastindex
    replace: Callable[[re.Match[str]], str]


def _buckets(alts: list[_Alt]) -> list[tuple[str, list[_Alt], bool]]:
    """Partition first characters by the alternatives that can start with them.

    Returns (character class, alternatives in order, whether each must re-check its own first
    class).  Grouping lets ``re`` reject all alternatives of a bucket with one class test.
    """
    firsts = [_compile(a.first) for a in alts]
    by_members: dict[tuple[int, ...], list[str]] = {}
    for char in _PRINTABLE_ASCII:
        members = tuple(i for i, f in enumerate(firsts) if f.fullmatch(char))
        if members:
            by_members.setdefault(members, []).append(char)
    buckets = [
        ("[" + "".join(re.escape(c) for c in chars) + "]", [alts[i] for i in members], False)
        for members, chars in by_members.items()
    ]
    non_ascii = [a for a, f in zip(alts, firsts, strict=True) if f.fullmatch("\u00e9")]
    if non_ascii:  # only [\w]-based alternatives, each checking its class
        buckets.append((r"[^\x00-\x7f]", non_ascii, True))
    return buckets


@functools.cache
def _masker_for(present: tuple[bool, ...]) -> _Masker:
    """Compile (once per combination of trigger substrings) the alternation that can match."""
    missing = {t for t, p in zip(_TRIGGERS, present, strict=True) if not p}
    alts = [a for a in _ALTERNATIVES if missing.isdisjoint(a.requires)]
    kinds = [""]
    groups = []
    for char_class, members, recheck in _buckets(alts):
        branches = []
        for alt in members:
            check = f"(?<={alt.first})" if recheck else ""
            # An empty group at the end marks the alternative: Match.lastindex names it.
            if isinstance(alt.kind, str):
                branches.append(f"{check}{alt.rest}()")
                kinds.append(alt.kind)
            else:
                branches.append(f"{check}(?:{alt.rest})")
                kinds.extend(alt.kind)
        groups.append(f"{char_class}(?:{'|'.join(branches)})")
    compiled = _compile(f"{_CTX}(?:{'|'.join(groups)})")
    assert compiled.groups == len(kinds) - 1, "alternatives capture nothing but their markers"
    placeholders = tuple(f"<{k}>" if k else "" for k in kinds)

    def replace(match: re.Match[str]) -> str:
        text = match[0]
        placeholder = placeholders[match.lastindex or 0]
        return text[0] + placeholder if placeholder else text

    return _Masker(compiled, tuple(kinds), replace)


def _collapse(text: str) -> str:
    """Return ``" ".join(text.split())``, skipping the work for text that is already so."""
    if (text.isascii() and text.isprintable() and "  " not in text
            and not text.startswith(" ") and not text.endswith(" ")):
        return text  # printable ASCII has no whitespace but " ", and no doubled or edge one
    return " ".join(text.split())


def _prepare(text: str) -> tuple[str, _Masker | None]:
    """Cut and collapse *text*; pick the masker for it, or None when nothing can match."""
    text = _collapse(text[:MAX_MESSAGE_CHARS])
    if _has_candidate(text) is None:
        return text, None
    return text, _masker_for(_triggers_in(text))


def _cap(template: str) -> str:
    """Cut an over-long template after its last space or placeholder within the limit.

    A template only outgrows the limit when it holds placeholders, so there is always one.
    """
    if len(template) <= MAX_TEMPLATE_CHARS:
        return template
    head = template[:MAX_TEMPLATE_CHARS]
    return head[: max(head.rfind(" "), head.rfind(">") + 1)].rstrip()


def template_uncached(text: str) -> str:
    """Return the template of *text*, computed afresh (see ``grouping.message_template``)."""
    # _prepare inlined: this is the hot path.
    text = _collapse(text[:MAX_MESSAGE_CHARS])
    if _has_candidate(text) is None:
        return text
    masker = _masker_for(_triggers_in(text))
    # The leading space is the context character for a value at the very start.
    template = masker.pattern.sub(masker.replace, " " + text)[1:]
    return template if len(template) <= MAX_TEMPLATE_CHARS else _cap(template)


def parameterize_uncached(text: str) -> Parameterized:
    """Return *text* split into template and masked values, computed afresh."""
    text, masker = _prepare(text)
    if masker is None:
        return Parameterized(text, ())
    text = " " + text
    pieces: list[str] = []
    values: list[MaskedValue] = []
    ends: list[int] = []  # where each value's placeholder ends in the template
    kinds = masker.kinds
    size = -1  # the leading space is not part of the template
    end = 0
    for match in masker.pattern.finditer(text):
        kind = kinds[match.lastindex or 0]
        if not kind:
            continue
        literal = text[end : match.start() + 1]
        size += len(literal) + len(kind) + 2
        pieces += (literal, "<", kind, ">")
        values.append(MaskedValue(kind, match[0][1:]))
        ends.append(size)
        end = match.end()
    pieces.append(text[end:])
    template = _cap("".join(pieces)[1:])
    kept = tuple(v for v, e in zip(values, ends, strict=True) if e <= len(template))
    return Parameterized(template, kept)
