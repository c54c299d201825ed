"""cr.fit: the History it returns, the sample-weighted epoch loss, train/eval modes,
metrics, callbacks and EarlyStopping, the progress bar's silence off a terminal, and
training that works (hand-made model and optimizer, then chainrule's nn and optim)."""

from __future__ import annotations

import io
import re
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import DataLoader, TensorDataset, load_dataset
from chainrule.train import accuracy, r2


# ---------------------------------------------------------------- hand-made model and optimizer
class TinyLinear:
    """x @ w + b with PyTorch's protocol; records the mode and grad mode of every call."""

    def __init__(self, d_in: int, d_out: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.w = cr.tensor((0.1 * rng.standard_normal((d_in, d_out))).astype(np.float32),
                           requires_grad=True)
        self.b = cr.tensor(np.zeros(d_out, dtype=np.float32), requires_grad=True)
        self.training = True
        self.calls: list[tuple[bool, bool]] = []

    def __call__(self, x: cr.Tensor) -> cr.Tensor:
        self.calls.append((self.training, cr.is_grad_enabled()))
        return x @ self.w + self.b

    def parameters(self) -> list[cr.Tensor]:
        return [self.w, self.b]

    def train(self) -> TinyLinear:
        self.training = True
        return self

    def eval(self) -> TinyLinear:
        self.training = False
        return self

    def state_dict(self) -> dict[str, cr.Tensor]:
        return {"w": self.w.detach(), "b": self.b.detach()}

    def load_state_dict(self, state: dict) -> None:
        self.w.data = np.array(state["w"].data, copy=True)
        self.b.data = np.array(state["b"].data, copy=True)


class TinySGD:
    """θ ← θ − α∇J, in place on the parameters' arrays."""

    def __init__(self, params: list[cr.Tensor], lr: float) -> None:
        self.params, self.lr = list(params), lr
        self.steps = 0

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        self.steps += 1
        for p in self.params:
            p.data = p.data - self.lr * p.grad.data


def mse(pred: cr.Tensor, target: cr.Tensor) -> cr.Tensor:
    return ((pred - target) ** 2).mean()


def cross_entropy(logits: cr.Tensor, target: cr.Tensor) -> cr.Tensor:
    rows = np.arange(logits.shape[0])
    return -logits.log_softmax(axis=-1)[rows, target.numpy()].mean()


def _regression_loader(n: int = 10, batch_size: int = 4) -> DataLoader:
    rng = np.random.default_rng(1)
    X = rng.standard_normal((n, 3)).astype(np.float32)
    y = (X @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32) + 0.3).astype(np.float32)
    return DataLoader(TensorDataset(X, y), batch_size=batch_size)


def _iris_loaders(batch_size: int = 16) -> tuple[DataLoader, DataLoader]:
    (X, y), (X_test, y_test) = load_dataset("iris")
    train = DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True, seed=0)
    return train, DataLoader(TensorDataset(X_test, y_test), batch_size=64)


def _full_loss(model: TinyLinear, loader: DataLoader) -> float:
    X, y = loader.dataset.tensors
    with cr.no_grad():
        return float(mse(X @ model.w + model.b, y).item())


# ---------------------------------------------------------------- History and the loss
def test_history_has_one_entry_per_epoch_for_every_key():
    train, val = _iris_loaders()
    model = TinyLinear(4, 3)

    def top_class_share(pred, target):
        return float(np.mean(pred.numpy().argmax(axis=1) == 0))

    history = cr.fit(model, cross_entropy, TinySGD(model.parameters(), 0.1), train, 4,
                     val_loader=val, metrics=["accuracy", top_class_share], progress=False)
    assert isinstance(history, cr.History)
    assert set(history.history) == {"loss", "accuracy", "top_class_share", "val_loss",
                                    "val_accuracy", "val_top_class_share", "time"}
    assert list(history.history) == ["loss", "accuracy", "top_class_share", "val_loss",
                                     "val_accuracy", "val_top_class_share", "time"]  # Keras's
    assert all(len(values) == 4 for values in history.history.values())
    assert history.epoch == [0, 1, 2, 3]
    assert all(isinstance(v, float) for values in history.history.values() for v in values)
    assert all(t >= 0 for t in history.history["time"])
    assert history["loss"] == history.history["loss"]


