from django.urls import path

from telederm.cases import views

app_name = "cases"

urlpatterns = [
    path("", views.case_list, name="list"),
    path("new/", views.new_case, name="new"),
    path("<uuid:case_uuid>/", views.case_detail, name="detail"),
    path("<uuid:case_uuid>/edit/", views.edit_case, name="edit"),
    path("<uuid:case_uuid>/summary/", views.summary, name="summary"),
    path("<uuid:case_uuid>/submit/", views.submit, name="submit"),
    path("<uuid:case_uuid>/withdraw/", views.withdraw, name="withdraw"),
    path("<uuid:case_uuid>/messages/", views.case_messages, name="messages"),
    path("<uuid:case_uuid>/messages/send/", views.send_message, name="send_message"),
]
