"""Keras 3 compatibility: the table ``conformance/keras_compat.yaml`` is the
whole truth about which Keras 3 names and class members polykeras lacks or has with another
signature, ``docs/keras-compat.md`` shows it as it is, the signature rules hold,
and layer classes show their constructor's signature.

When the first test fails after you added or changed names, run
``python -m conformance.keras_compat --write`` and commit the table and docs.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import keras_compat as kc
from conformance import keras_signatures as ks
from polykeras import cli, layers

HINT = f"run `{kc.WRITE_HINT}` (keeps every reason) and commit conformance/keras_compat.yaml and docs/keras-compat.md"


def test_the_table_lists_exactly_what_is_missing_or_differs(engine):
    findings = kc.check()
    broken = [f"{f.namespace}.{f.name}: {f.detail}" for f in findings if f.detail.startswith("reaching it raised")]
    assert not broken, ("polykeras raised while these were reached (modules from a fresh `import polykeras` "
                        "where `import keras` fails); fix them rather than list them:\n" + "\n".join(broken))
    changes = kc.table_changes(findings, kc.load_table())
    assert not changes, (f"conformance/keras_compat.yaml differs from the tree on {engine.name}; {HINT}. "
                         f"The edits, as namespace / section / name:\n  " + "\n  ".join(changes))


def test_the_docs_show_the_table_as_it_is(engine):
    text = kc.DOC.read_text()
    start, end = text.find(kc.BEGIN), text.find(kc.END) + len(kc.END)
    assert start >= 0 and end > start, "docs/keras-compat.md lost its generated-section markers"
    assert text[start:end] == kc.render_doc(kc.check(), kc.load_table()), f"docs/keras-compat.md is stale; {HINT}"


def test_every_namespace_is_covered_and_counted():
    api = kc.keras_api()
    assert {f"keras.{ns}".rstrip(".") for ns in kc.NAMESPACES} <= set(api)
    assert "keras.datasets.mnist" in api and "keras.wrappers" not in api and "src" not in api["keras"]
    counts = kc.coverage(kc.check())
    assert counts["total"]["total"] == sum(len(names) for names in api.values())
    total = counts["total"]
    assert total["ok"] + total["missing"] + total["incompatible"] == total["total"]


def _sig(fn) -> inspect.Signature:
    return inspect.signature(fn)


@pytest.mark.parametrize(("keras", "ours", "expected"), [
    (lambda x, axis=None: 0, lambda x, axis=None, *, fast=False: 0, ""),               # trailing keyword-only addition
    (lambda x, axis=None: 0, lambda x, axis=None, keepdims=False: 0, ""),              # trailing positional addition
    (lambda x, /, y: 0, lambda a, y: 0, ""),                                           # positional-only: any name
    (lambda x, *, axis=-1: 0, lambda x, axis=-1: 0, ""),                               # keyword-only may be positional
    (lambda x, strides=(1, 1): 0, lambda x, strides=1: 0, ""),                         # Keras takes 1 for (1, 1)
    (lambda x, shape=(2, 3): 0, lambda x, shape=[2, 3]: 0, ""),
    (lambda x, axis: 0, lambda x, axis=-1: 0, ""),                                     # a default where Keras has none
    (lambda x, axis=None: 0, lambda x, axis=-1: 0, "default of 'axis' is -1, Keras has None"),
    (lambda x, flag=False: 0, lambda x, flag=0: 0, "default of 'flag' is 0, Keras has False"),
    (lambda x, axis=None: 0, lambda x, axis: 0, "'axis' has no default, Keras has None"),
    (lambda x, y: 0, lambda y, x: 0,
     "'x' is at position 2, Keras has it at position 1; 'y' is at position 1, Keras has it at position 2"),
    (lambda x, y: 0, lambda x, z=0: 0, "no parameter 'y'"),
    (lambda x, axis=None, keepdims=False: 0, lambda x, keepdims=False, axis=None: 0,
     "'axis' is at position 3, Keras has it at position 2; 'keepdims' is at position 2, Keras has it at position 3"),
    (lambda x, axis=None: 0, lambda x, *, axis=None: 0, "'axis' is keyword-only, Keras has it at position 2"),
    (lambda x, y: 0, lambda x, /, y: 0, "'x' is positional-only, Keras also takes it by keyword"),
    (lambda x, *, name=None: 0, lambda x, **kwargs: 0, "no keyword parameter 'name' (only through **kwargs)"),
    (lambda x, **kwargs: 0, lambda x, name=None: 0, "no **kwargs"),
    (lambda *args: 0, lambda *, x=None: 0, "no *args"),
    (lambda x, *args: 0, lambda x, y=1, *args: 0, "extra positional parameter 'y' would take Keras's *args"),
    (lambda x: 0, lambda x, y: 0, "extra required parameter 'y'"),
])
def test_signature_rules(keras, ours, expected):
    assert ks.signature_difference(_sig(keras), _sig(ours)) == expected


def test_kinds_must_match():
    class Theirs:
        def __init__(self, units): ...

    def ours(units): ...

    assert ks.compare(ks.Entry.of(Theirs), ours) == ("incompatible", "a class in Keras, here a function")
    assert ks.compare(ks.Entry.of(os), ours) == ("incompatible", "a module in Keras, here a function")
    assert ks.compare(ks.Entry.of(ours), ks.ABSENT) == ("missing", "")
    assert ks.compare(ks.Entry.of(ours), Theirs) == ("ok", "")  # a class where Keras has a function: calls still bind


def test_keras_signatures_survive_the_trip_from_the_child_interpreter():
    def theirs(x, /, axis=None, *args, strides=(1, 1), name="conv", flag=False, **kwargs): ...

    entry = ks.Entry.of(theirs)
    assert ks.Entry.from_json(json.loads(json.dumps(entry.to_json()))) == entry
    assert kc.keras_api()["keras.layers"]["Dense"].kind == "class"
    assert str(kc.keras_api()["keras.layers"]["Dense"].signature).startswith("(units, activation=None, use_bias=True")


@pytest.mark.parametrize(("namespace", "origin", "name", "area"), [
    ("keras.ops.numpy", "ops", "trunc", "ops"),
    ("keras.applications.resnet50", "applications", "ResNet50", "layers/applications"),
    ("keras.mixed_precision", "optimizers", "LossScaleOptimizer", "numerics"),  # the namespace decides first
    ("keras.config", "dtype_policies", "dtype_policy", "numerics"),             # then where Keras defines it
    ("keras.utils", "trainers", "PyDataset", "training"),
    ("keras.utils", "utils", "pack_x_y_sample_weight", "utils"),                # else the namespace itself
    ("keras", "layers", "Layer", "layers/applications"),
    ("keras", "", "export", "export"),                                          # a module of keras: its name
])
def test_new_entries_cite_their_owning_area(namespace, origin, name, area):
    kind = "module" if name == "export" else "class"
    assert kc.Finding(namespace, name, "missing", "", kc._area(namespace, ks.Entry(kind, origin, None), name)
                      ).default_reason == f"{area}: not built yet"


def _finding(name: str, status: str, detail: str = "") -> kc.Finding:
    return kc.Finding("keras.ops", name, status, detail, "ops")


def test_table_changes_say_which_lines_to_add_remove_or_move():
    findings = [_finding("absolute", "missing"), _finding("add", "ok"),
                _finding("cumsum", "incompatible", "no parameter 'dtype'"),
                _finding("round", "missing")]
    table = {("keras.ops", "add"): ("missing", "ops: not built yet"),
             ("keras.ops", "round"): ("incompatible", "ops: signature not aligned yet"),
             ("keras.ops", "gone"): ("missing", "renamed in Keras")}
    changes = kc.table_changes(findings, table)
    assert changes[:3] == [
        'add    keras.ops / missing / absolute: "ops: not built yet"',
        "remove keras.ops / missing / add: now present and compatible",
        'add    keras.ops / incompatible / cumsum: "ops: signature not aligned yet" (no parameter \'dtype\')',
    ]
    assert changes[3] == "move   keras.ops / round from incompatible to missing"
    assert changes[4].startswith("remove keras.ops / missing / gone: not a Keras 3.")
    assert kc.table_changes(findings[:1], {("keras.ops", "absolute"): ("missing", "why")}) == []


def test_write_keeps_reasons_and_gives_new_entries_their_area(tmp_path: Path):
    table, doc = tmp_path / "table.yaml", tmp_path / "doc.md"
    table.write_text('keras.ops:\n  missing:\n    absolute: "intentional: spelled abs here"\n    gone: "x"\n')
    doc.write_text(f"# prose kept\n{kc.BEGIN}\nold\n{kc.END}\nmore prose\n")
    findings = [_finding("absolute", "missing"), _finding("yes", "missing"),
                _finding("cumsum", "incompatible", "no parameter 'dtype'"), _finding("add", "ok")]
    kc.write(findings, table, doc)
    assert kc.load_table(table) == {("keras.ops", "absolute"): ("missing", "intentional: spelled abs here"),
                                    ("keras.ops", "yes"): ("missing", "ops: not built yet"),
                                    ("keras.ops", "cumsum"): ("incompatible", "ops: signature not aligned yet")}
    text = doc.read_text()
    assert text.startswith("# prose kept\n") and text.endswith(f"{kc.END}\nmore prose\n") and "old" not in text
    assert "| missing | intentional: spelled abs here | `absolute` |" in text
    assert "| incompatible | ops: signature not aligned yet | `cumsum`: no parameter 'dtype' |" in text
    assert "**1 of 4** names" in text
    kc.write(findings, table, doc)
    assert doc.read_text() == text  # a second write changes nothing


def test_coverage_command(capsys):
    findings, table = kc.check(), kc.load_table()
    stale = bool(kc.table_changes(findings, table))
    assert cli.main(["keras-compat"]) == int(stale)  # 1 while the table differs from the tree
    out = capsys.readouterr().out
    total = kc.coverage(findings)["total"]
    assert "keras.ops.nn" in out and f"{total['ok']}/{total['total']}" in out
    assert cli.main(["keras-compat", "--missing"]) == int(stale)
    out = capsys.readouterr().out
    assert all(f" {f.name}: " in out for f in findings if f.status != "ok")


def test_polykeras_and_the_harness_import_without_keras():
    code = ("import sys; sys.modules['keras'] = None\n"
            "import polykeras, polykeras.cli, conformance.keras_compat\n"
            "from polykeras import layers, models, ops, losses, metrics, optimizers, callbacks\n"
            "assert 'keras' not in [m for m in sys.modules if sys.modules[m] is not None]\n")
    env = {**os.environ, "POLYKERAS_BACKEND": "numpy", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=kc.ROOT, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def test_layer_classes_show_their_constructor_signature(engine):
    def params(cls) -> list[str]:
        return list(inspect.signature(cls).parameters)

    assert params(layers.Dense)[:3] == ["units", "activation", "use_bias"]
    assert inspect.signature(layers.Dense).parameters["activation"].default is None
    assert inspect.signature(layers.Dense) == inspect.signature(layers.Dense.__init__).replace(
        parameters=list(inspect.signature(layers.Dense.__init__).parameters.values())[1:])

    class Scale(layers.Layer):
        """A user layer: its own ``__init__``."""

        def __init__(self, factor: float, *, trainable_factor: bool = False, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

    class Doubled(Scale):
        """No ``__init__`` of its own: inherits Scale's."""

    assert str(inspect.signature(Scale)) == "(factor: 'float', *, trainable_factor: 'bool' = False, **kwargs)"
    assert inspect.signature(Doubled) == inspect.signature(Scale)
    assert Doubled(2.0).factor == 2.0  # construction itself is unchanged
    assert "(*args" not in str(inspect.signature(layers.Dropout))


