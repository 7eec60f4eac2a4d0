"""The embedded mode's folders (SQLite file, file-system Celery broker), created when Django
starts rather than when settings are imported."""

from pathlib import Path

from django.conf import settings


def embedded_dirs_create() -> None:
    for folder in getattr(settings, "EMBEDDED_DIRS", []):
        Path(folder).mkdir(parents=True, exist_ok=True)
