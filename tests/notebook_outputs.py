"""The seed notebook's printed outputs of ``pretty_print_nn_param_list``, typed in by hand.

The shared copy of the notebook had every run of spaces collapsed to one, so tests compare these
texts with runs of whitespace collapsed. Shared by the params and compat tests.
"""

PRETTY_PRINTED = {
    "zeros_1_to_1": """Layer 0
 w | size (1, 1) | [0.]
 b | size (1,) | [0.]""",
    "zeros_2_to_1": """Layer 0
 w | size (2, 1) | [0. 0.]
 b | size (1,) | [0.]""",
    "hidden3_zeros": """Layer 0
 w | size (2, 3) | [0. 0. 0. 0. 0. 0.]
 b | size (3,) | [0. 0. 0.]
Layer 1
 w | size (3, 1) | [0. 0. 0.]
 b | size (1,) | [0.]""",
    "hidden3_ones": """Layer 0
 w | size (2, 3) | [1. 1. 1. 1. 1. 1.]
 b | size (3,) | [0. 0. 0.]
Layer 1
 w | size (3, 1) | [1. 1. 1.]
 b | size (1,) | [0.]""",
    "seven_hidden": """Layer 0
 w | size (2, 3) | [0. 0. 0. 0. 0. 0.]
 b | size (3,) | [0. 0. 0.]
Layer 1
 w | size (3, 4) | [0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0.]
 b | size (4,) | [0. 0. 0. 0.]
Layer 2
 w | size (4, 5) | [0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0.]
 b | size (5,) | [0. 0. 0. 0. 0.]
Layer 3
 w | size (5, 6) | [0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0.
 0. 0. 0. 0. 0. 0.]
 b | size (6,) | [0. 0. 0. 0. 0. 0.]
Layer 4
 w | size (6, 5) | [0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0.
 0. 0. 0. 0. 0. 0.]
 b | size (5,) | [0. 0. 0. 0. 0.]
Layer 5
 w | size (5, 4) | [0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0.]
 b | size (4,) | [0. 0. 0. 0.]
Layer 6
 w | size (4, 3) | [0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0. 0.]
 b | size (3,) | [0. 0. 0.]
Layer 7
 w | size (3, 1) | [0. 0. 0.]
 b | size (1,) | [0.]""",
}
