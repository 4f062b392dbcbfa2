from events.imports.command import ImportCommand


class Command(ImportCommand):
    kind = "mp_page_stats"
