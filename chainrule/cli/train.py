r"""``chainrule train``: train a model on one of the bundled datasets and report the test score.

The model (``--model``) is by default ``nn.MLP([n_features, *hidden, n_out])``; with no hidden
layer (``--model linear``) it is the textbook's linear model. On ``mnist1d`` the models are
the MNIST-1D paper's (Greydanus & Kobak): logistic regression, its MLP (with a skip
connection), its CNN (the default there) and its bidirectional GRU, trained with its settings
(Adam, lr 0.01, batches of 100 in the data's order, 6,000 steps; see
:mod:`chainrule.cli._mnist1d_models`).
The loss depends on the task:

* multi-class (``digits``, ``iris``, ``mnist1d``): cross-entropy on the logits,
  :math:`J = -\frac1m\sum_i \log \mathrm{softmax}(z_i)_{y_i}`; reported: test accuracy.
* binary (``breast_cancer``): one logit and binary cross-entropy from logits,
  :math:`J = -\frac1m\sum_i [y_i\log\sigma(z_i) + (1-y_i)\log(1-\sigma(z_i))]` (logistic
  regression when there is no hidden layer); reported: test accuracy.
* regression (``diabetes``): the target is standardised with the training split's mean
  and standard deviation and the loss is the mean squared error on that scale; reported:
  test :math:`R^2` on the original scale (the same number, since :math:`R^2` does not change
  when prediction and target go through the same affine map).

A share of the training samples (``--val-split``, 20% by default, stratified for
classification) is held out as validation data: the per-epoch figures are the training loss
and metric and the validation loss and metric (Keras's ``loss``, ``val_loss``…), so that
choices made while watching them never look at the test set, which is scored once, at the
end.

Progress: on a terminal, :func:`chainrule.train.fit`'s progress bar; otherwise (a pipe, a log
file, CI) one line every ``--every`` epochs (by default about ten lines in all, and always
the first and last epoch); ``--no-progress`` prints only the summary. A loss that stops being
a number stops training with one line and exit status 1. Each dataset has defaults
(architecture, optimiser, learning rate, epochs, batch size) that reach a good test score in
seconds; every flag overrides its default.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from chainrule._config import get_default_dtype, manual_seed, no_grad
from chainrule.cli._args import (
    Subparsers,
    fraction,
    nonnegative_int,
    positive_float,
    positive_int,
    report,
)
from chainrule.cli._mnist1d_models import PaperCNN, PaperGRU, PaperMLP
from chainrule.data import DataLoader, TensorDataset, load_dataset
from chainrule.distributed import is_main, shard, world_size
from chainrule.nn import MLP, Module
from chainrule.nn import functional as F
from chainrule.optim import registry
from chainrule.serialization import load, save
from chainrule.tensor import Tensor
from chainrule.train import History, accuracy, fit, r2
from chainrule.train.progress import _is_terminal

# The optimisers --optimizer offers, in its order, each with the lr used when --optimizer
# differs from the dataset's default and no --lr is given.
DEFAULT_LR = {"sgd": 0.1, "adam": 1e-3, "adamw": 1e-3, "rmsprop": 1e-3, "adagrad": 1e-2}
OPTIMIZERS = {name: registry.OPTIMIZERS[name] for name in DEFAULT_LR}
ACTIVATIONS = ("relu", "sigmoid", "tanh", "leaky_relu", "gelu", "softplus")
#: --model: nn.MLP with no hidden layer, nn.MLP with the --hidden widths (on mnist1d the
#: paper's MLP unless --hidden is given), the MNIST-1D paper's CNN (mnist1d only, and its
#: default there) and its GRU (mnist1d only).
MODELS = ("linear", "mlp", "cnn", "gru")
#: The models made for MNIST-1D's sequences, and what the errors call them.
MNIST1D_ONLY = {"cnn": "the MNIST-1D paper's 1-d CNN", "gru": "the MNIST-1D paper's GRU"}
#: The share of the training samples held out for the per-epoch validation figures.
VAL_SPLIT = 0.2
#: Off a terminal, about this many per-epoch lines unless --every says otherwise.
LINES = 10


@dataclass(frozen=True)
class Recipe:
    """How to train on one dataset: the task and the default hyper-parameters."""

    task: str  # "multiclass", "binary" or "regression"
    hidden: tuple[int, ...]
    activation: str = "relu"
    optimizer: str = "adam"
    lr: float = 1e-3
    epochs: int = 20
    batch_size: int = 32
    model: str = "mlp"
    #: reshuffle the training samples every epoch; False: batches in the data's own order
    shuffle: bool = True
    #: the share of the training samples held out for the per-epoch validation figures
    val_split: float = VAL_SPLIT


RECIPES = {
    "digits": Recipe("multiclass", (128, 64), epochs=20),
    # Iris is nearly linearly separable: softmax regression generalises better from its
    # 120 training flowers than a hidden layer does.
    "iris": Recipe("multiclass", (), lr=0.05, epochs=100),
    # The textbook's logistic regression.
    "breast_cancer": Recipe("binary", (), lr=1e-2, epochs=30),
    # Linear regression by full-batch gradient descent (one batch holds all 353 samples).
    "diabetes": Recipe("regression", (), optimizer="sgd", lr=0.1, epochs=500, batch_size=512),
    # The MNIST-1D paper's setup: its CNN (the model the dataset was made for), Adam at lr
    # 0.01, batches of 100 taken in the data's order (the generator shuffled it once), 150
    # passes over all 4,000 training sequences = 6,000 steps; nothing is held out, as the
    # paper trains on all of them. (100, 100) are the widths of the paper's MLP.
    "mnist1d": Recipe("multiclass", (100, 100), model="cnn", lr=1e-2, epochs=150,
                      batch_size=100, shuffle=False, val_split=0.0),
}


@dataclass
class TrainResult:
    """What :func:`train_model` produced; ``metric`` is ``"accuracy"`` or ``"r2"``.
    ``sizes`` are the layer widths of an MLP (the input and output widths of the CNN).
    ``n_train`` counts the samples trained on, ``n_val`` those held out from the training
    split for the per-epoch validation figures."""

    model: Module
    history: History
    recipe: Recipe
    sizes: list[int]
    metric: str
    score: float
    n_train: int
    n_test: int
    n_val: int = 0


def hidden_sizes(text: str) -> tuple[int, ...]:
    """Parse ``--hidden``: ``"128,64"`` → ``(128, 64)``; ``"none"`` or ``""`` → ``()``.

    ``"0"`` is refused: a layer of width 0 is a mistake, and "no hidden layer" is said
    with ``none``.
    """
    text = text.strip()
    if text.lower() in ("", "none"):
        return ()
    if text == "0":
        raise argparse.ArgumentTypeError(
            "a hidden layer needs a width >= 1; for no hidden layer (a linear or logistic "
            "model) write --hidden none, got '0'"
        )
    sizes = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit() or int(part) < 1:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated layer widths >= 1 like 128,64 ('' for no hidden "
                f"layer), got {text!r}"
            )
        sizes.append(int(part))
    return tuple(sizes)


def _targets(recipe: Recipe, y_train: Tensor, y_test: Tensor
             ) -> tuple[Tensor, Tensor, tuple[float, float]]:
    """Targets as the loss wants them, and the (mean, std) that undoes regression scaling."""
    if recipe.task == "binary":
        # BCE-with-logits compares one logit per sample with a float 0/1 column.
        dtype = get_default_dtype()
        as_column = lambda y: Tensor(y.data.astype(dtype).reshape(-1, 1))  # noqa: E731
        return as_column(y_train), as_column(y_test), (0.0, 1.0)
    if recipe.task == "regression":
        # Targets of ~150 ± 77 would make the first gradients huge; unit scale trains at lr 0.1.
        mean, std = float(y_train.data.mean()), float(y_train.data.std())
        scale = lambda y: Tensor(((y.data - mean) / std).astype(y.data.dtype))  # noqa: E731
        return scale(y_train), scale(y_test), (mean, std)
    return y_train, y_test, (0.0, 1.0)


def _loss_fn(task: str) -> Any:
    if task == "multiclass":
        return F.cross_entropy
    if task == "binary":
        return F.binary_cross_entropy_with_logits
    return F.mse_loss


def _number(value: float) -> str:
    """Four decimals for ordinary values; scientific notation for a model gone astray."""
    return f"{value:.4f}" if abs(value) < 1e4 else f"{value:.3e}"


def _label(metric: str) -> str:
    return "R²" if metric == "r2" else metric


def _hold_out(labels: np.ndarray | None, n: int, share: float, seed: int
              ) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(kept, held_out)`` of ``n`` training samples, ``share`` of them held out
    (of each class when ``labels`` are given, so the validation set keeps the class mix)."""
    rng = np.random.default_rng(seed)
    groups = [np.arange(n)] if labels is None else [
        np.flatnonzero(labels == label) for label in np.unique(labels)]
    held = [rng.permutation(group)[:int(round(share * len(group)))] for group in groups]
    held_out = np.sort(np.concatenate(held)).astype(np.int64)
    return np.setdiff1d(np.arange(n), held_out), held_out


