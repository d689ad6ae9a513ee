"""What the report and literature miners share: documents and readers, the base pipeline, report sections
and ConText rules, term matching and causal cues, the spaCy factory helper, the partition runner and the
writer of claims into the store."""
