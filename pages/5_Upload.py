"""Upload: bring your own nn.LSTM / GRU / RNN state_dict or lstmviz checkpoint into this session."""

from pathlib import Path

import streamlit as st

from lstmviz.checkpoints import MAX_CHECKPOINT_BYTES, CheckpointError, load_checkpoint
from lstmviz.ui import add_session_model, device_control, page_setup, session_models
from lstmviz.ui.training import settle_job, your_models
from lstmviz.vocab import MAX_VOCAB_BYTES, VocabError, check_vocab_fits, parse_vocab

ADDED_KEY = "lstmviz_upload_added"  # (file id, nonlinearity, vocabulary file id) -> session model id

page_setup("Upload")
device_control()
settle_job()  # training interrupted by coming here keeps the models trained so far
limit_mb = MAX_CHECKPOINT_BYTES // 2**20

st.title("Bring your own model")
st.markdown(
    "Upload either a plain `torch.save(module.state_dict(), 'model.pt')` of a `torch.nn.LSTM`, `GRU` or `RNN`, "
    "or a checkpoint written by `python -m lstmviz train`. The file is read as **data only** "
    "(`torch.load(weights_only=True)`): a file holding Python objects or code is refused, never run. "
    f"Every shape is checked. Files up to **{limit_mb} MB**. The model stays in this browser session only."
)

left, right = st.columns(2)
file = left.file_uploader(f"Checkpoint (.pt, up to {limit_mb} MB)", key="upload_file",
                          max_upload_size=limit_mb)
nonlinearity = left.radio("Nonlinearity of a bare nn.RNN", ["tanh", "relu"], horizontal=True, key="upload_nl",
                          help="A plain RNN state_dict cannot tell tanh from relu; lstmviz checkpoints say it.")
vocab_file = right.file_uploader("Vocabulary (optional): one token per line", key="upload_vocab",
                                 max_upload_size=max(1, MAX_VOCAB_BYTES // 2**20))
right.caption("For token inputs. An lstmviz token model needs one token per embedding row; a bare module "
              "reads one-hot vectors, so it needs exactly input-size tokens. Write `\\n` for a new line.")
name = right.text_input("Name (optional)", key="upload_name", max_chars=80)


def upload() -> None:
    """Load the chosen file (and vocabulary), show its configuration, add it to this session."""
    try:
        loaded = load_checkpoint(file.getvalue(), nonlinearity=nonlinearity)
        if vocab_file is not None:
            loaded.vocab = parse_vocab(vocab_file.getvalue())
            check_vocab_fits(loaded.vocab, loaded)
    except (CheckpointError, VocabError) as err:
        what = vocab_file.name if isinstance(err, VocabError) else file.name
        st.error(f"Could not use {what}: {err}. Nothing was added; your other models are kept.")
        return
    spec, model = loaded.spec, loaded.model or loaded.module
    config = {
        "format": "lstmviz checkpoint" if loaded.model is not None else "bare state_dict",
        "kind": spec.kind.upper(), "input size": spec.input_size, "hidden size": spec.hidden_size,
        "layers": spec.num_layers, "bidirectional": spec.bidirectional, "proj_size": spec.proj_size,
        "bias": spec.bias, "nonlinearity": spec.nonlinearity if spec.kind == "rnn" else "—",
        "parameters": f"{sum(p.numel() for p in model.parameters()):,}",
        "task": loaded.task or "—", "vocabulary": f"{len(loaded.vocab)} tokens" if loaded.vocab else "—",
    }
    config |= {f"metric: {k}": f"{v:.4g}" for k, v in loaded.metrics.items()}
    st.subheader("Inferred configuration")
    st.table({"setting": list(config), "value": [str(v) for v in config.values()]})

    label = name.strip() or f"{Path(file.name).stem} ({spec.kind.upper()} {spec.hidden_size})"
    added = st.session_state.setdefault(ADDED_KEY, {})
    fingerprint = (file.file_id, nonlinearity, vocab_file.file_id if vocab_file is not None else None)
    if added.get(fingerprint) in session_models():  # the same upload again: only the name may change
        session_models()[added[fingerprint]] = (label, session_models()[added[fingerprint]][1])
    else:
        added[fingerprint] = add_session_model(label, loaded)
    st.success(f"Added **{label}** to your models: pick it on any page (listed as *yours · {label}*).")


if file is None:
    st.info("Choose a checkpoint file to see its configuration.")
else:
    upload()

st.subheader("Your models in this session")
your_models()
