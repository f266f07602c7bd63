"""``TorchModuleWrapper``: a ``torch.nn.Module`` as a polykeras layer, as
Keras 3's. Its parameters (and persistent buffers, non-trainable) become the
layer's variables, named by their ``state_dict`` keys; on the torch engine
they share one storage with the module, so ``fit`` trains the module itself.
The layer reaches torch only through the engine's ``interop("torch", ...)``
bridge: natively on the torch engine, through NumPy on the NumPy engine
(forward only), and elsewhere a ``NotImplementedError`` naming the layer.

Saving stores the module in the config as ``torch.save`` bytes (base64), as
Keras does; loading them unpickles, so it is refused in safe mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from polykeras import backends
from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.layers.interop._common import add_weight_from, refuse_in_safe_mode
from polykeras.layers.layer import Layer

__all__ = ["TorchModuleWrapper"]


class TorchModuleWrapper(Layer):
    """A ``torch.nn.Module`` used as a layer: called with the layer's inputs,
    its weights tracked, trained by ``fit`` and saved with the model.

    Args:
        module: a ``torch.nn.Module`` with its parameters made (a lazy module
            must be called once first).
        name: the layer's name.
        output_shape: the output shape, for ``compute_output_shape``
            (default: found by evaluating the module abstractly).

    Example:
        >>> layer = TorchModuleWrapper(torch.nn.Linear(4, 2))
        >>> model = polykeras.Sequential([polykeras.Input((4,)), layer])
        >>> model.compile("adam", "mse"); model.fit(x, y)       # trains the Linear's own weight
    """

    def __init__(self, module: Any, name: str | None = None, output_shape: Any = None, **kwargs: Any):
        super().__init__(name=name, **kwargs)
        who = describe_layer(self)
        self._bridge = backends.active().interop("torch", who)
        self._bridge.check_module(module, who)
        self.module = module
        self.output_shape = output_shape
        self._names: list[str] = []
        for key, value, trainable in self._bridge.state(module):
            variable = add_weight_from(self, key, value, trainable)
            self._bridge.share(module, key, variable.handle)
            self._names.append(key)
        self.built = True

    def call(self, *args: Any, training: bool | None = None, **kwargs: Any) -> Any:
        variables = dict(zip(self._names, self.variables))
        values = {key: v.value for key, v in variables.items()}
        outputs = self._bridge.call(backends.active(), self.module, values, args, kwargs, training)
        if training is not False:  # buffers the module updated in place (BatchNorm's statistics)
            for key, v in variables.items():
                if not v.trainable and values[key] is not v.handle:
                    v.assign(values[key])
        return outputs

    def compute_output_shape(self, *args: Any, **kwargs: Any) -> Any:
        if self.output_shape is None:
            return super().compute_output_shape(*args, **kwargs)
        return self.output_shape

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"module": self._bridge.dumps(self.module), "output_shape": self.output_shape})
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Mapping[str, Any] | None = None,
                    safe_mode: bool | None = None) -> TorchModuleWrapper:
        """Refused in safe mode: the module comes back through ``torch.load``
        (a pickle). Example: ``with safe_mode(False): TorchModuleWrapper.from_config(cfg)``"""
        config = dict(config)
        who = f"TorchModuleWrapper '{config.get('name', 'torch_module_wrapper')}'"
        module = config.get("module")
        if isinstance(module, str):
            refuse_in_safe_mode(who, "a torch.nn.Module saved with torch.save (unpickled by torch.load)", safe_mode)
            config["module"] = backends.active().interop("torch", who).loads(module)
        return cls(**config)
