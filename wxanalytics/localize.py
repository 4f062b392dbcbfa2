"""Stored English text in the reader's language, at display time.

Used for snapshots and for the errors kept with rejected event rows and import lines
(docs/i18n.md). Snapshots are built in English (reports.snapshots.build) and their JSON is data: the API
serves it, rebuilds are compared with it, and its structure and numbers never depend on who
built it. Titles, column names, notes, summary lines and label cells were written through
gettext, so each stored English text is either a catalogue msgid itself or a msgid with
its %(name)s values filled in. To show it in Chinese we look the text up; failing that we
match it against the catalogue's msgids that take values, and translate the values too
(the friction sentence carries an advice text, itself a msgid). A note made of several
gettext sentences is translated sentence by sentence. Text that matches nothing (a
campaign name, an event name) is shown as stored.
"""

import re
from functools import lru_cache

from django.utils.translation import get_language, gettext
from django.utils.translation.trans_real import translation

_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%%")
# Where a note built from several sentences may be cut: after . : ; ) followed by a space.
_SENTENCE_END = re.compile(r"(?<=[.;)])\s+")
_CJK_END = ("。", "；", "：", "）", "！", "？")


def localize_text(text, *, keep_names: bool = False):
    """`text` (stored English) in the active language; anything else is returned as is.

    Steps: the whole text as one msgid, or one msgid with values that hold no sentence
    end; else sentence by sentence, if every sentence translates; else one msgid whose
    values may hold whole sentences (a summary line that quotes the friction sentence).
    Values are translated the same way; with `keep_names`, a one-word value (a column,
    field, event or type name the sender must write as it is) is shown as stored."""
    if not isinstance(text, str) or not text or _is_english():
        return text
    whole = _translate(text, strict=True, keep_names=keep_names)
    if whole is not None:
        return whole
    pieces = _by_sentence(text, keep_names=keep_names)
    if pieces is not None:
        return pieces
    loose = _translate(text, strict=False, keep_names=keep_names)
    return text if loose is None else loose


def _by_sentence(text: str, *, keep_names: bool) -> str | None:
    """The text translated in runs of whole sentences (longest runs first), or None when
    some sentence has no translation."""
    sentences = _SENTENCE_END.split(text)
    if len(sentences) == 1:
        return None
    pieces, start = [], 0
    while start < len(sentences):
        for end in range(len(sentences) - (start == 0), start, -1):
            translated = _translate(" ".join(sentences[start:end]), strict=True, keep_names=keep_names)
            if translated is not None:
                pieces.append(translated)
                start = end
                break
        else:
            return None
    out = pieces[0]
    for piece in pieces[1:]:
        out += piece if out.endswith(_CJK_END) else " " + piece
    return out


def localize_errors(errors):
    """A stored `{field: why}` mapping (a rejected row's or line's errors) with each why in
    the active language; the field names are the sender's and stay as they are."""
    if not isinstance(errors, dict):
        return errors
    return {name: localize_error(why) for name, why in errors.items()}


def localize_error(text):
    """A stored ingest or import error in the active language. Names inside it (the
    `campaign` column, `list` as a type) stay as sent: "campaign" is also a msgid (活动),
    but the sender must write the column as campaign. Our phrases used as values (the
    request limits) have several words and are translated."""
    return localize_text(text, keep_names=True)


def _is_english() -> bool:
    return (get_language() or "en").startswith("en")


def _translate(text: str, *, strict: bool, keep_names: bool = False) -> str | None:
    translated = gettext(text)
    if translated != text:
        return translated
    for pattern, msgid in _templates(get_language(), strict):
        match = pattern.fullmatch(text)
        if match:
            # Each value is shorter than the text (a msgid has words around its values).
            values = {
                name: value if keep_names and " " not in value else localize_text(value, keep_names=keep_names)
                for name, value in match.groupdict().items()
            }
            return gettext(msgid) % values
    return None


@lru_cache(maxsize=16)
def _templates(language: str, strict: bool) -> list[tuple[re.Pattern, str]]:
    """Regexes for the catalogue's msgids that take %(name)s values, longest first (the
    most specific wins); strict values hold no sentence end. Built once per language."""
    value = r"(?:(?!\.\s).)*?" if strict else ".*?"
    catalog = translation(language)._catalog
    # Only msgids with words around their values: "%(name)s" alone would match anything.
    msgids = [
        key
        for key in catalog.keys()  # noqa: SIM118 (TranslationCatalog has keys(), no __iter__)
        if isinstance(key, str) and "%(" in key and re.search(r"[A-Za-z]{3}", _PLACEHOLDER.sub("", key))
    ]
    patterns = []
    for msgid in sorted(msgids, key=len, reverse=True):
        regex, seen, pos = "", set(), 0
        for placeholder in _PLACEHOLDER.finditer(msgid):
            regex += re.escape(msgid[pos : placeholder.start()])
            name = placeholder.group(1)
            if name is None:
                regex += "%"
            elif name in seen:
                regex += f"(?P={name})"
            else:
                regex += rf"(?P<{name}>{value})"
                seen.add(name)
            pos = placeholder.end()
        regex += re.escape(msgid[pos:])
        patterns.append((re.compile(regex, re.DOTALL), msgid))
    return patterns
