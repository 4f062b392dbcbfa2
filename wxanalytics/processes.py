"""Run a few server processes together until asked to stop or until one of them exits —
the demo (`manage.py run_demo`: web, worker, beat) and the production front
(`scripts/serve.py`: nginx and gunicorn). Standard library only: serve.py runs it before
Django is set up."""

import signal
import subprocess
import time


class Supervisor:
    """Created before the children start, so a Ctrl-C or SIGTERM that comes while they
    start up is not lost: it is seen by `watch`, and `stop` still cleans up."""

    def __init__(self) -> None:
        self.stopping = False
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)

    def _stop(self, signum, frame) -> None:
        self.stopping = True

    def watch(self, children: dict[str, subprocess.Popen], *, poll: float) -> list[str]:
        """Wait until stopped (returns []) or until children exit (returns their names)."""
        while not self.stopping:
            exited = sorted(name for name, child in children.items() if child.poll() is not None)
            if exited:
                return exited
            time.sleep(poll)
        return []

    @staticmethod
    def stop(children: list[tuple[subprocess.Popen | None, int]], *, grace: float) -> None:
        """Send each running child its stop signal, in order; kill what is still running
        after `grace` seconds in all."""
        for child, stop_signal in children:
            if child is not None and child.poll() is None:
                child.send_signal(stop_signal)
        deadline = time.monotonic() + grace
        for child, _ in children:
            if child is None:
                continue
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
