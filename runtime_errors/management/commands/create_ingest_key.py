from django.core.management.base import BaseCommand, CommandError

from runtime_errors.models import IngestKey


class Command(BaseCommand):
    help = "Create an ingest key for a service and print it once."

    def add_arguments(self, parser):
        parser.add_argument("name", help="The service the key is for.")

    def handle(self, *args, name, **options):
        if not name.strip() or len(name) > 50:
            raise CommandError("NAME must be 1 to 50 characters.")
        ingest_key, key = IngestKey.objects.create_key(name=name)
        self.stdout.write(key)
        self.stderr.write(
            f"Created ingest key {ingest_key.prefix} for {name}. Send it as "
            f"'Authorization: Api-Key <key>'; it is not shown again."
        )
