"""Benchmarks: serving speed against a Flask + Keras baseline, training cost, and a request profile.

Run each as a module from the repository root, e.g. `python -m bench.serving`; each prints its table
and writes it as JSON and Markdown under bench/results/.
"""
