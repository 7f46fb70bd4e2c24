from django.urls import path

from .views import hr, learners, managers, owners

app_name = "training"
urlpatterns = [
    path("", learners.my_learning, name="my_learning"),
    path("catalogue/", learners.catalogue, name="catalogue"),
    path("curricula/<slug:slug>/", learners.curriculum_detail, name="curriculum"),
    path("curricula/<slug:slug>/enrol/", learners.enrol, name="enrol"),
    path("modules/<slug:slug>/", learners.module_detail, name="module"),
    path("activities/<int:pk>/open/", learners.activity_open, name="activity_open"),
    path("activities/<int:pk>/confirm/", learners.activity_confirm, name="activity_confirm"),
    path("activities/<int:pk>/check/", learners.knowledge_check, name="check"),
    path("activities/<int:pk>/attendance/", learners.attendance, name="attendance"),
    path("certificates/<uuid:code>/", learners.certificate, name="certificate"),
    path("certificates/<uuid:code>/pdf/", learners.certificate_pdf, name="certificate_pdf"),
    path("refreshers/<int:pk>/", learners.refresher, name="refresher"),
    path("refreshers/<int:pk>/open/", learners.refresher_open, name="refresher_open"),
    path("refreshers/<int:pk>/confirm/", learners.refresher_confirm, name="refresher_confirm"),
    path("review/", owners.review_queue, name="review_queue"),
    path("review/<slug:slug>/resolve/", owners.review_resolve, name="review_resolve"),
    path("team/", managers.team, name="team"),
    path("people/<str:username>/", managers.learner_detail, name="learner"),
    path("reports/", hr.report_page, name="reports"),
    path("reports/export/", hr.report_export, name="report_export"),
    path("api/gap-report/", hr.api_gap_report, name="api_gap_report"),
    path("api/completion-report/", hr.api_completion_report, name="api_completion_report"),
]
