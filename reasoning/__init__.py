"""Causal reasoning over the knowledge graph: discovery, identification, estimation, refutation, what-if.

The layout follows the method, one small module per step (as DoWhy lays out its own API):

* :mod:`reasoning.data` – read a table, map columns to graph concepts, tell variable types;
* :mod:`reasoning.graph` – the graph's claims as edges, and the causal digraph they imply;
* :mod:`reasoning.discovery` – causal-learn PC / FCI / GES with the graph as background knowledge;
* :mod:`reasoning.model` – the causal model for one edge, from the graph's ancestral subgraph;
* :mod:`reasoning.identify` – backdoor, front-door or instrumental-variable identification;
* :mod:`reasoning.estimate` – DoWhy estimation with an estimator suited to the variable types;
* :mod:`reasoning.refute` – DoWhy refuters (placebo, random common cause, data subset, bootstrap);
* :mod:`reasoning.whatif` – do(X=x) effects and single-case counterfactuals;
* :mod:`reasoning.validate` – orchestration, and the verdicts written back onto the claims;
* :mod:`reasoning.metrics` and :mod:`reasoning.synthetic` – SHD / edge F1, and SCMs with known answers.

This layer imports ``kg`` only; heavy libraries (DoWhy, causal-learn) load on first use.
"""
