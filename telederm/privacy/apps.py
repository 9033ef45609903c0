from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "telederm.privacy"
    label = "privacy"
    verbose_name = "Privacy"