def _epoch_printer(epochs: int, metric: str, every: int) -> Any:
    """A ``fit`` callback printing the first epoch, every ``every``-th and the last
    (when stdout is not a terminal)."""
    width = len(str(epochs))

    class EpochLines:
        def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool:
            done = epoch + 1
            if done == 1 or done % every == 0 or done == epochs:
                fields = [f"loss {_number(logs['loss'])}",
                          f"{_label(metric)} {_number(logs[metric])}"]
                if "val_loss" in logs:
                    fields += [f"val loss {_number(logs['val_loss'])}",
                               f"val {_label(metric)} {_number(logs['val_' + metric])}"]
                print(f"epoch {done:>{width}}/{epochs}  " + "  ".join(fields), flush=True)
            return False

    return EpochLines()


def train_model(dataset: str, hidden: tuple[int, ...] | None = None,
                activation: str | None = None, optimizer: str | None = None,
                lr: float | None = None, epochs: int | None = None,
                batch_size: int | None = None, seed: int = 0, progress: bool = False,
                load_path: str | None = None, log: Callable[[str], Any] | None = None,
                val_split: float | None = None, every: int | None = None,
                model: str | None = None, distributed: bool = False,
                compile: bool = False) -> TrainResult:
    r"""Train a model on ``dataset`` as ``chainrule train`` does; ``None`` means the
    dataset's default (see :data:`RECIPES`).

    Args:
        dataset: ``"digits"``, ``"iris"``, ``"breast_cancer"``, ``"diabetes"`` or
            ``"mnist1d"``.
        seed: seeds the train/test split, the validation hold-out, the weight
            initialisation and the shuffling.
        progress: a progress bar on a terminal, else a line every ``every`` epochs;
            False: silent.
        load_path: start from the weights in this ``.npz`` (written by ``--save``).
        log: called with a description of the data, model and optimiser before training.
        val_split: the share of the training samples held out for the per-epoch
            validation figures (stratified for classification); 0 holds none out
            (default: 0.2; mnist1d: 0).
        every: the epochs between printed lines off a terminal (default: about
            :data:`LINES` lines in all).
        model: ``"linear"`` (no hidden layer), ``"mlp"`` (``nn.MLP`` with the ``hidden``
            widths; on mnist1d with ``hidden=None`` the paper's MLP), ``"cnn"`` (the
            MNIST-1D paper's CNN, mnist1d only) or ``"gru"`` (its bidirectional GRU,
            mnist1d only); default: the dataset's (``"mlp"``; mnist1d: ``"cnn"``).
        distributed: train on every rank of ``mpirun -np N`` (data-parallel, see
            :mod:`chainrule.distributed`): each rank takes its shard of the training and
            validation samples, ``batch_size`` per rank (``N * batch_size`` per step).
        compile: train with ``fit(compile=True)`` (each step captured once and replayed:
            the same weights, faster).

    Returns:
        A :class:`TrainResult` with the test accuracy (classification) or test
        :math:`R^2` on the original scale (regression).

    Raises:
        ValueError: an unknown dataset, optimizer, activation or model, a model the
            dataset cannot take, ``hidden`` for a model without hidden layers, or a
            ``load_path`` that does not fit the model. FileNotFoundError: a missing
            ``load_path``.
        FloatingPointError: the loss stopped being a number (training diverged).
    """
    if dataset not in RECIPES:
        raise ValueError(f"train: unknown dataset {dataset!r}; choose from "
                         f"{', '.join(RECIPES)}")
    recipe = _recipe(dataset, hidden, activation, optimizer, lr, epochs, batch_size,
                     model=model)
    val_split = recipe.val_split if val_split is None else val_split
    (X_train, y_train), (X_test, y_test) = load_dataset(dataset, seed=seed)
    # the regression target's scale comes from the whole training split, as the features'
    t_train, t_test, (mean, std) = _targets(recipe, y_train, y_test)
    n_out = {"multiclass": int(y_train.data.max()) + 1, "binary": 1, "regression": 1}
    sizes = [X_train.shape[1], *recipe.hidden, n_out[recipe.task]]
    labels = None if recipe.task == "regression" else y_train.data
    kept, held_out = _hold_out(labels, len(X_train), val_split, seed)

    manual_seed(seed)  # the weight initialisation
    # the paper's MLP unless other widths are asked for
    paper = dataset == "mnist1d" and hidden is None
    net = _build_model(recipe, sizes, paper)
    if load_path is not None:
        _load_weights(net, load_path)
    opt = OPTIMIZERS[recipe.optimizer](net.parameters(), lr=recipe.lr)
    part = shard if distributed else (lambda data: data)
    train_loader = DataLoader(part(TensorDataset(X_train[kept], t_train[kept])),
                              batch_size=recipe.batch_size, shuffle=recipe.shuffle, seed=seed)
    val_loader = DataLoader(part(TensorDataset(X_train[held_out], t_train[held_out])),
                            batch_size=1024) if held_out.size else None
    metric = "r2" if recipe.task == "regression" else "accuracy"
    if log is not None:
        _describe(log, dataset, recipe, _model_text(recipe, sizes, paper), len(X_train),
                  len(X_test), seed, len(train_loader))
        _describe_validation(log, len(held_out), len(X_train), val_split)
        if distributed:
            _describe_ranks(log, recipe.batch_size)
    # mpirun hands every rank a pseudo-terminal as stdout even when its own output goes to
    # a file: under several ranks, lines, which read well in both
    on_terminal = progress and _is_terminal() and not (distributed and world_size() > 1)
    every = every or max(1, math.ceil(recipe.epochs / LINES))
    callbacks = ([_epoch_printer(recipe.epochs, metric, every)]
                 if progress and not on_terminal else [])
    history = fit(net, _loss_fn(recipe.task), opt, train_loader, recipe.epochs,
                  val_loader=val_loader, metrics=[metric], callbacks=callbacks,
                  progress=on_terminal, distributed=distributed, compile=compile)

    score = _test_score(net, recipe.task, X_test, y_test, t_test, (mean, std))
    return TrainResult(net, history, recipe, sizes, metric, score, len(kept), len(X_test),
                       len(held_out))


