"""Pure Plotly builders: what the app draws, from a matching problem and its plans.

* :mod:`uotviz.plots.picture`: what the matching picture shows for one plan, as a plain
  description (marks, badges and their places, lines, hover texts);
* :mod:`uotviz.plots.scene`: that description drawn on the image, one small builder per
  encoding, and the small multiples of several plans;
* :mod:`uotviz.plots.matrices`: the cost and plan heatmaps, and the paper's Figure 1 as
  matrices;
* :mod:`uotviz.plots.selection`: a click on any of them, as the row and column it names.

No Streamlit here: figures in, figures out, tested with pytest.
"""
