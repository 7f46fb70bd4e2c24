from django.urls import path

from . import views

# The names are mozilla-django-oidc's (its session refresh middleware reverses them).
urlpatterns = [
    path("authenticate/", views.SignInView.as_view(), name="oidc_authentication_init"),
    path("callback/", views.CallbackView.as_view(), name="oidc_authentication_callback"),
    path("logout/", views.LogoutView.as_view(), name="oidc_logout"),
    path("refused/", views.refused_page, name="sso_refused"),
]