def test_without_val_loader_there_is_no_val_loss():
    model = TinyLinear(3, 1)
    history = cr.fit(model, mse, TinySGD(model.parameters(), 0.01), _regression_loader(), 2,
                     progress=False)
    assert set(history.history) == {"loss", "time"}


def test_epoch_loss_is_the_sample_weighted_mean_of_batch_losses():
    # With lr = 0 nothing moves, so the epoch's loss must equal the loss on all 10 samples;
    # a plain mean of the batch means (batches of 4, 4 and 2) would not.
    loader = _regression_loader(n=10, batch_size=4)
    model = TinyLinear(3, 1)
    history = cr.fit(model, mse, TinySGD(model.parameters(), 0.0), loader, 1,
                     val_loader=loader, progress=False)
    expected = _full_loss(model, loader)
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-5)
    assert history.history["val_loss"][0] == pytest.approx(expected, rel=1e-5)
    batch_means = [float(mse(x @ model.w + model.b, y).item()) for x, y in loader]
    assert np.mean(batch_means) != pytest.approx(expected, rel=1e-3)


def test_each_batch_takes_one_optimizer_step_and_the_loss_falls():
    loader = _regression_loader(n=10, batch_size=4)
    model = TinyLinear(3, 1)
    optimizer = TinySGD(model.parameters(), 0.05)
    history = cr.fit(model, mse, optimizer, loader, 30, progress=False)
    assert optimizer.steps == 30 * 3
    losses = history.history["loss"]
    assert losses[-1] < 0.05 * losses[0]


def test_gradient_descent_fits_the_textbook_line():
    (X, y), _ = load_dataset("seed_linear")
    model = TinyLinear(1, 1)
    model.w, model.b = cr.zeros(1, 1, dtype=np.float64, requires_grad=True), cr.zeros(
        1, dtype=np.float64, requires_grad=True)
    loader = DataLoader(TensorDataset(X, y), batch_size=4)
    cr.fit(model, mse, TinySGD(model.parameters(), 0.1), loader, 500, progress=False)
    assert model.w.item() == pytest.approx(2.0, abs=1e-5)
    assert model.b.item() == pytest.approx(0.0, abs=1e-5)


def test_train_mode_with_grad_while_training_eval_mode_without_grad_for_validation():
    loader = _regression_loader(n=8, batch_size=4)
    model = TinyLinear(3, 1)
    cr.fit(model, mse, TinySGD(model.parameters(), 0.01), loader, 2, val_loader=loader,
           progress=False)
    # Per epoch: two training batches, then two validation batches.
    assert model.calls == [(True, True)] * 2 + [(False, False)] * 2 + \
        [(True, True)] * 2 + [(False, False)] * 2
    assert model.training  # the mode it had before fit
    model.eval()
    cr.fit(model, mse, TinySGD(model.parameters(), 0.01), loader, 1, val_loader=loader,
           progress=False)
    assert not model.training


def test_fit_accepts_a_plain_function_as_the_model():
    w = cr.zeros(3, 1, requires_grad=True)
    history = cr.fit(lambda x: x @ w, mse, TinySGD([w], 0.05), _regression_loader(), 3,
                     progress=False)
    assert len(history.history["loss"]) == 3 and np.abs(w.numpy()).sum() > 0


def test_zero_epochs_returns_an_empty_history():
    model = TinyLinear(3, 1)
    history = cr.fit(model, mse, TinySGD(model.parameters(), 0.1), _regression_loader(), 0)
    assert history.history == {} and history.epoch == []


# ---------------------------------------------------------------- metrics
def test_metrics_use_the_validation_data_when_given():
    train, val = _iris_loaders()
    model = TinyLinear(4, 3)
    history = cr.fit(model, cross_entropy, TinySGD(model.parameters(), 0.0), train, 1,
                     val_loader=val, metrics=["accuracy"], progress=False)
    X_test, y_test = val.dataset.tensors
    expected = np.mean((X_test.numpy() @ model.w.numpy()).argmax(1) == y_test.numpy())
    assert history.history["val_accuracy"][0] == pytest.approx(expected)


