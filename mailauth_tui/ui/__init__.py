"""The Textual console: the app, one screen per file, widgets and messages.

This is the only package that imports Textual.
"""