# --- class members -------------------------------------------------------------------------------------------


def test_every_core_class_has_its_members_checked():
    from conformance.keras_members import CORE

    members = kc.keras_members()
    assert list(members)[:len(CORE)] == list(CORE)
    model = members["keras.Model"]
    assert model["fit"]["kind"] == "function" and model["fit"]["engines"] == []
    assert model["jax_state_sync"]["engines"] == ["jax"]                    # Keras on one engine only
    assert sorted(model["train_step"]["engines"]) == ["jax", "tensorflow", "torch"]  # not on Keras's NumPy engine
    assert "parameters" not in members["keras.Layer"]                       # torch.nn.Module's own: not counted
    assert members["keras.Layer"]["name"]["kind"] == "value"                # a fresh instance's attribute
    dense = members["keras.layers.Dense"]
    assert set(dense) >= {"enable_lora", "kernel"} and "build" not in dense  # its own members, not Layer's
    counts = kc.coverage(kc.check(), members=True)
    assert all(counts[path]["total"] == len(members[path]) for path in CORE)


def test_member_rules():
    from conformance import keras_members as km

    class Theirs:
        size = 3

        def __init__(self):
            self.name = "x"

        def call(self, x, training=None): ...

        @property
        def weights(self): ...

        @classmethod
        def from_config(cls, config): ...

    class Ours:
        def __init__(self):
            self.name = "x"

        def call(self, x, training=None, *, fast=False): ...

        def weights(self): ...

        @classmethod
        def from_config(cls, config, custom_objects=None): ...

        def build(self):
            self.size = 3

    dumped = {name: {**km.member_entry(Theirs, name, vars(Theirs)[name]).to_json(), "engines": []}
              for name in ("size", "call", "weights", "from_config")}
    assert str(km.member_entry(Theirs, "call", vars(Theirs)["call"]).signature) == "(x, training=None)"

    def status(name, instance=None, theirs=None):
        return km.compare_member(theirs or dumped[name], km.find_member(Ours, name, instance), ks.Entry.from_json)

    assert status("call") == ("ok", "")
    assert status("from_config") == ("ok", "")
    assert status("weights") == ("incompatible", "an attribute or property in Keras, here a method")
    assert status("size") == ("ok", "")                          # assigned by a method: found without an instance
    assert status("size", instance=Ours()) == ("missing", "")    # a fresh instance decides where there is one
    assert status("name", instance=Ours(), theirs={"kind": "value", "engines": []}) == ("ok", "")
    only_jax = {**dumped["call"], "engines": ["jax"]}
    assert km.compare_member(only_jax, ks.ABSENT, ks.Entry.from_json) == ("missing", "Keras on jax only")
    state, data = ["state", "POSITIONAL_OR_KEYWORD", None], ["data", "POSITIONAL_OR_KEYWORD", None]
    per_engine = {"kind": "function", "engines": ["jax", "torch"], "params": None,
                  "variants": [["jax", {"kind": "function", "origin": "", "params": [state, data]}],
                               ["torch", {"kind": "function", "origin": "", "params": [data]}]]}
    assert status("call", theirs=per_engine) == (
        "incompatible", "no parameter 'state'; no parameter 'data'; extra required parameter 'x' (Keras on jax); "
                        "no parameter 'data'; extra required parameter 'x' (Keras on torch)")

    class Step:
        def call(self, data): ...

    assert km.compare_member(per_engine, km.find_member(Step, "call"), ks.Entry.from_json) == ("ok", "")  # torch's