def test_with_a_validation_loader_metrics_are_named_as_keras_names_them():
    # "accuracy" is the training batches' figure, "val_accuracy" the validation data's.
    train, val = _iris_loaders()
    model = TinyLinear(4, 3)
    history = cr.fit(model, cross_entropy, TinySGD(model.parameters(), 0.0), train, 1,
                     val_loader=val, metrics=["accuracy"], progress=False)
    (X, y), (X_val, y_val) = train.dataset.tensors, val.dataset.tensors
    on_train = np.mean((X.numpy() @ model.w.numpy()).argmax(1) == y.numpy())
    on_val = np.mean((X_val.numpy() @ model.w.numpy()).argmax(1) == y_val.numpy())
    assert on_train != pytest.approx(on_val)  # the two figures can be told apart
    assert history.history["accuracy"][0] == pytest.approx(on_train)
    assert history.history["val_accuracy"][0] == pytest.approx(on_val)


def test_early_stopping_can_monitor_the_validation_accuracy():
    train, val = _iris_loaders()
    model = TinyLinear(4, 3)
    stopper = cr.EarlyStopping(monitor="val_accuracy", mode="max", patience=2)
    history = cr.fit(model, cross_entropy, TinySGD(model.parameters(), 0.0), train, 10,
                     val_loader=val, metrics=["accuracy"], callbacks=[stopper], progress=False)
    assert stopper.stopped_epoch == 2 and len(history) == 3  # lr 0: never improves after 0
    assert stopper.best == history.history["val_accuracy"][0]


def test_early_stopping_says_what_fit_needs_for_its_monitor():
    train, val = _iris_loaders()
    model = TinyLinear(4, 3)
    args = (model, cross_entropy, TinySGD(model.parameters(), 0.0), train, 1)
    with pytest.raises(ValueError, match=r"pass val_loader to fit"):
        cr.fit(*args, metrics=["accuracy"], progress=False,
               callbacks=[cr.EarlyStopping(monitor="val_accuracy", mode="max")])
    with pytest.raises(ValueError, match=r"pass metrics=\['accuracy'\] to fit"):
        cr.fit(*args, val_loader=val, progress=False,
               callbacks=[cr.EarlyStopping(monitor="val_accuracy", mode="max")])


def test_metrics_use_the_training_data_without_a_validation_loader():
    train, _ = _iris_loaders()
    model = TinyLinear(4, 3)
    history = cr.fit(model, cross_entropy, TinySGD(model.parameters(), 0.0), train, 1,
                     metrics="accuracy", progress=False)
    X, y = train.dataset.tensors
    expected = np.mean((X.numpy() @ model.w.numpy()).argmax(1) == y.numpy())
    assert history.history["accuracy"][0] == pytest.approx(expected)


def test_r2_metric_on_regression():
    loader = _regression_loader(n=40, batch_size=8)
    model = TinyLinear(3, 1)
    history = cr.fit(model, mse, TinySGD(model.parameters(), 0.05), loader, 40,
                     val_loader=loader, metrics=["r2"], progress=False)
    assert history.history["r2"][-1] > 0.99
    assert history.history["r2"][0] < history.history["r2"][-1]


def test_accuracy_takes_the_argmax_of_multiclass_outputs():
    logits = cr.tensor([[2.0, 1.0, 0.0], [0.0, 0.0, 3.0], [1.0, 2.0, 0.0], [5.0, 0.0, 0.0]])
    assert accuracy(logits, cr.tensor([0, 2, 0, 0])) == pytest.approx(0.75)
    one_hot = cr.tensor(np.eye(3)[[0, 2, 1, 1]])
    assert accuracy(logits, one_hot) == pytest.approx(0.75)


def test_binary_accuracy_thresholds_logits_at_zero():
    logits = cr.tensor([-3.0, -0.1, 0.2, 4.0])
    target = cr.tensor([0.0, 1.0, 1.0, 1.0])
    assert accuracy(logits, target) == pytest.approx(0.75)
    assert accuracy(logits.reshape(4, 1), target.reshape(4, 1)) == pytest.approx(0.75)
    assert accuracy(logits.reshape(4, 1), cr.tensor([0, 1, 1, 1])) == pytest.approx(0.75)


