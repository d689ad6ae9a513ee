"""The literature miner: entity dictionary, causal patterns over the parse, candidate pairs, the calibrated
relation model and its training on the gold corpora."""
