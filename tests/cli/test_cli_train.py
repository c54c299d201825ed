"""``chainrule train``: output, flags, saving and loading, and one-line user errors."""

from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.cli import train
from chainrule.cli.main import main
from chainrule.cli.train import hidden_sizes, train_model
from chainrule.data import load_dataset
from chainrule.nn import functional as F
from chainrule.serialization import load
from chainrule.train import r2


def one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert err.startswith("chainrule: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


def final_score(out: str) -> float:
    match = re.search(r"^test (accuracy|R²) on \d+ samples: (\S+)$", out, re.MULTILINE)
    assert match is not None, out
    return float(match.group(2))


def test_prints_setup_one_line_per_epoch_and_the_final_test_accuracy(capsys):
    assert main(["train", "--dataset", "iris", "--epochs", "3", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "120 training and 30 test samples (seed 1)" in out
    assert "MLP [4, 3], no hidden layer: softmax regression" in out
    epochs = re.findall(r"^epoch (\d)/3 ", out, re.MULTILINE)
    assert epochs == ["1", "2", "3"]
    expected = train_model("iris", epochs=3, seed=1).score
    assert final_score(out) == pytest.approx(expected, abs=5e-5)


def test_no_progress_prints_only_the_summary(capsys):
    main(["train", "--dataset", "iris", "--epochs", "2", "--no-progress"])
    out = capsys.readouterr().out
    assert "epoch 1/2" not in out
    assert final_score(out) >= 0


def test_on_a_terminal_the_per_epoch_lines_give_way_to_fits_progress_bar(capsys, monkeypatch):
    monkeypatch.setattr(train, "_is_terminal", lambda: True)
    main(["train", "--dataset", "iris", "--epochs", "2"])
    assert "epoch 1/2" not in capsys.readouterr().out


def test_flags_override_the_dataset_defaults(capsys):
    main(["train", "--dataset", "iris", "--hidden", "5,4", "--activation", "tanh",
          "--optimizer", "sgd", "--lr", "0.3", "--epochs", "1", "--batch-size", "7"])
    out = capsys.readouterr().out
    assert "MLP [4, 5, 4, 3], activation tanh" in out
    assert "optimizer: sgd, lr 0.3, 1 epoch, batch size 7" in out


def test_switching_optimizer_without_lr_uses_that_optimizers_default_lr():
    recipe = train._recipe("digits", None, None, "sgd", None, None, None)
    assert (recipe.optimizer, recipe.lr) == ("sgd", train.DEFAULT_LR["sgd"])
    assert train._recipe("digits", None, None, "sgd", 0.5, None, None).lr == 0.5


def test_same_seed_gives_the_same_model_bit_for_bit():
    a = train_model("iris", hidden=(6,), epochs=2, seed=3)
    b = train_model("iris", hidden=(6,), epochs=2, seed=3)
    for (name, pa), (_, pb) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        np.testing.assert_array_equal(pa.numpy(), pb.numpy(), err_msg=name)


def test_breast_cancer_trains_one_logit_with_binary_cross_entropy():
    result = train_model("breast_cancer", hidden=(4,), epochs=1)
    assert result.sizes == [30, 4, 1] and result.metric == "accuracy"
    assert result.history["loss"][0] > 0


def test_diabetes_r2_is_reported_on_the_original_target_scale():
    result = train_model("diabetes", epochs=50, seed=2)
    (_, _), (X_test, y_test) = load_dataset("diabetes", seed=2)
    (_, y_train), _ = load_dataset("diabetes", seed=2)
    mean, std = y_train.numpy().mean(), y_train.numpy().std()
    pred = result.model(X_test).numpy() * std + mean
    assert result.metric == "r2"
    assert result.score == pytest.approx(r2(pred, y_test), abs=1e-6)


def test_save_writes_the_state_dict_and_load_restores_it(capsys, tmp_path):
    path = tmp_path / "iris.npz"
    assert main(["train", "--dataset", "iris", "--hidden", "8", "--epochs", "5",
                 "--save", str(path)]) == 0
    trained = final_score(capsys.readouterr().out)
    state = load(path)
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert state["0.weight"].shape == (8, 4)
    # Zero epochs from the saved weights evaluates exactly the saved model.
    assert main(["train", "--dataset", "iris", "--hidden", "8", "--epochs", "0",
                 "--load", str(path)]) == 0
    assert final_score(capsys.readouterr().out) == trained


@pytest.mark.parametrize("text, sizes", [("128,64", (128, 64)), (" 32 ", (32,)), ("", ()),
                                         ("none", ()), ("None", ())])
def test_hidden_accepts_widths_and_an_empty_list(text, sizes):
    assert hidden_sizes(text) == sizes


def test_hidden_0_is_refused_with_the_way_to_say_no_hidden_layer(capsys):
    # It used to mean "no hidden layer" silently; a width of 0 is more likely a slip.
    err = one_line_error(capsys, ["train", "--dataset", "iris", "--hidden", "0"])
    assert "argument --hidden: a hidden layer needs a width >= 1" in err
    assert "write --hidden none" in err


@pytest.mark.parametrize("argv, needle", [
    (["train", "--dataset", "iris", "--val-split", "1"], "--val-split"),
    (["train", "--dataset", "iris", "--val-split", "-0.1"], "--val-split"),
    (["train", "--dataset", "iris", "--every", "0"], "--every"),
    (["train"], "--dataset"),
    (["train", "--dataset", "mnist"], "mnist"),
    (["train", "--dataset", "iris", "--hidden", "12,x"], "--hidden"),
    (["train", "--dataset", "iris", "--hidden", "0,5"], "--hidden"),
    (["train", "--dataset", "iris", "--hidden", "-3"], "--hidden"),
    (["train", "--dataset", "iris", "--optimizer", "lbfgs"], "lbfgs"),
    (["train", "--dataset", "iris", "--activation", "swish"], "swish"),
    (["train", "--dataset", "iris", "--batch-size", "0"], "--batch-size"),
    (["train", "--dataset", "iris", "--lr", "zero"], "--lr"),
    (["train", "--dataset", "iris", "--seed", "-1"], "--seed"),
    (["train", "--dataset", "iris", "--epochs", "many"], "--epochs"),
])
def test_bad_arguments_are_one_line_errors(capsys, argv, needle):
    assert needle in one_line_error(capsys, argv)


def test_missing_load_file_is_a_one_line_error(capsys, tmp_path):
    err = one_line_error(capsys, ["train", "--dataset", "iris", "--load",
                                  str(tmp_path / "missing.npz")])
    assert "missing.npz" in err and "no such file" in err


def test_a_load_file_that_is_not_npz_is_a_one_line_error(capsys, tmp_path):
    path = tmp_path / "model.npz"
    path.write_text("not a model")
    assert "not a chainrule .npz" in one_line_error(
        capsys, ["train", "--dataset", "iris", "--load", str(path)])


def test_weights_of_another_architecture_are_a_one_line_error(capsys, tmp_path):
    path = tmp_path / "iris.npz"
    main(["train", "--dataset", "iris", "--epochs", "0", "--save", str(path)])
    capsys.readouterr()
    err = one_line_error(capsys, ["train", "--dataset", "iris", "--hidden", "8", "--epochs",
                                  "0", "--load", str(path)])
    assert "does not fit the model" in err


def test_save_into_a_missing_folder_fails_before_training(capsys, tmp_path):
    assert main(["train", "--dataset", "digits", "--save", str(tmp_path / "no" / "m.npz")]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # nothing was loaded or trained
    assert err.startswith("chainrule: error: ") and "does not exist" in err


def test_save_to_a_folder_is_a_one_line_error(capsys, tmp_path):
    assert "is a folder" in one_line_error(
        capsys, ["train", "--dataset", "iris", "--save", str(tmp_path)])


def test_save_below_a_file_says_that_it_is_a_file(capsys, tmp_path):
    (tmp_path / "afile").write_text("not a folder")
    for below in ("afile/x.npz", "afile/deeper/x.npz"):
        err = one_line_error(capsys, ["train", "--dataset", "iris", "--save",
                                      str(tmp_path / below)])
        assert f"{str(tmp_path / 'afile')!r} is a file, not a folder" in err
        assert "does not exist" not in err


# ---------------------------------------------------------------- validation and progress
def epoch_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("epoch ")]


def test_per_epoch_figures_come_from_held_out_training_samples_never_the_test_set(capsys):
    assert main(["train", "--dataset", "iris", "--epochs", "2"]) == 0
    out = capsys.readouterr().out
    assert "validation: 24 of the 120 training samples held out" in out
    lines = epoch_lines(out)
    assert len(lines) == 2
    assert all(re.search(r"loss \S+  accuracy \S+  val loss \S+  val accuracy \S+$", line)
               for line in lines), lines
    assert "test" not in "".join(lines)
    assert out.count("test accuracy") == 1  # the test set is scored once, at the end


def test_the_validation_samples_are_a_stratified_share_disjoint_from_training():
    (_, y_train), _ = load_dataset("iris", seed=0)
    kept, held_out = train._hold_out(y_train.numpy(), 120, 0.2, seed=0)
    assert len(held_out) == 24 and len(kept) == 96
    assert set(kept.tolist()).isdisjoint(held_out.tolist())
    assert sorted(kept.tolist() + held_out.tolist()) == list(range(120))
    assert np.bincount(y_train.numpy()[held_out]).tolist() == [8, 8, 8]  # 40 of each class
    result = train_model("iris", epochs=2, seed=0)
    assert (result.n_train, result.n_val, result.n_test) == (96, 24, 30)
    assert set(result.history.history) == {"loss", "accuracy", "val_loss", "val_accuracy",
                                           "time"}


def test_val_split_0_trains_on_every_training_sample(capsys):
    assert main(["train", "--dataset", "iris", "--epochs", "2", "--val-split", "0"]) == 0
    out = capsys.readouterr().out
    assert "validation: none (--val-split 0)" in out
    assert all("val" not in line for line in epoch_lines(out))
    assert train_model("iris", epochs=1, val_split=0.0).n_train == 120


def test_off_a_terminal_a_long_run_prints_about_ten_lines(capsys):
    assert main(["train", "--dataset", "diabetes"]) == 0  # 500 epochs
    out = capsys.readouterr().out
    numbers = [int(re.match(r"epoch +(\d+)/500", line).group(1)) for line in epoch_lines(out)]
    assert numbers == [1, *range(50, 501, 50)]
    assert len(out.splitlines()) <= 20


def test_every_sets_the_printed_epochs(capsys):
    assert main(["train", "--dataset", "iris", "--epochs", "7", "--every", "3"]) == 0
    numbers = [int(line.split()[1].split("/")[0])
               for line in epoch_lines(capsys.readouterr().out)]
    assert numbers == [1, 3, 6, 7]


@pytest.mark.parametrize("lr", ["50", "5"])
def test_a_diverging_run_stops_with_one_line_and_status_1(capsys, lr):
    # Warnings are errors under pytest: no NumPy RuntimeWarning may escape on the way.
    assert main(["train", "--dataset", "diabetes", "--lr", lr, "--no-progress"]) == 1
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and "Traceback" not in err
    assert re.fullmatch(r"chainrule: error: the loss is (inf|nan) at step 1 of epoch \d+/500 "
                        r"\(training diverged; the parameters are kept from before that step\): "
                        rf"try a smaller learning rate than {lr}, or look for nan/inf in the "
                        r"data\n", err), err
    assert "test R²" not in out  # no score of a model that diverged


def test_a_score_far_out_of_range_is_written_in_scientific_notation():
    assert train._number(-1.75e63) == "-1.750e+63"
    assert train._number(0.97222) == "0.9722"


# ---------------------------------------------------------------- --model and mnist1d
def test_model_linear_drops_the_datasets_hidden_layers(capsys):
    assert main(["train", "--dataset", "digits", "--model", "linear", "--epochs", "1"]) == 0
    assert "model: MLP [64, 10], no hidden layer: softmax regression" in capsys.readouterr().out
    assert train_model("digits", model="mlp", epochs=1).sizes == [64, 128, 64, 10]


@pytest.mark.parametrize("argv, needle", [
    (["train", "--dataset", "iris", "--model", "perceptron"], "argument --model: invalid choice"),
    (["train", "--dataset", "iris", "--model", "linear", "--hidden", "8"],
     "train: --hidden sets the widths of --model mlp; --model linear has no hidden layers "
     "(drop --hidden)"),
    (["train", "--dataset", "mnist1d", "--hidden", "8"],  # its default model is the CNN
     "train: --hidden sets the widths of --model mlp; --model cnn has no hidden layers"),
    (["train", "--dataset", "digits", "--model", "cnn"],
     "train: --model cnn is the MNIST-1D paper's 1-d CNN and takes --dataset mnist1d only, "
     "not digits"),
    (["train", "--dataset", "iris", "--model", "gru"],
     "train: --model gru is the MNIST-1D paper's GRU and takes --dataset mnist1d only, not iris"),
    (["train", "--dataset", "mnist1d", "--model", "gru", "--activation", "relu"],
     "train: --activation sets the activation between layers; the gates of --model gru have "
     "their own, sigmoid and tanh (drop --activation)"),
])
def test_model_mistakes_are_one_line_errors(capsys, argv, needle):
    assert needle in one_line_error(capsys, argv)


def test_the_mnist1d_recipe_is_the_papers():
    recipe = train.RECIPES["mnist1d"]
    assert (recipe.optimizer, recipe.lr, recipe.batch_size) == ("adam", 0.01, 100)
    assert recipe.epochs * 4000 // recipe.batch_size == 6000  # steps
    assert not recipe.shuffle and recipe.val_split == 0.0
    # the other datasets keep their reshuffled batches and validation hold-out
    assert all(r.shuffle and r.val_split == 0.2 for name, r in train.RECIPES.items()
               if name != "mnist1d")


class TestMnist1d:
    @pytest.fixture(autouse=True)
    def _package(self):
        pytest.importorskip("mnist1d")

    def test_prints_the_papers_setup(self, capsys):
        assert main(["train", "--dataset", "mnist1d", "--epochs", "1"]) == 0
        out = capsys.readouterr().out
        assert "dataset: mnist1d, 4000 training and 1000 test samples (seed 0)" in out
        assert ("model: the MNIST-1D paper's CNN: Conv1d(1, 25, 5, stride=2, padding=1), then "
                "Conv1d(25, 25, 3, stride=2, padding=1) twice, activation relu after each, "
                "flattened to 125 features, Linear(125, 10); loss: cross-entropy") in out
        assert ("optimizer: adam, lr 0.01, 1 epoch, batch size 100, in the data's order "
                "(40 steps)") in out
        assert "validation: none (--val-split 0)" in out
        assert final_score(out) > 0.1
        assert main(["train", "--dataset", "mnist1d", "--model", "mlp", "--epochs", "0"]) == 0
        assert ("model: the MNIST-1D paper's MLP [40, 100, 100, 10], activation relu, with a "
                "skip connection around the second layer;") in capsys.readouterr().out

    def test_the_papers_models_keep_their_parameter_names(self):
        result = train_model("mnist1d", epochs=0)
        assert [(k, v.shape) for k, v in result.model.state_dict().items()] == [
            ("conv1.weight", (25, 1, 5)), ("conv1.bias", (25,)),
            ("conv2.weight", (25, 25, 3)), ("conv2.bias", (25,)),
            ("conv3.weight", (25, 25, 3)), ("conv3.bias", (25,)),
            ("linear.weight", (10, 125)), ("linear.bias", (10,))]
        result = train_model("mnist1d", model="mlp", epochs=0)
        assert [(k, v.shape) for k, v in result.model.state_dict().items()] == [
            ("linear1.weight", (100, 40)), ("linear1.bias", (100,)),
            ("linear2.weight", (100, 100)), ("linear2.bias", (100,)),
            ("linear3.weight", (10, 100)), ("linear3.bias", (10,))]

    def test_the_papers_gru_reads_one_value_per_step(self, capsys):
        assert main(["train", "--dataset", "mnist1d", "--model", "gru", "--epochs", "0"]) == 0
        assert ("model: the MNIST-1D paper's GRU: GRU(1, 6, batch_first=True, "
                "bidirectional=True) over the 40 steps, every step's output flattened to 480 "
                "features, Linear(480, 10); loss: cross-entropy") in capsys.readouterr().out
        result = train_model("mnist1d", model="gru", epochs=0)
        names = [(k, v.shape) for k, v in result.model.state_dict().items()]
        assert names[:4] == [("gru.weight_ih_l0", (18, 1)), ("gru.weight_hh_l0", (18, 6)),
                             ("gru.bias_ih_l0", (18,)), ("gru.bias_hh_l0", (18,))]
        assert names[4][0] == "gru.weight_ih_l0_reverse"
        assert names[-2:] == [("linear.weight", (10, 480)), ("linear.bias", (10,))]

    def test_hidden_replaces_the_papers_mlp_by_nn_mlp(self, capsys):
        assert main(["train", "--dataset", "mnist1d", "--model", "mlp", "--hidden", "16",
                     "--epochs", "1"]) == 0
        assert "model: MLP [40, 16, 10], activation relu;" in capsys.readouterr().out

    def test_batches_of_100_in_the_datas_order_with_adam_at_lr_0_01(self):
        # One epoch by hand, as the paper's loop takes them: steps on X[0:100], X[100:200]…
        result = train_model("mnist1d", model="linear", epochs=1, seed=3)
        (X, y), _ = load_dataset("mnist1d")
        cr.manual_seed(3)
        model = nn.MLP([40, 10])
        opt = optim.Adam(model.parameters(), lr=0.01)
        for start in range(0, 4000, 100):
            loss = F.cross_entropy(model(X[start:start + 100]), y[start:start + 100])
            opt.zero_grad()
            loss.backward()
            opt.step()
        for (name, a), (_, b) in zip(result.model.state_dict().items(),
                                     model.state_dict().items()):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7,
                                       err_msg=name)

    def test_val_split_holds_out_training_sequences_when_asked(self):
        assert train_model("mnist1d", model="linear", epochs=1).n_val == 0
        result = train_model("mnist1d", model="linear", epochs=1, val_split=0.2)
        assert (result.n_train, result.n_val) == (3200, 800)