def _describe_ranks(log: Callable[[str], Any], batch_size: int) -> None:
    n = world_size()
    log(f"distributed: {n} rank{'' if n == 1 else 's'}, each a shard of the samples and "
        f"batches of {batch_size} ({n * batch_size} samples per step); gradients averaged "
        "by sample count")


def _build_model(recipe: Recipe, sizes: list[int], paper: bool) -> Module:
    """The untrained model: ``nn.MLP(sizes)``, the MNIST-1D paper's CNN or GRU, or its MLP
    when ``paper``."""
    if recipe.model == "cnn":
        return PaperCNN(sizes[0], sizes[-1], activation=recipe.activation)
    if recipe.model == "gru":
        return PaperGRU(sizes[0], sizes[-1])
    if recipe.model == "mlp" and paper:
        return PaperMLP(sizes[0], sizes[-1], recipe.hidden[0], recipe.activation)
    return MLP(sizes, activation=recipe.activation)


def _model_text(recipe: Recipe, sizes: list[int], paper: bool) -> str:
    """The model, as the setup lines describe it."""
    if recipe.model == "cnn":
        return ("the MNIST-1D paper's CNN: Conv1d(1, 25, 5, stride=2, padding=1), then "
                "Conv1d(25, 25, 3, stride=2, padding=1) twice, activation "
                f"{recipe.activation} after each, flattened to 125 features, Linear(125, "
                f"{sizes[-1]})")
    if recipe.model == "gru":
        return ("the MNIST-1D paper's GRU: GRU(1, 6, batch_first=True, bidirectional=True) "
                f"over the {sizes[0]} steps, every step's output flattened to "
                f"{sizes[0] * 12} features, Linear({sizes[0] * 12}, {sizes[-1]})")
    if recipe.model == "mlp" and paper:
        return (f"the MNIST-1D paper's MLP {sizes}, activation {recipe.activation}, with a "
                "skip connection around the second layer")
    if recipe.hidden:
        return f"MLP {sizes}, activation {recipe.activation}"
    kind = {"multiclass": "softmax regression", "binary": "logistic regression",
            "regression": "linear regression"}[recipe.task]
    return f"MLP {sizes}, no hidden layer: {kind}"


