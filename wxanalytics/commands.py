"""The base of our management commands: a `help` that may be translated lazily.

A command runs in the active language, which is settings.LANGUAGE_CODE (environment
`LANGUAGE_CODE`, default zh-hans) unless the caller activated another one: Django's
BaseCommand neither activates nor deactivates a language (only commands decorated with
`no_translations` run untranslated). So `LANGUAGE_CODE=en python manage.py …` gives English.

`help` is a class attribute, read when the module is imported, so it must be `gettext_lazy`
to follow the language of each run; argparse, though, runs regular expressions on the
description and fails on a lazy string. This class hands it a plain string.
"""

from django.core.management.base import BaseCommand


class TranslatedCommand(BaseCommand):
    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        if parser.description is not None:
            parser.description = str(parser.description)
        return parser
