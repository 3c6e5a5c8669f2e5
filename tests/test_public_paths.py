"""Every public name of every public module imports from the path it had in tinynn 0.1.0.

The lists are the ``__all__`` of each module as released in 0.1.0, written out by hand so that a
restructure that drops or moves a name fails here, whatever the new ``__all__`` says.
"""

import importlib

import pytest

PUBLIC_0_1 = {
    "tinynn": [
        "GradCheckReport",
        "History",
        "NotFittedError",
        "OptimizeResult",
        "Regressor",
        "Standardizer",
        "__version__",
        "check_grad",
        "check_params",
        "format_params",
        "gaussian_nll",
        "get_activation",
        "l2_penalty",
        "layer_sizes",
        "log_prior",
        "make_linear_data",
        "make_objective",
        "make_params",
        "make_quadratic_data",
        "minimize",
        "mse",
        "optim",
        "predict",
        "print_params",
        "rmse",
        "sample_prior",
        "train_test_split",
        "tree",
    ],
    "tinynn.tree": [
        "add",
        "astype_float",
        "axpy",
        "copy",
        "flatten",
        "full_like",
        "global_norm",
        "leaves",
        "leaves_with_paths",
        "map",
        "normal_like",
        "ones_like",
        "scale",
        "size",
        "sub",
        "vdot",
        "zeros_like",
    ],
    "tinynn.params": [
        "INITIALIZERS",
        "Initializer",
        "check_params",
        "constant",
        "format_params",
        "glorot_normal",
        "glorot_uniform",
        "he_normal",
        "he_uniform",
        "layer_sizes",
        "make_params",
        "normal",
        "ones",
        "print_params",
        "sample_prior",
        "uniform",
        "xavier_normal",
        "xavier_uniform",
        "zeros",
    ],
    "tinynn.model": [
        "ACTIVATIONS",
        "get_activation",
        "predict",
    ],
    "tinynn.losses": [
        "Objective",
        "gaussian_nll",
        "l2_penalty",
        "log_prior",
        "make_objective",
        "mse",
        "rmse",
    ],
    "tinynn.optim": [
        "AdamState",
        "CallbackInfo",
        "DivergenceError",
        "DivergenceWarning",
        "GradientDescentState",
        "History",
        "LBFGS",
        "MomentumState",
        "OptimizeResult",
        "Optimizer",
        "RMSPropState",
        "TrainState",
        "adam",
        "clip_by_global_norm",
        "constant",
        "cosine_decay",
        "exponential_decay",
        "gradient_descent",
        "lbfgs",
        "minimize",
        "momentum",
        "nesterov",
        "rmsprop",
        "step_decay",
    ],
    "tinynn.data": [
        "Standardizer",
        "make_linear_data",
        "make_quadratic_data",
        "train_test_split",
    ],
    "tinynn.plot": [
        "plot_feature_panels",
        "plot_fit_1d",
        "plot_function_and_derivative",
        "plot_loss_curve",
        "plot_param_traces",
        "plot_predicted_vs_true",
    ],
    "tinynn.io": [
        "FORMAT_NAME",
        "FORMAT_VERSION",
        "load",
        "load_params",
        "read_metadata",
        "save",
    ],
    "tinynn.gradcheck": [
        "GradCheckReport",
        "check_grad",
    ],
    "tinynn.estimator": [
        "NotFittedError",
        "Regressor",
    ],
    "tinynn.compat": [
        "make_nn_params_as_list_of_dicts",
        "predict_y_given_x_with_NN",
        "pretty_print_nn_param_list",
        "run_many_iters_of_gradient_descent",
        "run_many_iters_of_gradient_descent_with_list_of_dict",
    ],
    "tinynn.cli": [
        "main",
    ],
}


CASES = [(module, name) for module, names in PUBLIC_0_1.items() for name in names]


@pytest.mark.parametrize(("module", "name"), CASES, ids=[f"{m}.{n}" for m, n in CASES])
def test_public_name_imports_from_its_path(module, name):
    mod = importlib.import_module(module)
    assert hasattr(mod, name), f"{module}.{name} is gone"
    assert name in mod.__all__, f"{module}.{name} left __all__"


@pytest.mark.parametrize("module", sorted(PUBLIC_0_1))
def test_module_keeps_every_name_in_all(module):
    missing = sorted(set(PUBLIC_0_1[module]) - set(importlib.import_module(module).__all__))
    assert missing == []


def test_top_level_names_are_the_module_objects():
    import tinynn

    assert tinynn.predict is importlib.import_module("tinynn.model").predict
    assert tinynn.minimize is importlib.import_module("tinynn.optim").minimize
    assert tinynn.Regressor is importlib.import_module("tinynn.estimator").Regressor
    assert tinynn.make_objective is importlib.import_module("tinynn.losses").make_objective
