"""Chest label sources read into study x concept matrices on one concept table.

:func:`import_sources` reads PadChest, NIH ChestX-ray14, CheXpert, VinDr-CXR and IU-Xray from a
``cxr_labels`` folder and writes one Parquet matrix per source (see :mod:`reasoning.sources.base`
for the layout). The folder is always a parameter: it may be the shared data folder or the
``data`` folder of an installed torchxrayvision package.
"""

from reasoning.sources.api import SOURCES, import_sources, read_source
from reasoning.sources.base import (
    ABSENT,
    CONFOUNDER_COLUMNS,
    META_COLUMNS,
    PRESENT,
    UNCERTAIN,
    ImportedSource,
    ImportReport,
    SourceError,
    SourceMatrix,
)

__all__ = [
    "ABSENT", "CONFOUNDER_COLUMNS", "META_COLUMNS", "PRESENT", "SOURCES", "UNCERTAIN", "ImportReport",
    "ImportedSource", "SourceError", "SourceMatrix", "import_sources", "read_source",
]
