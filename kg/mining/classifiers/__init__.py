"""Learned classifiers of the literature miner, each a small module with a value object for its prediction,
a training function over the shared corpora and a save / load folder:

* :mod:`.entity_recognizer`: chemical and disease recogniser (spaCy NER, factory ``mcrag_entity_recognizer``);
  :mod:`.normalise` maps its mentions to concept ids after scispaCy's abbreviation expansion;
* :mod:`.relation_kinds`: causes / treats / prevents / associated-with / none between two mentions of a
  sentence, the direction read from the wording (:mod:`.pair_features`);
* :mod:`.negation`: is a condition negated (medspaCy ConText as features, a learnt model on top);
* :mod:`.claim_strength`: direct / conditional / correlational / no relation (Yu et al. 2019);
* :mod:`.pair_claims`: the three together, one claim per mention pair;
* :mod:`.document_relations`: document-level cause -> effect scoring (BC5CDR's task);
* :mod:`.corpora` and :mod:`.training`: the corpus readers and what each model learns from.
"""
