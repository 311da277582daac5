"""elementwise-torch: element-wise attention (EA, arXiv 2501.05730) for PyTorch.

The PyTorch twin of ``@elementwise/attention`` and ``@elementwise/models``: train with
``torch.distributed``, export weights that ``@elementwise/models`` loads in Node and browsers.
"""

from .ops import (
    MAX_ORDER,
    check_order,
    elementwise_attention,
    elementwise_attention_step,
    state_features,
    taylor_coefficients,
    zero_state,
)

__version__ = "0.0.0"

__all__ = [
    "MAX_ORDER",
    "check_order",
    "elementwise_attention",
    "elementwise_attention_step",
    "state_features",
    "taylor_coefficients",
    "zero_state",
]

from .models import ConfigError, Network, create_model, resolve_config  # noqa: E402
from .tfjs_io import load_tfjs, network_topology, save_tfjs  # noqa: E402

__all__ += ["ConfigError", "Network", "create_model", "load_tfjs", "network_topology", "resolve_config", "save_tfjs"]
