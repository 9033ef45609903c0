from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "telederm.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from telederm.accounts import signals  # noqa: F401  (connects the receivers)
