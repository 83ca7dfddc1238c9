"""The only Streamlit glue: page setup, the device control, model registry, cached traces, URL state.

Pages call these and stay thin. Zoo and demo models are cached for every session and are
read-only (eval mode, no parameter gradients, never moved or trained: each device has its own
copy). Models a user trains or uploads live in that user's st.session_state only.
"""

from lstmviz.ui.models import (
    ModelEntry,
    add_session_model,
    all_models,
    cached_trace,
    demo_module,
    model_picker,
    session_models,
)
from lstmviz.ui.state import device_control, page_setup, query_default, sync_query

__all__ = [
    "ModelEntry", "add_session_model", "all_models", "cached_trace", "demo_module", "device_control",
    "model_picker", "page_setup", "query_default", "session_models", "sync_query",
]