def test_accuracy_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="accuracy: predictions of shape"):
        accuracy(cr.zeros(4, 3), cr.tensor([0, 1]))


def test_r2_agrees_with_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    y = rng.standard_normal((20, 2))
    pred = y + 0.3 * rng.standard_normal((20, 2))
    assert r2(pred, y) == pytest.approx(metrics.r2_score(y, pred))
    assert r2(pred[:, :1], y[:, 0]) == pytest.approx(metrics.r2_score(y[:, 0], pred[:, 0]))
    assert r2(np.full(5, 3.0), np.full(5, 3.0)) == 1.0


def test_bad_metrics_are_rejected():
    model = TinyLinear(3, 1)
    args = (model, mse, TinySGD(model.parameters(), 0.1), _regression_loader(), 1)
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        cr.fit(*args, metrics=["f1"], progress=False)
    with pytest.raises(ValueError, match="'r2' is used twice"):
        cr.fit(*args, metrics=["r2", r2], progress=False)
    with pytest.raises(TypeError, match="a metric must be a str or a callable"):
        cr.fit(*args, metrics=[3], progress=False)


def test_a_metric_may_not_take_another_metrics_validation_name():
    model = TinyLinear(3, 1)
    args = (model, mse, TinySGD(model.parameters(), 0.1), _regression_loader(), 1)

    def val_r2(pred, target):
        return 0.0

    with pytest.raises(ValueError, match="'val_r2' is used twice or is reserved"):
        cr.fit(*args, metrics=["r2", val_r2], progress=False)
    with pytest.raises(ValueError, match="'r2' is used twice or is reserved"):
        cr.fit(*args, metrics=[val_r2, "r2"], progress=False)


# ---------------------------------------------------------------- divergence
def _diverging_fit(model=None, epochs: int = 50, lr: float = 50.0, **kwargs):
    from chainrule import nn, optim

    cr.manual_seed(0)
    model = nn.Linear(3, 1) if model is None else model
    optimizer = optim.SGD(model.parameters(), lr=lr)
    return cr.fit(model, lambda p, t: ((p - t) ** 2).mean(), optimizer,
                  _regression_loader(n=10, batch_size=4), epochs, progress=False, **kwargs)


def test_a_loss_that_stops_being_finite_stops_fit_naming_epoch_step_and_lr():
    # pytest turns warnings into errors: the overflow on the way must be silent too.
    with pytest.raises(FloatingPointError) as info:
        _diverging_fit()
    message = str(info.value)
    assert message.startswith("fit: the loss is inf at step ")
    assert " of epoch " in message and "/50 " in message
    assert "try a smaller learning rate than 50" in message
    assert type(info.value) is FloatingPointError  # a traceback shows the builtin's name
    step, epoch = map(int, re.search(r"step (\d+) of epoch (\d+)/50", message).groups())
    assert step >= 1 and 1 <= epoch <= 50  # counted from 1


def test_fit_stops_before_the_step_that_would_spread_nan_into_the_weights():
    from chainrule import nn

    cr.manual_seed(0)
    model, recorder = nn.Linear(3, 1), Recorder()
    with pytest.raises(FloatingPointError) as info:
        _diverging_fit(model, callbacks=[recorder])
    epoch = int(re.search(r"of epoch (\d+)/", str(info.value)).group(1))
    assert len(recorder.seen) == epoch - 1  # the failing epoch never ended
    # huge but finite: an update from the infinite loss would have made them inf or nan
    assert all(np.isfinite(p.numpy()).all() for p in model.parameters())
    assert max(np.abs(p.numpy()).max() for p in model.parameters()) > 1e6


def test_a_nan_in_the_data_stops_fit_at_its_batch():
    from chainrule import nn, optim

    X = np.ones((8, 2), dtype=np.float32)
    X[5, 1] = np.nan  # in the second batch of 4
    loader = DataLoader(TensorDataset(X, np.ones((8, 1), dtype=np.float32)), batch_size=4)
    model = nn.Linear(2, 1)
    with pytest.raises(FloatingPointError, match=r"loss is nan at step 2 of epoch 1/3 .*"
                       r"than 0\.01, or look for nan/inf in the data"):
        cr.fit(model, lambda p, t: ((p - t) ** 2).mean(),
               optim.SGD(model.parameters(), lr=0.01), loader, 3, progress=False)


