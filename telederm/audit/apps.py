from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "telederm.audit"
    label = "audit"
    verbose_name = "Audit"
