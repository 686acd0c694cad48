from django.apps import AppConfig


class AlignmentConfig(AppConfig):
    verbose_name = "Organisation and alignment"
    name = "alignment"
    default_auto_field = "django.db.models.BigAutoField"
