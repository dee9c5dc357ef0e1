"""Outputs: renderers, files, Google Sheets push and e-mail; each takes a Report, none computes a figure."""
