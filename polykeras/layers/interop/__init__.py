"""Native modules as polykeras layers, with Keras 3's names and signatures:
``TorchModuleWrapper`` (a ``torch.nn.Module``), ``JaxLayer`` (a JAX
function), ``FlaxLayer`` (a Flax linen module) and ``TFSMLayer`` (a
TensorFlow SavedModel endpoint). Each reaches its framework only through the
active engine's ``interop`` bridge (``polykeras/backends/<framework>/interop.py``);
see docs/interop.md for which engine runs which.

Example:
    >>> from polykeras.layers import TorchModuleWrapper
    >>> layer = TorchModuleWrapper(torch.nn.Linear(4, 2))
"""

from polykeras.layers.interop.jax_layer import FlaxLayer, JaxLayer
from polykeras.layers.interop.tfsm_layer import TFSMLayer
from polykeras.layers.interop.torch_module_wrapper import TorchModuleWrapper

__all__ = ["FlaxLayer", "JaxLayer", "TFSMLayer", "TorchModuleWrapper"]
