from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "telederm.accounts"
    label = "accounts"
    verbose_name = "Accounts"
