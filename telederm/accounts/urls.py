from django.urls import path

from telederm.accounts import views

app_name = "accounts"

urlpatterns = [
    path("notifications/", views.notifications, name="notifications"),
]