_THEIR_SENTINEL, _OUR_SENTINEL = object(), object()


def test_a_private_sentinel_default_is_the_same_everywhere():
    def theirs(key, default=_THEIR_SENTINEL): ...

    def ours(key, default=_OUR_SENTINEL): ...

    entry = ks.Entry.from_json(json.loads(json.dumps(ks.Entry.of(theirs).to_json())))
    assert ks.compare(entry, ours) == ("ok", "")


def test_member_findings_are_rendered_by_reason():
    findings = [kc.Finding("keras.Layer", "quantized_call", "missing", "", "layers", member=True),
                kc.Finding("keras.Model", "quantized_call", "missing", "", "layers", member=True),
                kc.Finding("keras.Model", "jax_state_sync", "missing", "Keras on jax only", "training", member=True),
                kc.Finding("keras.Model", "fit", "ok", "", "training", member=True)]
    table = {("keras.Layer", "quantized_call"): ("missing", "intentional: internal"),
             ("keras.Model", "quantized_call"): ("missing", "intentional: internal"),
             ("keras.Model", "jax_state_sync"): ("missing", "intentional: nothing to sync")}
    lines = kc._render_members(findings, table)
    assert "| `keras.Model` | 1/3 | 2 | 0 |" in lines
    assert "| missing | intentional: internal | `quantized_call` | `keras.Layer`, `keras.Model` |" in lines  # one row
    assert "| missing | intentional: nothing to sync | `jax_state_sync`: Keras on jax only | `keras.Model` |" in lines
    assert "# Members of Keras classes" in kc.render_table(findings, table)
