r"""Seeing the calculus: computation graphs with their derivative rules, activation and
loss curves, descent paths on a cost's contours, finite-difference error curves and
gradient flow through a network, a convolutional network's filters and feature maps,
a recurrent network's gradient through time, where attention looks, and a reproduced
paper's table beside the original.

Importing this package imports neither Matplotlib nor Graphviz; each is imported when a
picture is drawn. In Jupyter every figure and graph displays as a picture (figures as PNG,
graphs as SVG); without Graphviz's ``dot`` program, rendering a graph raises one line
saying how to install it.
"""

from chainrule.viz.attention import plot_attention
from chainrule.viz.descent import descent_path, linreg_cost, plot_descent, rosenbrock
from chainrule.viz.filters import plot_feature_maps, plot_filters
from chainrule.viz.flow import ActivationStats, GradientFlowReport, ParamGrad, gradient_flow
from chainrule.viz.graph import draw_graph, save_graph
from chainrule.viz.paper import plot_paper_table
from chainrule.viz.plots import plot_activations, plot_gradcheck, plot_loss
from chainrule.viz.through_time import gradient_through_time, step_gradient_norms

__all__ = [
    "ActivationStats", "GradientFlowReport", "ParamGrad", "descent_path", "draw_graph",
    "gradient_flow", "linreg_cost", "plot_activations", "plot_descent", "plot_feature_maps",
    "plot_filters", "plot_gradcheck", "plot_loss", "rosenbrock", "save_graph",
    "plot_paper_table",
    "plot_attention",
    # recurrent networks
    "gradient_through_time", "step_gradient_norms",
]
