"""Learned classifiers of the literature miner."""
