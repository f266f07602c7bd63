"""Where Keras publishes each application's ImageNet weights, and their
hashes (data, not code): ``WEIGHTS[key] = (base URL, (top file, hash),
(no-top file, hash))``. Each family's builder passes its row to
:func:`polykeras.applications.imagenet_utils.load_weights`.

Example:
    >>> base, top, notop = WEIGHTS["resnet50"]
    >>> base + top[0]
    'https://storage.googleapis.com/tensorflow/keras-applications/resnet/resnet50_weights_tf_dim_ordering_tf_kernels.h5'
"""

from __future__ import annotations

_ROOT = "https://storage.googleapis.com/tensorflow/keras-applications/"
_TF = "_weights_tf_dim_ordering_tf_kernels"


def _keras_named(folder: str, stem: str, top_hash: str, notop_hash: str) -> tuple[str, tuple[str, str],
                                                                                 tuple[str, str]]:
    return (_ROOT + folder + "/", (f"{stem}{_TF}.h5", top_hash), (f"{stem}{_TF}_notop.h5", notop_hash))


WEIGHTS: dict[str, tuple[str, tuple[str, str], tuple[str, str]]] = {
    "resnet50": _keras_named("resnet", "resnet50", "2cb95161c43110f7111970584f804107",
                             "4d473c1dd8becc155b73f8504c6f6626"),
    "resnet101": _keras_named("resnet", "resnet101", "f1aeb4b969a6efcfb50fad2f0c20cfc5",
                              "88cf7a10940856eca736dc7b7e228a21"),
    "resnet152": _keras_named("resnet", "resnet152", "100835be76be38e30d865e96f2aaae62",
                              "ee4c566cf9a93f14d82f913c2dc6dd0c"),
    "resnet50v2": _keras_named("resnet", "resnet50v2", "3ef43a0b657b3be2300d5770ece849e0",
                               "fac2f116257151a9d068a22e544a4917"),
    "resnet101v2": _keras_named("resnet", "resnet101v2", "6343647c601c52e1368623803854d971",
                                "c0ed64b8031c3730f411d2eb4eea35b5"),
    "resnet152v2": _keras_named("resnet", "resnet152v2", "a49b44d1979771252814e80f8ec446f9",
                                "ed17cf2e0169df9d443503ef94b23b33"),
    "vgg16": _keras_named("vgg16", "vgg16", "64373286793e3c8b2b4e3219cbf3544b", "6d6bbae143d832006294945121d1f1fc"),
    "vgg19": _keras_named("vgg19", "vgg19", "cbe5617147190e668d6c5d5026f83318", "253f8cb515780f3b799900260a226db6"),
    "densenet121": _keras_named("densenet", "densenet121", "9d60b8095a5708f2dcce2bca79d332c7",
                                "30ee3e1110167f948a6b9946edeeb738"),
    "densenet169": _keras_named("densenet", "densenet169", "d699b8f76981ab1b30698df4c175e90b",
                                "b8c4d4c20dd625c148057b9ff1c1176b"),
    "densenet201": _keras_named("densenet", "densenet201", "1ceb130c1ea1b78c3bf6114dbdfd8807",
                                "c13680b51ded0fb44dff2d8f86ac8bb1"),
    "xception": _keras_named("xception", "xception", "0a58e3b7378bc2990ea3b43d5981f1f6",
                             "b0042744bf5b25fce3cb969f33bebb97"),
    "inception_v3": _keras_named("inception_v3", "inception_v3", "9a0d58056eeedaa3f26cb7ebd46da564",
                                 "bcbd6486424b2319ff4ef7d526e38f63"),
    "inception_resnet_v2": _keras_named("inception_resnet_v2", "inception_resnet_v2",
                                        "e693bd0210a403b3192acc6073ad2e96", "d19885ff4a710c122648d3b5c3b684e4"),
    **{
        f"convnext_{size}": (_ROOT + "convnext/", (f"convnext_{size}.h5", top), (f"convnext_{size}_notop.h5", notop))
        for size, top, notop in [
            ("tiny", "8ae6e78ce2933352b1ef4008e6dd2f17bc40771563877d156bc6426c7cf503ff",
             "d547c096cabd03329d7be5562c5e14798aa39ed24b474157cef5e85ab9e49ef1"),
            ("small", "ce1277d8f1ee5a0ef0e171469089c18f5233860ceaf9b168049cb9263fd7483c",
             "6fc8009faa2f00c1c1dfce59feea9b0745eb260a7dd11bee65c8e20843da6eab"),
            ("base", "52cbb006d3dadd03f6e095a8ca1aca47aecdd75acb4bc74bce1f5c695d0086e6",
             "40a20c5548a5e9202f69735ecc06c990e6b7c9d2de39f0361e27baeb24cb7c45"),
            ("large", "070c5ed9ed289581e477741d3b34beffa920db8cf590899d6d2c67fba2a198a6",
             "96f02b6f0753d4f543261bc9d09bed650f24dd6bc02ddde3066135b63d23a1cd"),
            ("xlarge", "c1f5ccab661354fc3a79a10fa99af82f0fbf10ec65cb894a3ae0815f17a889ee",
             "de3f8a54174130e0cecdc71583354753d557fcf1f4487331558e2a16ba0cfe05"),
        ]
    },
}


def load(model: object, weights: object, key: str, include_top: bool) -> None:
    """Load ``weights`` (None, "imagenet" or a path) into ``model``, the
    ImageNet file being row ``key``'s top or no-top file.
    Example: ``load(model, "imagenet", "resnet50", include_top=False)``"""
    from polykeras.applications.imagenet_utils import load_weights

    base, top, notop = WEIGHTS[key]
    fname, file_hash = top if include_top else notop
    load_weights(model, weights, fname, file_hash, base_url=base)
