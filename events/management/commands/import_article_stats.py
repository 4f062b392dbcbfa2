from events.imports.command import ImportCommand


class Command(ImportCommand):
    kind = "article_stats"
