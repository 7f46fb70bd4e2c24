from django.urls import path

from . import views

app_name = "training"
urlpatterns = [
    path("", views.my_learning, name="my_learning"),
    path("catalogue/", views.catalogue, name="catalogue"),
    path("curricula/<slug:slug>/", views.curriculum_detail, name="curriculum"),
    path("curricula/<slug:slug>/enrol/", views.enrol, name="enrol"),
    path("modules/<slug:slug>/", views.module_detail, name="module"),
    path("activities/<int:pk>/open/", views.activity_open, name="activity_open"),
    path("activities/<int:pk>/confirm/", views.activity_confirm, name="activity_confirm"),
    path("activities/<int:pk>/check/", views.knowledge_check, name="check"),
    path("activities/<int:pk>/attendance/", views.attendance, name="attendance"),
    path("certificates/<uuid:code>/", views.certificate, name="certificate"),
    path("certificates/<uuid:code>/pdf/", views.certificate_pdf, name="certificate_pdf"),
    path("refreshers/<int:pk>/", views.refresher, name="refresher"),
    path("refreshers/<int:pk>/open/", views.refresher_open, name="refresher_open"),
    path("refreshers/<int:pk>/confirm/", views.refresher_confirm, name="refresher_confirm"),
    path("review/", views.review_queue, name="review_queue"),
    path("review/<slug:slug>/resolve/", views.review_resolve, name="review_resolve"),
    path("team/", views.team, name="team"),
    path("people/<str:username>/", views.learner_detail, name="learner"),
    path("reports/", views.report_page, name="reports"),
    path("reports/export/", views.report_export, name="report_export"),
    path("api/gap-report/", views.api_gap_report, name="api_gap_report"),
    path("api/completion-report/", views.api_completion_report, name="api_completion_report"),
]
