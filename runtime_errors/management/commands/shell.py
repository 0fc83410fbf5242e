from django.core.management.commands import shell

MODEL = "runtime_errors.models.RuntimeError"


class Command(shell.Command):
    def get_auto_imports(self):
        """Import the journal's models module instead of its RuntimeError
        model, which would hide the builtin exception in the shell."""
        imports = [path for path in super().get_auto_imports() if path != MODEL]
        return [*imports, "runtime_errors.models"]
