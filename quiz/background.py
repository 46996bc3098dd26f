"""A daemon thread that every serving process runs beside its requests (quiz/wsgi.py starts
each); tests start and stop them around a live server."""

import threading

from django.db import connection


class BackgroundThread:
    """Started once (later calls do nothing), stopped and joined on `stop()`; `run()` works
    until `stopped` is set, and the thread's own database connection is closed after it, as
    nothing else would close it."""

    name = "background"

    def __init__(self) -> None:
        self.stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        if self._thread is not None:
            return
        self.stopped.clear()
        self._thread = threading.Thread(target=self._main, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self.stopped.set()
            thread.join()

    def _main(self) -> None:
        try:
            self.run()
        finally:
            connection.close()
