"""SwapEMAWeights (evaluate/predict/epoch ends run on the optimizer's moving
averages, the raw weights come back after) and RemoteMonitor (one POST per
epoch to a server on 127.0.0.1, form or JSON, as Keras 3 sends them)."""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pytest

from polykeras import callbacks, layers, ops, optimizers
from polykeras.callbacks import CallbackList
from polykeras.models import Sequential

X = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
Y = X.sum(axis=1, keepdims=True)


def _model_with_averages(optimizer=None):
    """A model whose optimizer keeps averages that differ from the weights."""
    model = Sequential([layers.Input((3,)), layers.Dense(2, name="a"), layers.Dense(1, name="b")])
    optimizer = optimizer or optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5)
    model.compile(optimizer=optimizer, loss="mse")
    optimizer.build(model.trainable_variables)
    rng = np.random.default_rng(1)
    for _ in range(3):
        optimizer.apply([ops.convert_to_tensor(rng.normal(size=v.shape).astype("float32"))
                         for v in model.trainable_variables], model.trainable_variables)
    return model


def _averages(model):
    optimizer = model.optimizer
    subs = optimizer.optimizers if hasattr(optimizer, "optimizers") else [optimizer]
    found = {}
    for sub in subs:
        if sub.use_ema:
            for v, a in zip(sub._trainable_variables, sub._averages):
                found[v.path] = ops.convert_to_numpy(a.value)
    return [found.get(v.path, ops.convert_to_numpy(v.value)) for v in model.trainable_variables]


def _loss_at(model, weights):
    held = model.get_weights()
    model.set_weights(weights)
    loss = model.evaluate(X, Y, verbose=0)
    model.set_weights(held)
    return loss


def test_evaluate_and_predict_use_the_averages(engine):
    model = _model_with_averages()
    raw, averages = model.get_weights(), _averages(model)
    assert not np.allclose(raw[0], averages[0])
    expected = _loss_at(model, averages)
    assert model.evaluate(X, Y, verbose=0, callbacks=[callbacks.SwapEMAWeights()]) == pytest.approx(expected, 1e-5)
    for now, before in zip(model.get_weights(), raw):
        np.testing.assert_array_equal(now, before)
    held = model.get_weights()
    model.set_weights(averages)
    expected_prediction = model.predict(X, verbose=0)
    model.set_weights(held)
    np.testing.assert_allclose(model.predict(X, verbose=0, callbacks=[callbacks.SwapEMAWeights()]),
                               expected_prediction, rtol=1e-5)
    for now, before in zip(model.get_weights(), raw):  # swapped back (Keras 3.15 leaves the averages in)
        np.testing.assert_array_equal(now, before)


def test_multi_optimizer_swaps_only_its_ema_optimizers(engine):
    multi = optimizers.MultiOptimizer(optimizers.OptimizerMap(optimizers.SGD(0.1),
                                                              {"a/.*": optimizers.SGD(0.1, use_ema=True,
                                                                                      ema_momentum=0.5)}))
    model = _model_with_averages(multi)
    averages = _averages(model)
    assert model.evaluate(X, Y, verbose=0, callbacks=[callbacks.SwapEMAWeights()]) == pytest.approx(
        _loss_at(model, averages), 1e-5)


def test_needs_an_ema_optimizer(engine):
    model = Sequential([layers.Input((3,)), layers.Dense(1)])
    model.compile(optimizer=optimizers.SGD(), loss="mse")
    swap = callbacks.SwapEMAWeights()
    swap.set_model(model)
    with pytest.raises(ValueError, match="expected an optimizer with use_ema=True, received SGD"):
        swap.on_train_begin()


def test_swap_on_epoch_through_fit(diff_engine):
    model = Sequential([layers.Input((3,)), layers.Dense(1)])
    model.compile(optimizer=optimizers.SGD(0.05, use_ema=True, ema_momentum=0.5), loss="mse")
    seen = []
    record = callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append((model.get_weights(), _raw_and_averages(model))))
    model.fit(X, Y, epochs=2, batch_size=4, verbose=0, callbacks=[callbacks.SwapEMAWeights(swap_on_epoch=True),
                                                                   record])
    first_weights, (_, first_slots) = seen[0]
    # at epoch 0's end the model holds the averages, and the slots the raw weights
    assert not np.allclose(first_weights[0], first_slots[0])
    final = model.get_weights()
    np.testing.assert_allclose(final[0], seen[-1][0][0], rtol=1e-6)  # the last epoch's averages stay in


def _raw_and_averages(model):
    return None, [ops.convert_to_numpy(a.value) for a in model.optimizer._averages]


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, dict, bytes]] = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Collector.received.append((self.path, dict(self.headers), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Collector.received = []
    httpd = HTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", _Collector.received
    httpd.shutdown()
    httpd.server_close()


def test_remote_monitor_posts_each_epoch(engine, server):
    root, received = server
    form = callbacks.RemoteMonitor(root=root, path="/events/", field="payload", headers={"X-Run": "7"})
    as_json = callbacks.RemoteMonitor(root=root, send_as_json=True)
    hooks = CallbackList([form, as_json])
    for epoch in range(2):
        hooks.on_epoch_end(epoch, {"loss": np.float32(0.5 / (epoch + 1)), "val_loss": 0.25})
    assert [path for path, _, _ in received] == ["/events/", "/publish/epoch/end/"] * 2
    path, headers, body = received[2]
    assert headers["X-Run"] == "7" and headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert json.loads(urllib.parse.parse_qs(body.decode())["payload"][0]) == {"epoch": 1, "loss": 0.25,
                                                                              "val_loss": 0.25}
    _, headers, body = received[3]
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"epoch": 1, "loss": 0.25, "val_loss": 0.25}


def test_remote_monitor_warns_when_unreachable(engine):
    monitor = callbacks.RemoteMonitor(root="http://127.0.0.1:9")  # the discard port: nothing listens
    with pytest.warns(UserWarning, match="could not reach the root server at http://127.0.0.1:9"):
        monitor.on_epoch_end(0, {"loss": 1.0})
