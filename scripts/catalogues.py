"""Translation catalogues (docs/i18n.md): extract, compile, check.

    python scripts/catalogues.py extract   # makemessages into every catalogue (needs GNU gettext)
    python scripts/catalogues.py compile   # .po → .mo in pure Python (polib): no gettext needed
    python scripts/catalogues.py check     # exit 1, listing untranslated, fuzzy or broken entries

`make messages` runs all three. `make test` runs the checks (tests/test_i18n.py).
"""

import os
import re
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
# One catalogue per app, and the project's own (templates/ and wxanalytics/) in locale/:
# makemessages writes each string to the catalogue of the app whose folder holds it.
CATALOGUE_DIRS = ["locale", "campaigns/locale", "events/locale", "reports/locale"]
LANGUAGES = ["zh_Hans"]
# Folders with no user-facing strings of the running site.
IGNORE = [
    "tests/*",
    "bench/*",
    "sdk/*",
    "static/*",
    "staticfiles/*",
    "docs/*",
    "scripts/*",
    "control/*",
    "var/*",
    "media/*",
    "*/migrations/*",
]
PLURAL_FORMS = {"zh_Hans": "nplurals=1; plural=0;"}
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w*\}")


def po_files(root: Path = ROOT) -> list[Path]:
    return [root / d / lang / "LC_MESSAGES" / "django.po" for d in CATALOGUE_DIRS for lang in LANGUAGES]


def extract(root: Path = ROOT) -> None:
    """makemessages for every language into every catalogue, without line numbers (they
    would change with every edit and make every merge conflict)."""
    os.chdir(root)
    sys.path.insert(0, str(root))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wxanalytics.settings")
    import django
    from django.core.management import call_command

    django.setup()
    for directory in CATALOGUE_DIRS:
        (root / directory).mkdir(exist_ok=True)
    call_command(
        "makemessages", locale=LANGUAGES, no_obsolete=True, add_location="file", ignore_patterns=IGNORE, verbosity=0
    )
    for path in po_files(root):
        if path.exists():
            _fix_header(path)


def _fix_header(path: Path) -> None:
    """makemessages writes a template header (fuzzy, no plural rule) into a new catalogue."""
    po = polib.pofile(str(path))
    language = path.parent.parent.name
    po.metadata["Language"] = language
    po.metadata["Plural-Forms"] = PLURAL_FORMS[language]
    po.metadata["Content-Type"] = "text/plain; charset=UTF-8"
    po.metadata["Project-Id-Version"] = "wxanalytics"
    po.metadata["Language-Team"] = "wxanalytics"
    po.metadata["Last-Translator"] = "wxanalytics"
    po.metadata.pop("PO-Revision-Date", None)
    po.metadata.pop("Report-Msgid-Bugs-To", None)
    po.header = "wxanalytics translations (docs/i18n.md). Update with `make messages`."
    po.metadata_is_fuzzy = False
    po.save()


def compile_all(root: Path = ROOT) -> list[Path]:
    written = []
    for path in po_files(root):
        if path.exists():
            polib.pofile(str(path)).save_as_mofile(str(path.with_suffix(".mo")))
            written.append(path.with_suffix(".mo"))
    return written


def problems(path: Path) -> list[str]:
    """What keeps one catalogue from being complete: untranslated or fuzzy entries, a
    translation whose placeholders differ from the English, a fuzzy or plural-less header."""
    po = polib.pofile(str(path))
    found = []
    if po.metadata_is_fuzzy:
        found.append(f"{path}: the header is marked fuzzy")
    if "nplurals=" not in po.metadata.get("Plural-Forms", "") or "INTEGER" in po.metadata.get("Plural-Forms", ""):
        found.append(f"{path}: the header has no Plural-Forms rule")
    for entry in po:
        if entry.obsolete:
            continue
        where = f"{path}: {entry.msgid[:70]!r}"
        if "fuzzy" in entry.flags:
            found.append(f"{where} is fuzzy")
        elif not entry.translated():
            found.append(f"{where} is untranslated")
        else:
            expected = set(PLACEHOLDER.findall(entry.msgid)) | set(PLACEHOLDER.findall(entry.msgid_plural or ""))
            for text in [entry.msgstr] if not entry.msgid_plural else entry.msgstr_plural.values():
                if set(PLACEHOLDER.findall(text)) != expected:
                    found.append(f"{where}: the translation's placeholders differ from {sorted(expected)}")
                elif _formatted(entry.msgid) and not _formats(text):
                    found.append(f"{where}: the translation breaks %-formatting (write a literal % as %%)")
    return found


def _formatted(msgid: str) -> bool:
    """Strings with %(name)s or %% are used with the % operator (gettext(...) % values)."""
    return "%(" in msgid or "%%" in msgid


class _AnyValue(dict):
    def __missing__(self, key):
        return 1


def _formats(text: str) -> bool:
    try:
        text % _AnyValue()
    except (ValueError, TypeError):
        return False
    return True


def stale_compiled(path: Path) -> list[str]:
    """The compiled .mo beside `path` must hold exactly the .po's translations."""
    mo_path = path.with_suffix(".mo")
    if not mo_path.exists():
        return [f"{mo_path} is missing: run `make messages`"]
    wanted = _translations(polib.pofile(str(path)))
    compiled = _translations(polib.mofile(str(mo_path)))
    if wanted != compiled:
        return [f"{mo_path} does not match its .po: run `make messages`"]
    return []


def _translations(catalogue) -> dict:
    return {
        (e.msgctxt, e.msgid, e.msgid_plural): (e.msgstr, tuple(sorted(e.msgstr_plural.items())))
        for e in catalogue
        if not e.obsolete and "fuzzy" not in e.flags
    }


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else ""
    if command == "extract":
        extract()
        return 0
    if command == "compile":
        for mo in compile_all():
            print(f"compiled {mo.relative_to(ROOT)}")
        return 0
    if command == "check":
        found = [p for path in po_files() for p in problems(path) + stale_compiled(path)]
        for line in found:
            print(line)
        print(f"{len(found)} problem(s) in the translation catalogues." if found else "Catalogues complete.")
        return 1 if found else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
