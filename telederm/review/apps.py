from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "telederm.review"
    label = "review"
    verbose_name = "Review"
