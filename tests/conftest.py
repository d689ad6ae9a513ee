"""Shared test fixtures: offline model hub, the shared data folder (skipped when absent), stores."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def shared_data_dir() -> Path:
    """``$MCRAG_DATA_DIR`` or ``../shared/data`` beside the checkout (the development default)."""
    env = os.environ.get("MCRAG_DATA_DIR")
    return Path(env) if env else (REPO_ROOT / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The public data sets; tests that need them skip with a reason when the folder is absent."""
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"shared data folder {path} is absent (set MCRAG_DATA_DIR to run this test)")
    return path


@pytest.fixture()
def memory_store() -> Iterator[object]:
    from kg.store import open_store

    store = open_store(":memory:")
    yield store
    store.close()


@pytest.fixture()
def bootstrapped_store() -> Iterator[object]:
    """In-memory store with the ontology and the starter graph."""
    from kg.ontology import bootstrap
    from kg.store import open_store

    store = open_store(":memory:")
    bootstrap(store)
    yield store
    store.close()
