"""AppTest helpers: the repository root, and figures read back from what a page drew."""

import base64
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60  # importing torch in a fresh script run is slow


def page_path(name: str) -> str:
    """Absolute path of app.py or a page under pages/."""
    return str(ROOT / name)


def figures(at) -> list[dict]:
    """Every plotly chart the page drew, as plotly JSON."""
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def array(value) -> np.ndarray:
    """A plotly data array, plain or base64-encoded ({dtype, bdata, shape}) as plotly>=6 sends numpy."""
    if isinstance(value, dict) and "bdata" in value:
        shape = value.get("shape")
        data = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        if shape is None:
            return data
        return data.reshape([int(s) for s in str(shape).split(",")] if isinstance(shape, str) else shape)
    return np.asarray(value)


def run_page(page: str, query: dict[str, str] | None = None, session: dict | None = None):
    """Run a page once as a fresh session would: session_state and URL query parameters set first."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(page, default_timeout=TIMEOUT)
    for key, value in (session or {}).items():
        at.session_state[key] = value
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def query_value(at, key: str) -> str:
    """One URL query parameter as the page left it."""
    value = at.query_params[key]
    return value[0] if isinstance(value, list) else value


def heatmaps_by_title(at) -> dict[str, dict]:
    """The page's heatmaps by title."""
    return {f["layout"]["title"]["text"]: f for f in figures(at) if f["data"] and f["data"][0]["type"] == "heatmap"}
