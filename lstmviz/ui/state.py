"""Page setup, the device control and URL (query-parameter) state shared by every page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st
import torch


def page_setup(title: str, icon: str = "🧠") -> None:
    """Page config for a page that must stand alone (each page may be a server's first request)."""
    st.set_page_config(page_title=f"{title} · lstmviz", page_icon=icon, layout="wide")


def device_control() -> torch.device:
    """Sidebar control: CUDA when available (default), else CPU; always says which device runs."""
    options = ["cuda", "cpu"] if torch.cuda.is_available() else ["cpu"]
    choice = st.sidebar.radio("Device", options, key="device", horizontal=True,
                              help="Models run on the GPU when one is present; switch to CPU here.")
    name = torch.cuda.get_device_name(0) if choice == "cuda" else "CPU"
    st.sidebar.caption(f"Running on **{choice}** ({name})")
    return torch.device(choice)


def query_default(key: str, default: Any, cast: Callable[[str], Any] = str,
                  valid: Callable[[Any], bool] = lambda _: True) -> None:
    """Seed st.session_state[key] from the URL on a session's first run (else from `default`).

    A value in the URL that does not cast or is not valid falls back to the default, silently:
    a shared link from an older version must still open.
    """
    if key in st.session_state:
        return
    value = default
    if key in st.query_params:
        try:
            candidate = cast(st.query_params[key])
            if valid(candidate):
                value = candidate
        except (TypeError, ValueError):
            pass
    st.session_state[key] = value


def sync_query(keys: list[str]) -> None:
    """Write the current values of `keys` into the URL, so the view can be shared and reopened."""
    for key in keys:
        value = st.session_state.get(key)
        text = "" if value is None else str(value)
        if st.query_params.get(key) != text:
            st.query_params[key] = text