# ---------------------------------------------------------------- callbacks
class Recorder:
    def __init__(self, stop_at: int | None = None) -> None:
        self.seen: list[tuple[int, dict]] = []
        self.stop_at = stop_at

    def on_epoch_end(self, epoch: int, logs: dict) -> bool:
        self.seen.append((epoch, logs))
        return epoch == self.stop_at


def test_a_callback_returning_true_stops_training():
    model = TinyLinear(3, 1)
    recorder, stopper = Recorder(), Recorder(stop_at=2)
    history = cr.fit(model, mse, TinySGD(model.parameters(), 0.01), _regression_loader(), 10,
                     callbacks=[stopper, recorder], progress=False)
    assert history.epoch == [0, 1, 2] and len(history.history["loss"]) == 3
    # Every callback still sees the epoch that stopped the run.
    assert [epoch for epoch, _ in recorder.seen] == [0, 1, 2]
    epoch, logs = recorder.seen[1]
    assert logs == {k: v[1] for k, v in history.history.items()}


def test_callbacks_without_on_epoch_end_or_returning_none_do_not_stop():
    class Silent:
        def on_epoch_end(self, epoch, logs):
            return None

    model = TinyLinear(3, 1)
    history = cr.fit(model, mse, TinySGD(model.parameters(), 0.01), _regression_loader(), 3,
                     callbacks=[object(), Silent()], progress=False)
    assert len(history.epoch) == 3


def test_callbacks_cannot_change_the_history_through_logs():
    class Vandal:
        def on_epoch_end(self, epoch, logs):
            logs["loss"] = -1.0

    model = TinyLinear(3, 1)
    history = cr.fit(model, mse, TinySGD(model.parameters(), 0.01), _regression_loader(), 2,
                     callbacks=[Vandal()], progress=False)
    assert all(v > 0 for v in history.history["loss"])


def test_early_stopping_stops_after_patience_epochs_without_improvement():
    model = TinyLinear(3, 1)
    stopper = cr.EarlyStopping(monitor="loss", patience=2)
    history = cr.fit(model, mse, TinySGD(model.parameters(), 0.0), _regression_loader(), 20,
                     callbacks=[stopper], progress=False)
    # lr = 0: epoch 0 sets the best, epochs 1 and 2 do not improve on it.
    assert history.epoch == [0, 1, 2]
    assert stopper.stopped_epoch == 2 and stopper.best_epoch == 0


def test_early_stopping_keeps_going_while_improving():
    model = TinyLinear(3, 1)
    stopper = cr.EarlyStopping(monitor="val_loss", patience=1)
    loader = _regression_loader()
    history = cr.fit(model, mse, TinySGD(model.parameters(), 0.01), loader, 8,
                     val_loader=loader, callbacks=[stopper], progress=False)
    assert len(history.epoch) == 8 and stopper.stopped_epoch is None


def test_early_stopping_min_delta_and_max_mode():
    stopper = cr.EarlyStopping(monitor="accuracy", patience=1, mode="max", min_delta=0.05)
    stopper.on_train_begin(None)
    assert stopper.on_epoch_end(0, {"accuracy": 0.5}) is False
    assert stopper.on_epoch_end(1, {"accuracy": 0.7}) is False
    assert stopper.on_epoch_end(2, {"accuracy": 0.74}) is True  # +0.04 < min_delta
    assert stopper.best == 0.7 and stopper.best_epoch == 1


def test_early_stopping_treats_nan_as_no_improvement():
    stopper = cr.EarlyStopping(monitor="loss", patience=1)
    assert stopper.on_epoch_end(0, {"loss": 1.0}) is False
    assert stopper.on_epoch_end(1, {"loss": float("nan")}) is True


