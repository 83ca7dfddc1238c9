"""Figures: pure functions of a Trace (or of gradient maps) that return plotly Figures and never display."""
