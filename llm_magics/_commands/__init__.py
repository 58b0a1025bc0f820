"""Handlers behind the magics: one module per command, each `main(shell, args, cell, ...)`.

They parse nothing IPython already parsed, call the public Python API and render the result.
"""
