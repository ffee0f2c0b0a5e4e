from __future__ import annotations

import os
from urllib.parse import urlsplit

from celery import Celery, Task, signals
from kombu.exceptions import OperationalError

from bzpeer.breaker import breaker_for

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bzpeer.settings")


class BreakerTask(Task):
    """Publishing goes through the broker's circuit breaker (bzpeer/breaker.py): after a
    failure (a stopped or hung Redis), web requests stop trying to queue work for a few
    seconds and get the usual "unavailable" path at once."""

    abstract = True

    def apply_async(self, *args, **kwargs):
        url = urlsplit(self.app.conf.broker_url or "")
        breaker = breaker_for(f"Celery broker at {url.hostname}:{url.port}{url.path}")
        if not breaker.allow():
            raise OperationalError("The broker failed moments ago; not trying again yet.")
        try:
            result = super().apply_async(*args, **kwargs)
        except Exception as error:
            breaker.failed(error)
            raise
        breaker.succeeded()
        return result


app = Celery("bzpeer", task_cls=BreakerTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.celeryd_init.connect
def _worker_broker_timeouts(conf=None, **kwargs) -> None:
    # Web processes publish with REDIS_TIMEOUT (a fraction of a second); the worker's own
    # reads and acks on a busy broker get the patience they need.
    conf.broker_transport_options = {
        **(conf.broker_transport_options or {}),
        "socket_timeout": 5,
        "socket_connect_timeout": 2,
    }
    conf.broker_connection_timeout = 4
