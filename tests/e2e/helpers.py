"""Browser-test helpers: start a fresh `streamlit run`, launch Debian chromium, wait for the app.

Chromium is Debian's (/usr/bin/chromium, or $LSTMVIZ_CHROMIUM); never `playwright install`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# The machines this runs on have no network but the package registries: without the
# background-networking flags chromium keeps trying (and failing) to reach Google's hosts.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 1000}
PAGE_TIMEOUT_MS = 60_000
SERVER_START_TIMEOUT_S = 90.0  # importing torch on a 2-core machine is slow
IDLE_TIMEOUT_MS = 90_000


def chromium_path() -> str:
    """Path of the chromium binary, or a test failure (never a skip) that says how to get one."""
    path = os.environ.get("LSTMVIZ_CHROMIUM", "/usr/bin/chromium")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(
            f"Chromium not found at {path!r}: the browser tests need it and are never skipped.\n"
            "  Debian/Ubuntu: apt-get install chromium   (./dev.sh test does this when run as root)\n"
            "  elsewhere:     .venv/bin/playwright install chromium, then set LSTMVIZ_CHROMIUM to its binary",
            pytrace=False,
        )
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class StreamlitServer:
    url: str
    proc: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return "<no log>"


def _health_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as resp:
            return resp.status == 200 and resp.read().strip() == b"ok"
    except (urllib.error.URLError, OSError):
        return False


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    for sig, wait_s in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def start_server(
    script: str = "app.py",
    root: Path = ROOT,
    timeout_s: float = SERVER_START_TIMEOUT_S,
    extra_args: tuple[str, ...] = (),
) -> Iterator[StreamlitServer]:
    """A brand-new `streamlit run SCRIPT` on 127.0.0.1 and a free port, stopped on exit.

    Only /_stcore/health is asked before yielding, so the first page the test opens is the
    first page request this server ever sees.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_dir = Path(tempfile.mkdtemp(prefix="lstmviz-e2e-"))
    log_path = log_dir / "streamlit.log"
    env = dict(os.environ)
    env.update(
        PYTHONUNBUFFERED="1",
        STREAMLIT_BROWSER_GATHER_USAGE_STATS="false",
        STREAMLIT_SERVER_HEADLESS="true",
    )
    cmd = [
        sys.executable, "-m", "streamlit", "run", script,
        "--server.headless", "true",
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
        *extra_args,
    ]  # fmt: skip
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(
            cmd,
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so teardown ends all of it
        )
    server = StreamlitServer(url=url, proc=proc, log_path=log_path)
    try:
        deadline = time.monotonic() + timeout_s
        while not _health_ok(url):
            if proc.poll() is not None:
                pytest.fail(
                    f"streamlit exited with code {proc.returncode} before answering:\n{server.log()}",
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"streamlit did not answer {url}/_stcore/health in {timeout_s:.0f} s:\n{server.log()}",
                    pytrace=False,
                )
            time.sleep(0.25)
        yield server
    finally:
        _stop(proc)


# Idle means: connected, the script has finished a run, no running indicator, no stale
# element left from the previous run - and all of that for `settle` ms in a row, so a wait
# that starts just before a rerun begins does not return on the old page.
_IDLE_JS = """
([token, settle]) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const busy = !app
    || app.getAttribute('data-test-connection-state') !== 'CONNECTED'
    || app.getAttribute('data-test-script-state') !== 'notRunning'
    || document.querySelector('[data-testid="stStatusWidget"]') !== null
    || document.querySelector('[data-stale="true"]') !== null;
  const now = performance.now();
  const st = window.__lstmvizIdle;
  if (busy || !st || st.token !== token) {
    window.__lstmvizIdle = {token: token, since: busy ? null : now};
    return false;
  }
  if (st.since === null) { st.since = now; return false; }
  return now - st.since >= settle;
}
"""

_token = 0


def wait_for_idle(
    page, timeout_ms: int = IDLE_TIMEOUT_MS, settle_ms: int = 750, allow_exception: bool = False
) -> None:
    """Wait until the Streamlit app has finished running and nothing on it is stale.

    Fails with the exception's text when the page shows a Python exception, unless
    allow_exception is set.
    """
    global _token
    _token += 1
    page.wait_for_function(_IDLE_JS, arg=[_token, settle_ms], timeout=timeout_ms, polling=100)
    if not allow_exception:
        exc = page.locator('[data-testid="stException"]')
        if exc.count():
            pytest.fail(f"the page shows an exception:\n{exc.first.inner_text()}", pytrace=False)


def plotly_charts(page) -> list[dict]:
    """Title and heatmap shapes of every plotly chart on the page, in page order.

    Shapes come from gd._fullData, the data plotly drew: with plotly >= 6 a numpy array in a
    figure reaches the browser base64-encoded, and gd.data[i].z is then {dtype, bdata, shape}.
    z is [rows][cols], so for our heatmaps rows = units and cols = steps.
    """
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(gd => {
          const t = gd.layout && gd.layout.title;
          return {
            title: (t && (typeof t === 'string' ? t : t.text)) || '',
            traces: (gd._fullData || gd.data || []).map(d => ({
              type: d.type || '',
              rows: d.z && d.z.length !== undefined ? d.z.length : null,
              cols: d.z && d.z[0] && d.z[0].length !== undefined ? d.z[0].length : null,
            })),
          };
        })"""
    )
