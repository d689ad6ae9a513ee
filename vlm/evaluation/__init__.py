"""Benchmarks of the grounded VLM: metrics, the findings noise model, data readers and runners.

Each runner returns plain JSON-ready dicts; ``mcrag eval`` and ``scripts/eval_*.py`` print them, write
``docs/results/<task>_<dataset>.json`` and draw the plots.
"""