def test_early_stopping_restores_the_best_weights():
    class Scripted(TinySGD):
        """Puts w at scripted values, one per step, so epoch k evaluates values[k]."""

        def __init__(self, params, values):
            super().__init__(params, 0.0)
            self.values = values

        def step(self):
            self.params[0].data = np.full_like(self.params[0].data, self.values[self.steps])
            self.steps += 1

    X = np.ones((4, 1), dtype=np.float32)
    loader = DataLoader(TensorDataset(X, 2 * X), batch_size=4)
    model = TinyLinear(1, 1)
    optimizer = Scripted(model.parameters(), [0.0, 1.9, 5.0, 7.0, 9.0])
    stopper = cr.EarlyStopping(patience=2, restore_best=True)
    history = cr.fit(model, mse, optimizer, loader, 5, val_loader=loader,
                     callbacks=[stopper], progress=False)
    assert history.epoch == [0, 1, 2, 3] and stopper.best_epoch == 1
    assert model.w.item() == pytest.approx(1.9)


def test_early_stopping_without_the_monitored_key_says_what_is_available():
    model = TinyLinear(3, 1)
    with pytest.raises(ValueError, match=r"'val_loss' is not in the logs \(available: loss"):
        cr.fit(model, mse, TinySGD(model.parameters(), 0.1), _regression_loader(), 2,
               callbacks=[cr.EarlyStopping()], progress=False)


@pytest.mark.parametrize(
    "kwargs", [{"mode": "auto"}, {"patience": -1}, {"patience": 1.5}, {"min_delta": -0.1}]
)
def test_early_stopping_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="EarlyStopping:"):
        cr.EarlyStopping(**kwargs)


# ---------------------------------------------------------------- progress
class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _quick_fit(progress: bool) -> None:
    model = TinyLinear(3, 1)
    loader = _regression_loader()
    cr.fit(model, mse, TinySGD(model.parameters(), 0.01), loader, 3, val_loader=loader,
           metrics=["r2"], progress=progress)


def test_fit_prints_nothing_when_stdout_is_not_a_terminal(capsys):
    _quick_fit(progress=True)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_fit_prints_nothing_with_progress_false_even_on_a_terminal(monkeypatch, capsys):
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    _quick_fit(progress=False)
    assert terminal.getvalue() == "" and capsys.readouterr().err == ""


def test_progress_bar_on_a_terminal_shows_loss_and_metrics(monkeypatch):
    pytest.importorskip("tqdm")
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    _quick_fit(progress=True)
    text = terminal.getvalue()
    assert "3/3" in text and "val_loss=" in text and "r2=" in text


