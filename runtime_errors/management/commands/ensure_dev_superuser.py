import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

PASSWORD_FILE = Path(settings.BASE_DIR) / ".dev-admin-password"
DEFAULT_URL = "http://127.0.0.1:8000/staff/"


class Command(BaseCommand):
    help = "Make sure a staff superuser exists for local development."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument(
            "--url", default=DEFAULT_URL, help="Where the server will serve staff."
        )

    def handle(self, *args, username, url, **options):
        if not settings.DEBUG:
            raise CommandError("Only for development: DJANGO_DEBUG is off.")

        user_model = get_user_model()
        if user_model.objects.filter(username=username).exists():
            where = (
                f"the password in {PASSWORD_FILE.name}"
                if PASSWORD_FILE.exists()
                else f"'python manage.py changepassword {username}' to set one"
            )
            self.stdout.write(f"Log in at {url} as {username} ({where}).")
            return

        password = secrets.token_urlsafe(12)
        user_model.objects.create_superuser(username=username, password=password)
        PASSWORD_FILE.write_text(password + "\n")
        PASSWORD_FILE.chmod(0o600)
        self.stdout.write(
            f"Created superuser {username}. Log in at {url} "
            f"with password {password} (kept in {PASSWORD_FILE.name})."
        )
