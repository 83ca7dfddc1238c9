"""The model zoo: small trained checkpoints shipped with lstmviz (`<task>-<cell>.pt`, metrics.json).

Rebuilt by `python -m lstmviz zoo build` (see lstmviz.zoo.build) and measured by `python -m lstmviz zoo
evaluate`. Importing this package is cheap: it does not import torch.
"""

from pathlib import Path

ZOO_DIR = Path(__file__).parent
DEFAULT_MODEL = "char_lm-lstm"  # the model the app opens on


def zoo_models(zoo_dir: Path = ZOO_DIR) -> dict[str, Path]:
    """Every shipped checkpoint by name ("adding-lstm", "sentiment-bilstm", …), sorted by name."""
    return {path.stem: path for path in sorted(zoo_dir.glob("*.pt"))}
