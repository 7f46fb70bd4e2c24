from django.urls import path

from . import views

urlpatterns = [
    path("search/", views.search_page, name="search"),
    path("api/search/", views.api_search, name="api_search"),
    path("api/schema/", views.api_schema, name="api_schema"),
    path("search/go/<uuid:log_id>/<int:position>/", views.result_click, name="search_click"),
    path("feedback/<int:page_id>/", views.page_feedback, name="page_feedback"),
    path("search/answer-feedback/<uuid:log_id>/", views.answer_feedback, name="answer_feedback"),
]
