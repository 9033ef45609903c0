from django.urls import path

from telederm.privacy import views

app_name = "privacy"

urlpatterns = [
    path("my-access-log/", views.my_access_log, name="my_access_log"),
    path("review/", views.review, name="review"),
    path(
        "review/break-glass/<uuid:access_uuid>/",
        views.review_break_glass,
        name="review_break_glass",
    ),
]
