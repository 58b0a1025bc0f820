"""ipywidgets views. The ONLY package in llm-magics that imports ipywidgets.

- `ui.live.LiveView`: streaming panes for discussions, workflows and comparisons (an EventSink).
- `ui.pickers.PersonaPicker`, `ui.pickers.ModelPicker`: selection widgets.
"""
