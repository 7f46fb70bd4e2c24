from django.urls import path

from . import feeds, views

urlpatterns = [
    path("", views.subscriptions_view, name="km_subscriptions"),
    path("add/", views.follow_view, name="km_follow"),
    path("remove/", views.unfollow_view, name="km_unfollow"),
    path("unsubscribe/<str:token>/", views.unsubscribe_view, name="km_unsubscribe"),
    path("changes/<int:change_id>/", views.what_changed_view, name="km_what_changed"),
    path("feeds/topic/<slug:slug>/", feeds.TopicFeed(), name="km_feed_topic"),
    path("feeds/unit/<slug:slug>/", feeds.UnitFeed(), name="km_feed_unit"),
    path("feeds/search/", feeds.SearchFeed(), name="km_feed_search"),
    path("feeds/me/<str:secret>/", feeds.PersonalFeed(), name="km_feed_personal"),
]
