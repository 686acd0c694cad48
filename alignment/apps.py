from django.apps import AppConfig


class AlignmentConfig(AppConfig):
    verbose_name = "Organisation and alignment"
    name = "alignment"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_login_failed

        from alignment.signin import count_failure

        user_login_failed.connect(count_failure, dispatch_uid="alignment.signin.count_failure")
