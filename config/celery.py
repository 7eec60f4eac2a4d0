import os

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("agora")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _logging_from_settings(**kwargs):
    """The worker and beat log as settings.LOGGING says (LOG_LEVEL, TASK_LOG_LEVEL), instead of
    Celery re-configuring the root logger at its --loglevel (every task run at INFO)."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