def _test_score(model: Module, task: str, X_test: Tensor, y_test: Tensor, t_test: Tensor,
                scaling: tuple[float, float]) -> float:
    """Test accuracy, or test :math:`R^2` with predictions mapped back to the target's units."""
    model.eval()
    with no_grad():
        pred = model(X_test).data
    if task == "regression":
        mean, std = scaling
        return r2(pred * std + mean, y_test)
    return accuracy(pred, t_test)


def _describe(log: Callable[[str], Any], dataset: str, recipe: Recipe, model: str,
              n_train: int, n_test: int, seed: int, steps_per_epoch: int) -> None:
    loss = {"multiclass": "cross-entropy on the logits",
            "binary": "binary cross-entropy from one logit",
            "regression": "mean squared error on the standardised target"}[recipe.task]
    log(f"dataset: {dataset}, {n_train} training and {n_test} test samples (seed {seed})")
    log(f"model: {model}; loss: {loss}")
    epochs = f"{recipe.epochs} epoch{'' if recipe.epochs == 1 else 's'}"
    steps = recipe.epochs * steps_per_epoch
    order = "" if recipe.shuffle else ", in the data's order"
    log(f"optimizer: {recipe.optimizer}, lr {recipe.lr:g}, {epochs}, "
        f"batch size {recipe.batch_size}{order} ({steps} step{'' if steps == 1 else 's'})")


