from events.imports.command import ImportCommand


class Command(ImportCommand):
    kind = "oa_user_summary"
