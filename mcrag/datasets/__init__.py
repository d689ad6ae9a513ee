"""The public data sets MCRAG reads: what they are, where they come from, how to fetch and find them.

``registry`` names every set with its licence, source and pinned SHA-256 digests; ``fetch`` downloads
a set from its canonical public source (resumable, checked, atomic); ``locate`` says where a set is
present (the data folder, or an installed package that ships it) without importing that package.
"""