def test_progress_without_tqdm_prints_one_line_per_epoch(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    _quick_fit(progress=True)
    lines = terminal.getvalue().splitlines()
    assert len(lines) == 3 and lines[0].startswith("epoch 1/3") and "loss" in lines[0]


class FakeKernelStream(io.StringIO):
    """Like ipykernel's OutStream, a notebook cell's output: not a tty, yet watched."""

    __module__ = "ipykernel.iostream"

    def isatty(self) -> bool:
        return False


def test_fit_shows_progress_in_a_notebook(monkeypatch):
    pytest.importorskip("tqdm")
    cell = FakeKernelStream()
    monkeypatch.setattr(sys, "stdout", cell)
    _quick_fit(progress=True)
    assert "3/3" in cell.getvalue() and "val_loss=" in cell.getvalue()


def test_fit_in_a_notebook_is_silent_with_progress_false(monkeypatch):
    cell = FakeKernelStream()
    monkeypatch.setattr(sys, "stdout", cell)
    _quick_fit(progress=False)
    assert cell.getvalue() == ""


def test_progress_bar_is_tqdm_auto(monkeypatch):
    # tqdm.auto: a widget in Jupyter, the text bar on a terminal (tests/test_notebook.py
    # runs the widget in a real kernel).
    auto = pytest.importorskip("tqdm.auto")
    made = []

    class Recorder(auto.tqdm):
        def __init__(self, *args, **kwargs):
            made.append(kwargs)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(auto, "tqdm", Recorder)
    monkeypatch.setattr(sys, "stdout", FakeTerminal())
    _quick_fit(progress=True)
    assert len(made) == 1 and made[0]["total"] == 3


# ---------------------------------------------------------------- argument errors
def test_non_scalar_loss_is_rejected():
    model = TinyLinear(3, 1)
    with pytest.raises(ValueError, match=r"fit: loss_fn must return a scalar tensor, got \(4, 1\)"):
        cr.fit(model, lambda p, t: (p - t) ** 2, TinySGD(model.parameters(), 0.1),
               _regression_loader(), 1, progress=False)


def test_empty_loader_is_rejected():
    model = TinyLinear(3, 1)
    with pytest.raises(ValueError, match="fit: train_loader produced no batches"):
        cr.fit(model, mse, TinySGD(model.parameters(), 0.1), [], 1, progress=False)


def test_batch_without_a_target_is_rejected():
    model = TinyLinear(3, 1)
    loader = DataLoader(TensorDataset(np.zeros((4, 3), dtype=np.float32)), batch_size=2)
    with pytest.raises(ValueError, match=r"fit: each batch must be a tuple \(inputs..., target\)"):
        cr.fit(model, mse, TinySGD(model.parameters(), 0.1), loader, 1, progress=False)


@pytest.mark.parametrize("epochs", [-1, 2.5, True])
def test_bad_epochs_are_rejected(epochs):
    model = TinyLinear(3, 1)
    with pytest.raises(ValueError, match="fit: epochs must be an int >= 0"):
        cr.fit(model, mse, TinySGD(model.parameters(), 0.1), _regression_loader(), epochs)


def test_an_optimizer_without_step_is_rejected():
    model = TinyLinear(3, 1)
    class NoStep:
        def zero_grad(self):
            pass

    with pytest.raises(TypeError, match=r"fit: optimizer must have a step\(\) method"):
        cr.fit(model, mse, NoStep(), _regression_loader(), 1)


# ---------------------------------------------------------------- learning for real
def test_softmax_regression_learns_iris():
    train, val = _iris_loaders()
    model = TinyLinear(4, 3)
    history = cr.fit(model, cross_entropy, TinySGD(model.parameters(), 0.2), train, 60,
                     val_loader=val, metrics=["accuracy"], progress=False)
    assert history.history["val_accuracy"][-1] >= 0.9
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


def test_mlp_with_adam_learns_iris():
    from chainrule import nn, optim
    from chainrule.nn import functional as F

    cr.manual_seed(0)
    train, val = _iris_loaders()
    model = nn.MLP([4, 16, 3])
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    history = cr.fit(model, F.cross_entropy, optimizer, train, 40, val_loader=val,
                     metrics=["accuracy"], callbacks=[cr.EarlyStopping(patience=10)],
                     progress=False)
    assert history.history["val_accuracy"][-1] >= 0.9
    assert model.training


def test_saved_model_and_optimizer_resume_training_exactly(tmp_path):
    # Train 2 epochs, save both state dicts, load them into fresh objects, train 2 more:
    # the result must equal 4 uninterrupted epochs, bit for bit.
    from chainrule import nn, optim
    from chainrule.nn import functional as F

    (X, y), _ = load_dataset("iris")

    def run(epochs, model, optimizer, seed):
        loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True, seed=seed)
        cr.fit(model, F.cross_entropy, optimizer, loader, epochs, progress=False)

    def fresh():
        cr.manual_seed(0)
        model = nn.MLP([4, 8, 3])
        return model, optim.Adam(model.parameters(), lr=0.01)

    reference, ref_opt = fresh()
    run(2, reference, ref_opt, seed=1)
    run(2, reference, ref_opt, seed=2)

    model, opt = fresh()
    run(2, model, opt, seed=1)
    cr.save(model.state_dict(), tmp_path / "model.npz")
    cr.save(opt.state_dict(), tmp_path / "opt.npz")
    resumed, resumed_opt = fresh()
    resumed.load_state_dict(cr.load(tmp_path / "model.npz"))
    resumed_opt.load_state_dict(cr.load(tmp_path / "opt.npz"))
    run(2, resumed, resumed_opt, seed=2)

    for (name, p), (_, q) in zip(reference.state_dict().items(),
                                 resumed.state_dict().items()):
        np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=name)