def _describe_validation(log: Callable[[str], Any], n_val: int, n_train: int,
                         val_split: float) -> None:
    if n_val:
        log(f"validation: {n_val} of the {n_train} training samples held out for the "
            "per-epoch figures; the test samples are scored once, at the end")
    else:
        log(f"validation: none (--val-split {val_split:g}); the per-epoch figures are the "
            "training batches'")


def _recipe(dataset: str, hidden: tuple[int, ...] | None, activation: str | None,
            optimizer: str | None, lr: float | None, epochs: int | None,
            batch_size: int | None, model: str | None = None) -> Recipe:
    """The dataset's defaults with every given override applied."""
    recipe = RECIPES[dataset]
    _check_model(dataset, model or recipe.model, hidden, activation)
    if (model or recipe.model) != "mlp":
        hidden = ()
    if optimizer is not None and optimizer not in OPTIMIZERS:
        raise ValueError(f"train: unknown optimizer {optimizer!r}; choose from "
                         f"{', '.join(OPTIMIZERS)}")
    if activation is not None and activation not in ACTIVATIONS:
        raise ValueError(f"train: unknown activation {activation!r}; choose from "
                         f"{', '.join(ACTIVATIONS)}")
    if optimizer is not None and optimizer != recipe.optimizer and lr is None:
        lr = DEFAULT_LR[optimizer]  # the dataset's lr was tuned for its own optimizer
    given: dict[str, Any] = {"hidden": hidden, "activation": activation,
                             "optimizer": optimizer, "lr": lr, "epochs": epochs,
                             "batch_size": batch_size, "model": model}
    return replace(recipe, **{k: v for k, v in given.items() if v is not None})


