"""Child-process entry point of the bundled model server: die with the parent, then run llama_cpp.server.

Started by :class:`providers.local.LocalModelServer` as::

    python _local_server_main.py PARENT_PID USE_PDEATHSIG -- <llama_cpp.server arguments>

Two guards make sure no orphaned server outlives the app:

- a watchdog thread that exits as soon as the process is re-parented (the parent died, however);
- on Linux, when ``USE_PDEATHSIG`` is 1, ``prctl(PR_SET_PDEATHSIG, SIGTERM)`` for an instant stop. The
  kernel sends it when the *thread* that forked us exits, so the parent asks for it only when it spawns
  from its main thread (Streamlit starts resources on short-lived script threads).

Importing this module does nothing (pytest's ``--doctest-modules`` imports it).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import MutableMapping

PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int, use_pdeathsig: bool) -> None:
    """Exit when ``parent_pid`` is no longer our parent (best effort ``prctl`` plus a polling thread)."""
    if use_pdeathsig and sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except Exception:  # no libc / no prctl: the watchdog below still works
            pass
    if os.getppid() != parent_pid:  # the parent died before we got here
        os._exit(0)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def drop_server_settings(environ: MutableMapping[str, str]) -> list[str]:
    """Remove the variables llama_cpp.server would read over its flags; return their names.

    It reads HOST, PORT and CONFIG_FILE, and any of its settings, from the environment: the app's own
    PORT (scripts/run-app.sh) made it bind the app's port. Only the flags the app passes must count.
    """
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    settings = {*ServerSettings.model_fields, *ModelSettings.model_fields, "host", "port", "config_file"}
    dropped = [name for name in environ if name.lower() in settings]
    for name in dropped:
        del environ[name]
    return dropped


def main(argv: list[str]) -> None:
    if len(argv) < 3 or "--" not in argv:
        raise SystemExit("usage: _local_server_main.py PARENT_PID USE_PDEATHSIG -- <llama_cpp.server args>")
    split = argv.index("--")
    parent_pid, use_pdeathsig = int(argv[0]), argv[1] == "1"
    server_args = argv[split + 1 :]
    die_with_parent(parent_pid, use_pdeathsig)
    # Running as a script puts providers/ first on sys.path, where errors.py or local.py could shadow a
    # top-level module of the server's dependencies: drop it.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]

    import runpy

    drop_server_settings(os.environ)
    sys.argv = ["llama_cpp.server", *server_args]
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
