from django.apps import AppConfig


class CheckinsConfig(AppConfig):
    verbose_name = "Check-ins"
    name = "checkins"
    default_auto_field = "django.db.models.BigAutoField"