def _check_model(dataset: str, model: str, hidden: tuple[int, ...] | None,
                 activation: str | None = None) -> None:
    if model not in MODELS:
        raise ValueError(f"train: unknown model {model!r}; choose from {', '.join(MODELS)}")
    if model in MNIST1D_ONLY and dataset != "mnist1d":
        raise ValueError(f"train: --model {model} is {MNIST1D_ONLY[model]} and takes "
                         f"--dataset mnist1d only, not {dataset}")
    if hidden is not None and model != "mlp":
        raise ValueError(f"train: --hidden sets the widths of --model mlp; --model {model} "
                         "has no hidden layers (drop --hidden)")
    if activation is not None and model == "gru":
        raise ValueError("train: --activation sets the activation between layers; the gates "
                         "of --model gru have their own, sigmoid and tanh (drop --activation)")


def _load_weights(model: Module, path: str) -> None:
    if not Path(path).is_file():
        raise FileNotFoundError(f"train: --load {path!r}: no such file")
    try:
        model.load_state_dict(load(path))
    except RuntimeError as exc:  # missing/unexpected keys or shapes: another architecture
        raise ValueError(f"train: --load {path!r} does not fit the model ({exc})") from None


def _check_save_path(path: str) -> None:
    """Fail before training, not after it, when the model could not be saved."""
    target = Path(path)
    if target.is_dir():
        raise ValueError(f"train: --save {path!r} is a folder; give a file name like model.npz")
    if target.parent.is_dir():
        return
    # the nearest part of the path that exists says what is wrong with it
    existing = next((p for p in target.parents if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise NotADirectoryError(
            f"train: --save {path!r}: {str(existing)!r} is a file, not a folder"
        )
    raise FileNotFoundError(
        f"train: --save {path!r}: the folder {str(target.parent)!r} does not exist"
    )


def register(subparsers: Subparsers) -> None:
    """Add the ``train`` subcommand."""
    defaults = "; ".join(
        f"{name}: "
        + (f"hidden {','.join(map(str, r.hidden)) or 'none'}" if r.model == "mlp"
           else f"--model {r.model}")
        + f", {r.optimizer} lr {r.lr:g}, {r.epochs} epochs, batch {r.batch_size}"
        + ("" if r.shuffle else " in the data's order")
        + ("" if r.val_split == VAL_SPLIT else f", --val-split {r.val_split:g}")
        for name, r in RECIPES.items())
    parser = subparsers.add_parser(
        "train",
        help="train a model on a bundled dataset and report its test score",
        description="Train nn.MLP([features, *hidden, outputs]) (or, on mnist1d, one of the "
        "MNIST-1D paper's models) on a bundled dataset with "
        "chainrule.fit and print the test accuracy (classification) or R² (regression), "
        "scored once at the end. Per epoch: the loss and metric on the training batches and "
        "on validation samples held out from the training data. Progress: a bar on a "
        "terminal, else about ten lines. A loss that stops being a number ends the run with "
        "exit status 1.",
        epilog=f"Defaults per dataset: {defaults}.",
    )
    parser.add_argument("--dataset", required=True, choices=tuple(RECIPES),
                        help="the dataset to train on")
    parser.add_argument("--model", choices=MODELS, default=None,
                        help="linear: no hidden layer; mlp (the default but on mnist1d): "
                        "nn.MLP with the --hidden widths, on mnist1d the paper's MLP (40, 100, "
                        "100, 10, with a skip connection) unless --hidden is given; cnn (the "
                        "default on mnist1d): the MNIST-1D paper's CNN; gru (mnist1d): its "
                        "bidirectional GRU with a linear head over all steps")
    parser.add_argument("--hidden", type=hidden_sizes, default=None, metavar="WIDTHS",
                        help="hidden layer widths, e.g. 128,64; 'none' for no hidden layer "
                        "(a linear or logistic model)")
    parser.add_argument("--activation", choices=ACTIVATIONS, default=None,
                        help="activation between layers (default: relu)")
    parser.add_argument("--optimizer", choices=tuple(OPTIMIZERS), default=None,
                        help="optimisation algorithm (default: per dataset)")
    parser.add_argument("--lr", type=positive_float, default=None, help="learning rate")
    parser.add_argument("--epochs", type=nonnegative_int, default=None,
                        help="passes over the training set (0 only evaluates, e.g. with --load)")
    parser.add_argument("--batch-size", type=positive_int, default=None, help="mini-batch size")
    parser.add_argument("--seed", type=nonnegative_int, default=0,
                        help="seed of the splits, the initial weights and the shuffling "
                        "(default: 0)")
    parser.add_argument("--val-split", type=fraction, default=None, metavar="SHARE",
                        help="share of the training samples held out for the per-epoch "
                        f"validation figures (default: {VAL_SPLIT:g}, mnist1d: 0 as in its "
                        "paper; 0: none)")
    parser.add_argument("--every", type=positive_int, default=None, metavar="N",
                        help="off a terminal, print a line every N epochs (default: about "
                        f"{LINES} lines)")
    parser.add_argument("--save", metavar="PATH", default=None,
                        help="write the trained model's state dict to PATH (.npz)")
    parser.add_argument("--load", metavar="PATH", default=None,
                        help="start from the weights in PATH (written by --save)")
    parser.add_argument("--no-progress", action="store_true",
                        help="print only the summary, no progress")
    parser.add_argument("--distributed", action="store_true",
                        help="data-parallel training on every rank of 'mpirun -np N chainrule "
                        "train --distributed ...' (needs chainrule[mpi]): --batch-size per "
                        "rank; rank 0 prints and saves; any rank's failure ends the job")
    parser.add_argument("--compile", action="store_true",
                        help="replay each training step from a captured tape (cr.compile): "
                             "the same weights, faster")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Train, print the test score, and save the model if asked; 1 if training diverged.
    With ``--distributed``, on every rank of an MPI job (:mod:`chainrule.cli._distributed`)."""
    if getattr(args, "distributed", False):
        from chainrule.cli._distributed import run_distributed

        return run_distributed(args, _train_and_report)
    return _train_and_report(args)


def _train_and_report(args: argparse.Namespace, distributed: bool = False) -> int:
    if args.save is not None:
        _check_save_path(args.save)
    try:
        result = train_model(args.dataset, args.hidden, args.activation, args.optimizer,
                             args.lr, args.epochs, args.batch_size, args.seed,
                             progress=not args.no_progress, load_path=args.load, log=print,
                             val_split=getattr(args, "val_split", None),
                             every=getattr(args, "every", None),
                             model=getattr(args, "model", None), distributed=distributed,
                             compile=getattr(args, "compile", False))
    except FloatingPointError as exc:  # fit's: the loss stopped being a number
        report(str(exc).removeprefix("fit: "))
        return 1
    print(f"test {_label(result.metric)} on {result.n_test} samples: {_number(result.score)}")
    if args.save is not None and (not distributed or is_main()):
        save(result.model.state_dict(), args.save)  # atomically: never half-written
        print(f"saved the model's state dict to {args.save}")
    return 0
