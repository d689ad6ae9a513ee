"""MCRAG's benchmarks, kept out of the product: no module of kg, reasoning, vlm or mcrag imports them.

:mod:`benchmarks.registry` lists every benchmark (the ``mcrag eval`` figures and the scripts with a
command line of their own) and runs the evaluations; :mod:`benchmarks.metrics` holds every metric;
each data set has one reader, in the module of the benchmark that uses it. ``mcrag eval`` reaches this
package through the ``mcrag.benchmarks`` entry-point group; ``python -m benchmarks --list`` prints the
registry. Results go to ``docs/results/`` with the exact command that made them.
"""
