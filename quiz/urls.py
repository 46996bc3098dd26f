from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.templatetags.static import static as static_url
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from django.views.static import serve

urlpatterns = [
    # Browsers ask for /favicon.ico on pages that name no icon (the admin's, JSON, files).
    path("favicon.ico", RedirectView.as_view(url=static_url("favicon.svg"), permanent=True)),
    path("admin/", admin.site.urls),
    # The static join page links here whoever follows it: an author logged in already goes on
    # to their quizzes rather than to the login form again.
    path("accounts/login/", LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("quiz.game.urls")),
    # The questions' pictures, with DEBUG on or off: `make run` has no web server in front.
    # Behind one, let it serve MEDIA_ROOT at /media/ instead.
    re_path(
        rf"^{settings.MEDIA_URL.lstrip('/')}(?P<path>.*)$",
        serve,
        {"document_root": settings.MEDIA_ROOT},
    ),
]

# JSON errors for the API (a page's fetch reads the reason), Django's own pages elsewhere.
handler400 = "quiz.game.views.api_bad_request"
handler404 = "quiz.game.views.api_not_found"
handler500 = "quiz.game.views.api_server_error"
