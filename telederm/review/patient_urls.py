"""What the patient gets: the answer summary (HTML and PDF) and the self-care guides."""

from django.urls import URLPattern, URLResolver, path

from telederm.review import patient_views

app_name = "answers"

urlpatterns: list[URLPattern | URLResolver] = [
    path("guides/", patient_views.guide_list, name="guide_list"),
    path("guides/<slug:slug>/", patient_views.guide, name="guide"),
    path("cases/<uuid:case_uuid>/answer/", patient_views.summary, name="summary"),
    path("cases/<uuid:case_uuid>/answer.pdf", patient_views.summary_pdf, name="summary_pdf"),
]
