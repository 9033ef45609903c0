from django.apps import AppConfig


class InteropConfig(AppConfig):
    name = "telederm.interop"
    label = "interop"
    verbose_name = "Interoperability"

    def ready(self) -> None:
        # Outgoing messages follow the clinical events that cause them (signals.py).
        from telederm.interop import signals  # noqa: F401
