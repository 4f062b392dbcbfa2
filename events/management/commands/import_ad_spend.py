from events.imports.command import ImportCommand


class Command(ImportCommand):
    kind = "ad_spend"
