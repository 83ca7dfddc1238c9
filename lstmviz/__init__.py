"""lstmviz: see inside LSTM, GRU and vanilla RNN models, step by step.

The few names most users need: `trace(module, x)` returns a `Trace` holding every gate and
state of a torch.nn.LSTM / GRU / RNN at every step.
"""

from lstmviz.trace import Trace, trace

__version__ = "0.1.0"
__all__ = ["Trace", "trace", "__version__"]
