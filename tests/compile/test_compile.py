"""``cr.compile``: training bit for bit as eager, re-capture, parameters read afresh,
refusals of value-dependent Python, random draws, ``fit(compile=True)`` and
``chainrule train --compile``."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn, optim


def _mlp(seed: int) -> nn.Module:
    cr.manual_seed(seed)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(),
                         nn.Linear(16, 3))


def _train(compiled: bool, steps: int, make_opt) -> list[np.ndarray]:
    model = _mlp(0)
    opt = make_opt(model.parameters())
    rng = np.random.default_rng(0)
    X = cr.tensor(rng.standard_normal((200, 8)).astype(np.float32))
    y = cr.tensor(rng.integers(0, 3, 200))

    def loss_fn(Xb, yb):
        return F.cross_entropy(model(Xb), yb)

    step = cr.compile(loss_fn) if compiled else loss_fn
    for i in range(steps):
        lo = (i * 32) % 160
        batch = 32 if i % 3 else 40  # two batch sizes: two tapes, alternating
        opt.zero_grad()
        loss = step(X[lo:lo + batch], y[lo:lo + batch])
        loss.backward()
        opt.step()
    if compiled:
        assert step.captures == 2
    return [p.numpy().copy() for p in model.parameters()]


@pytest.mark.parametrize("make_opt", [
    lambda ps: optim.Adam(ps, lr=1e-2),
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
], ids=["adam", "sgd-momentum"])
def test_training_is_bit_for_bit_eager(make_opt):
    eager = _train(False, 300, make_opt)
    compiled = _train(True, 300, make_opt)
    for a, b in zip(eager, compiled):
        assert np.array_equal(a, b)


def test_gradients_accumulate_like_eager_without_zero_grad():
    w = cr.tensor([0.5, -1.0, 2.0], requires_grad=True)
    f = cr.compile(lambda x: (w * x + w).tanh().sum())
    x = cr.tensor([1.0, 2.0, 3.0])
    for _ in range(3):
        f(x).backward()
    expected = cr.tensor([0.5, -1.0, 2.0], requires_grad=True)
    for _ in range(3):
        (expected * x + expected).tanh().sum().backward()
    assert np.array_equal(w.grad.numpy(), expected.grad.numpy())


def test_parameters_are_read_afresh_on_every_replay():
    w = cr.tensor([1.0, 2.0])
    f = cr.compile(lambda x: x * w)
    x = cr.tensor([1.0, 1.0])
    assert f(x).tolist() == [1.0, 2.0]
    w.data[...] = [5.0, 6.0]  # changed in place, as an optimiser does
    assert f(x).tolist() == [5.0, 6.0]
    w.data = np.array([7.0, 8.0], dtype=np.float32)  # or replaced
    assert f(x).tolist() == [7.0, 8.0]


def test_new_shapes_dtypes_and_flags_capture_again():
    f = cr.compile(lambda x: (x * x).sum())
    a = f(cr.tensor([1.0, 2.0]))
    b = f(cr.tensor([1.0, 2.0, 3.0]))
    c = f(cr.tensor([1.0, 2.0], dtype="float64"))
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    d = f(x)
    d.backward()
    assert (a.item(), b.item(), c.item(), d.item()) == (5.0, 14.0, 5.0, 5.0)
    assert x.grad.tolist() == [2.0, 4.0]
    assert not a.requires_grad and d.requires_grad
    assert f.captures == 4
    f(cr.tensor([3.0, 4.0]))
    assert f.captures == 4  # a known signature replays


def test_changing_a_parameters_requires_grad_captures_again():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    f = cr.compile(lambda x: (w * x).sum())
    assert f(cr.tensor([1.0, 1.0])).requires_grad
    w.requires_grad_(False)
    assert not f(cr.tensor([1.0, 1.0])).requires_grad


@pytest.mark.parametrize("body,call", [
    (lambda x: x * 2 if float(x.sum()) > 0 else x, "float()"),
    (lambda x: x * 2 if x.sum().item() > 0 else x, "item()"),
    (lambda x: x * 2 if bool(x.sum() > 0) else x, "bool()"),
    (lambda x: x * 2 if (x > 0).numpy().all() else x, "bool()"),
    (lambda x: x * x.tolist()[0], "tolist()"),
    (lambda x: x * 2 if x.numpy()[0] > 0 else x, "bool()"),  # user code: refused
    (lambda x: x * int(x.sum()), "int()"),
])
def test_value_dependent_control_flow_is_refused_naming_the_call(body, call):
    f = cr.compile(body)
    with pytest.raises(RuntimeError, match=r"compile: cannot capture .*" + call.replace(
            "(", r"\(").replace(")", r"\)")):
        f(cr.tensor([1.0, -2.0]))


def test_in_place_changes_are_refused():
    bn = nn.BatchNorm1d(3)
    f = cr.compile(lambda x: bn(x).sum())
    with pytest.raises(RuntimeError, match="compile: cannot capture .* in place.*model.eval"):
        f(cr.randn(4, 3))
    bn.eval()
    g = cr.compile(lambda x: bn(x).sum())
    x = cr.randn(4, 3)
    assert np.array_equal(g(x).numpy(), bn(x).sum().numpy())


def test_value_masks_and_dropout_follow_eager():
    x0 = np.linspace(-1, 1, 12).reshape(3, 4).astype(np.float32)

    def f(x):
        return F.dropout(F.leaky_relu(x, 0.1), 0.5, training=True).sum(axis=1)

    compiled = cr.compile(f)
    outs = {}
    for name, fn in (("eager", f), ("compiled", compiled)):
        cr.manual_seed(3)
        runs = []
        for k in range(4):
            x = cr.tensor(x0 * (-1) ** k, requires_grad=True)
            out = fn(x)
            out.backward(cr.ones(3))
            runs.append((out.numpy().copy(), x.grad.numpy().copy()))
        outs[name] = runs
    for (a, ga), (b, gb) in zip(outs["eager"], outs["compiled"]):
        assert np.array_equal(a, b) and np.array_equal(ga, gb)


def test_pytrees_several_results_and_arguments_passed_through():
    w = cr.tensor([1.0, 2.0], requires_grad=True)

    def f(inputs, scale):
        h = inputs["x"] * w * scale
        return {"sum": h.sum(), "h": h, "x": inputs["x"]}

    compiled = cr.compile(f)
    for _ in range(2):
        x = cr.tensor([3.0, 4.0])
        out = compiled({"x": x}, 2.0)
        assert out["x"] is x and out["h"].tolist() == [6.0, 16.0]
        out["sum"].backward()
    assert w.grad.tolist() == [12.0, 16.0]
    assert compiled({"x": cr.tensor([1.0, 1.0])}, 3.0)["h"].tolist() == [3.0, 6.0]
    assert compiled.captures == 2


def test_grad_through_a_compiled_function_and_create_graph_refused():
    f = cr.compile(lambda x: (x * x * x).sum())
    assert cr.grad(f)(cr.tensor([1.0, 2.0])).tolist() == [3.0, 12.0]
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="create_graph"):
        f(x).backward(create_graph=True)


def test_compiled_fit_equals_eager_fit():
    rng = np.random.default_rng(1)
    X = cr.tensor(rng.standard_normal((96, 8)).astype(np.float32))
    y = cr.tensor(rng.integers(0, 3, 96))
    results = []
    for compiled in (False, True):
        model = _mlp(1)
        loader = cr.data.DataLoader(cr.data.TensorDataset(X, y), batch_size=20,
                                    shuffle=True, seed=0)
        history = cr.fit(model, F.cross_entropy, optim.Adam(model.parameters(), lr=1e-2),
                         loader, epochs=3, metrics=["accuracy"], progress=False,
                         compile=compiled)
        results.append((history.history, [p.numpy().copy() for p in model.parameters()]))
    (h0, p0), (h1, p1) = results
    assert h0["loss"] == h1["loss"] and h0["accuracy"] == h1["accuracy"]
    assert all(np.array_equal(a, b) for a, b in zip(p0, p1))


def test_chainrule_train_compile(capsys):
    from chainrule.cli.main import main

    assert main(["train", "--dataset", "iris", "--epochs", "5", "--no-progress",
                 "--compile"]) == 0
    compiled = capsys.readouterr().out.splitlines()[-1]
    assert main(["train", "--dataset", "iris", "--epochs", "5", "--no-progress"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == compiled


def test_a_gradient_handed_to_two_parameters_is_not_shared():
    w1 = cr.tensor([1.0, 2.0], requires_grad=True)
    w2 = cr.tensor([3.0, 4.0], requires_grad=True)
    f = cr.compile(lambda x: ((w1 + w2) * x).sum())
    for _ in range(2):
        w1.grad = w2.grad = None
        f(cr.tensor([5.0, 6.0])).backward()
        assert not np.shares_memory(w1.grad.numpy(), w2.grad.numpy())
    w1.grad.data[...] = 0.0
    assert w2.grad.tolist() == [5.0, 6.0]


def test_train_and_eval_modes_have_their_own_tapes():
    drop = nn.Dropout(0.5)
    f = cr.compile(lambda x: drop(x))
    x = cr.ones(8)
    assert (f(x).numpy() != 1.0).any()  # training: some dropped, the rest scaled
    drop.eval()
    assert f(x).tolist() == [1.0] * 8
    drop.train()
    assert (f(x).numpy() != 1.0).any()


def test_a_layer_with_its_own_generator_is_refused():
    drop = nn.Dropout(0.5, generator=np.random.default_rng(0))
    with pytest.raises(RuntimeError, match="Dropout draws from a generator of its own"):
        cr.compile(lambda x: drop(x))(cr.ones(4))


@pytest.mark.parametrize("kind", ["cnn", "gru", "attention"])
def test_layer_models_train_bit_for_bit(kind):
    def build():
        cr.manual_seed(2)
        if kind == "cnn":
            return nn.Sequential(nn.Conv1d(1, 4, 5, stride=2, padding=1), nn.ReLU(),
                                 nn.MaxPool1d(2), nn.Dropout(0.2), nn.Flatten(),
                                 nn.Linear(56, 3))
        if kind == "gru":
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.gru = nn.GRU(1, 4, batch_first=True, bidirectional=True)
                    self.head = nn.Linear(8, 3)

                def forward(self, x):
                    out, _ = self.gru(x.reshape(x.shape[0], -1, 1)[:, :10])
                    return self.head(out[:, -1])
            return Net()

        class Attn(nn.Module):
            def __init__(self):
                super().__init__()
                self.proj = nn.Linear(1, 8)
                self.mha = nn.MultiheadAttention(8, 2, batch_first=True)
                self.norm = nn.LayerNorm(8)
                self.head = nn.Linear(8, 3)

            def forward(self, x):
                h = self.proj(x.reshape(x.shape[0], -1, 1)[:, :12])
                a, _ = self.mha(h, h, h)
                return self.head(F.gelu(self.norm(a + h)).mean(axis=1))
        return Attn()

    rng = np.random.default_rng(3)
    X = cr.tensor(rng.standard_normal((40, 1, 60)).astype(np.float32))
    y = cr.tensor(rng.integers(0, 3, 40))
    finals = []
    for compiled in (False, True):
        model = build()
        opt = optim.Adam(model.parameters(), lr=1e-2)

        def loss_fn(Xb, yb):
            return F.cross_entropy(model(Xb), yb)

        step = cr.compile(loss_fn) if compiled else loss_fn
        cr.manual_seed(4)  # the dropout masks' stream
        for i in range(12):
            opt.zero_grad()
            loss = step(X[(i % 4) * 10:(i % 4) * 10 + 10], y[(i % 4) * 10:(i % 4) * 10 + 10])
            loss.backward()
            opt.step()
        finals.append([p.numpy().copy() for p in model.parameters()])
    for a, b in zip(*finals):
        assert np.array_equal(a, b)


def test_a_library_path_chosen_by_value_is_guarded():
    # cross_entropy takes its fused path when every target is a class: a replay whose
    # targets include ignore_index must take the general path, as eager does
    f = cr.compile(lambda x, t: F.cross_entropy(x, t, ignore_index=1))
    x = cr.tensor(np.random.default_rng(0).standard_normal((4, 3)), requires_grad=True)
    for targets in ([0, 2, 2, 0], [0, 1, 2, 1], [2, 0, 0, 2]):
        t = cr.tensor(np.array(targets))
        assert np.array_equal(f(x, t).numpy(), F.cross_entropy(x, t, ignore_index=1).numpy())
    assert f.captures == 1  # one signature: the guard's answer changed, not the tape's key
    for bad in ([0, 3, 2, 0], [-2, 0, 0, 0]):  # outside [0, C): eager's IndexError
        with pytest.raises(IndexError, match="targets must be|out of range|class"):
            f(x, cr.tensor(np.array(bad)))


def test_a_compiled_function_inside_another_is_part_of_its_tape():
    inner = cr.compile(lambda x: x * x)
    outer = cr.compile(lambda x: inner(x).sum())
    inner(cr.tensor([1.0, 2.0]))  # inner has a tape of its own already
    assert outer(cr.tensor([1.0, 2.0])).item() == 5.0
    assert outer(cr.tensor([3.0, 4.0])).item() == 25.0


def test_a_backward_pass_inside_the_function_is_refused():
    def loss(w, x):
        return ((x * w).sum() - 1.0) ** 2

    per_example = cr.compile(cr.vmap(cr.grad(loss), in_axes=(None, 0)))
    with pytest.raises(RuntimeError, match="compile: cannot capture .* runs a backward pass"):
        per_example(cr.ones(3), cr.ones(4, 3))
    # the other way round works: the gradient of a compiled function
    assert cr.grad(cr.compile(loss))(cr.ones(3), cr.ones(3)).tolist() == [4.0, 4.0, 4.0]


_RNG = np.random.default_rng(0)
_EMB = nn.Embedding(10, 3)
_FUNCTION_ARGUMENTS = {
    "getitem": (lambda x, i: (x[i] * 2).sum(),
                lambda: (cr.tensor(_RNG.standard_normal(6), requires_grad=True),
                         cr.tensor(_RNG.integers(0, 6, 4)))),
    "where": (lambda x, c: cr.where(c, x, -x).sum(),
              lambda: (cr.tensor(_RNG.standard_normal(6), requires_grad=True),
                       cr.tensor(_RNG.random(6) > 0.5))),
    "embedding": (lambda i: _EMB(i).sum(), lambda: (cr.tensor(_RNG.integers(0, 10, (2, 3))),)),
    "mask": (lambda x: cr.where(x > 0, x, x * 0.1).sum(),
             lambda: (cr.tensor(_RNG.standard_normal(6), requires_grad=True),)),
    "vmap": (lambda X: cr.vmap(lambda x: (x * x).tanh().sum())(X).sum(),
             lambda: (cr.tensor(_RNG.standard_normal((4, 3)), requires_grad=True),)),
    "nll": (lambda x, t: F.nll_loss(F.log_softmax(x, axis=1), t),
            lambda: (cr.tensor(_RNG.standard_normal((4, 3)), requires_grad=True),
                     cr.tensor(_RNG.integers(0, 3, 4)))),
    "mse_int_target": (lambda x, t: F.mse_loss(x, t),
                       lambda: (cr.tensor(_RNG.standard_normal(4), requires_grad=True),
                                cr.tensor(_RNG.integers(0, 3, 4)))),
}


@pytest.mark.parametrize("name", list(_FUNCTION_ARGUMENTS))
def test_index_mask_and_target_arguments_are_read_on_every_replay(name):
    f, make = _FUNCTION_ARGUMENTS[name]
    compiled = cr.compile(f)
    for _ in range(4):
        args = make()
        results = []
        for fn in (compiled, f):
            for t in args:
                t.grad = None
            out = fn(*args)
            out.backward()
            results.append([out.numpy().copy()] + [None if t.grad is None else t.grad.numpy()
                                                   for t in args])
        for a, b in zip(*results):
            assert (a is None and b is None) or np.array_equal(a, b)
    assert compiled.captures == 1


def test_buffers_hold_only_private_values():
    f = cr.compile(lambda x: (x * 2.0 + 1.0).exp().sum(axis=0))
    first = f(cr.ones(3, 2))
    tape = next(iter(f._tapes.values()))
    assert "out=" in tape.forward.source  # x * 2.0 goes into a buffer of the tape's own
    second = f(cr.full((3, 2), 2.0))
    assert np.array_equal(first.numpy(), np.full(2, 3 * np.exp(np.float32(3.0))))
    assert not np.shares_memory(first.numpy(), second.numpy())


def test_a_compiled_method():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 2)

        @cr.compile
        def loss(self, x):
            return self.lin(x).tanh().sum()

    cr.manual_seed(0)
    model = Model()
    x = cr.randn(4, 3)
    assert np.array_equal(model.loss(x).numpy(), model.lin(x).tanh().sum().numpy())
    assert np.array_equal(model.loss(2 * x).numpy(), model.lin(2 * x).tanh().sum().numpy())
