"""tinynn: train tiny neural networks for regression with autograd.

Parameters are the teaching notebook's list of per-layer dicts,
``[{'w': w_DH, 'b': b_H}, ..., {'w': w_HO, 'b': b_O}]``. Shape suffixes: N examples,
D input features, H hidden units, O outputs.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
