"""Renderers: every one takes the same Report object; none computes a figure."""
