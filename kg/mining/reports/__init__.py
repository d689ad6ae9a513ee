"""The report miner: finding mentions with their ConText status and section, in-report causal statements,
and the report x finding matrix the validator reads."""
