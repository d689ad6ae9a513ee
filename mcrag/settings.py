"""One place for every setting, read from ``MCRAG_*`` environment variables with working defaults.

Nothing below the shell reads the environment: commands and the HTTP service load :class:`Settings`
here and pass what a layer needs down to it (``Settings.vlm()`` for the VLM, ``Settings.curator``
for curation acts). ``MCRAG_DATA_DIR`` is the single data setting: the public data sets are read from
there by path (development default: ``../shared/data`` beside the checkout).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vlm.config import VLMSettings

REPO_ROOT = Path(__file__).resolve().parent.parent


def _default_data_dir() -> Path:
    return (REPO_ROOT / ".." / "shared" / "data").resolve()


def default_data_dir(home: Path) -> Path:
    """``../shared/data`` beside the checkout when it exists, else ``<home>/data`` (where ``mcrag data fetch`` puts sets)."""
    shared = _default_data_dir()
    return shared if shared.is_dir() else home / "data"


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"setting {name}={raw!r} is not a number") from None


def _int(name: str, default: int) -> int:
    return int(_float(name, default))


@dataclass(frozen=True)
class Settings:
    """Resolved settings; build with :func:`load_settings` and override with ``dataclasses.replace``."""

    home: Path = field(default_factory=lambda: Path("var"))
    """Working folder for the store, models, indexes and run outputs."""
    store: str = ""
    """A store folder, ``:memory:``, or a SPARQL endpoint URL; default ``<home>/store``."""
    data_dir: Path = field(default_factory=_default_data_dir)
    token: str | None = None
    """Bearer token required for writes over HTTP (and sent to remote endpoints)."""
    update_url: str | None = None
    gsp_url: str | None = None
    query_timeout: float = 30.0
    max_rows: int = 100_000
    open_reads: bool = True
    """If false, reads over HTTP need the token too."""
    max_upload_bytes: int = 20 * 1024 * 1024
    cors_origins: tuple[str, ...] = ()
    query_workers: int = 2
    """Processes that evaluate SPARQL sent to the service (each is killed at its deadline)."""
    query_memory_mb: int = 1024
    """Address space each of those processes may use; a query that needs more is stopped."""
    remote_allow: tuple[str, ...] = ()
    """SERVICE / LOAD targets the service may contact (exact IRIs, or prefixes ending in /); none by default."""
    max_image_mb: int = 256
    """Memory one uploaded image may take to decode (read from its header before decoding)."""
    curator: str | None = None
    """Who a curation act is recorded as when the command names no one (``MCRAG_CURATOR``)."""
    vlm_model: Path | None = None
    """The VLM checkpoint folder; default ``<home>/models/vlm-default`` (``MCRAG_VLM_MODEL``)."""
    vlm_index: Path | None = None
    """The exemplar index folder; default ``<home>/index/exemplars`` (``MCRAG_VLM_INDEX``)."""
    retrieval: str = "causal"
    """Default retrieval mode: ``none``, ``semantic`` or ``causal`` (``MCRAG_RETRIEVAL``)."""
    vlm_threads: int = 1
    """Torch threads per inference (``MCRAG_VLM_THREADS``)."""

    def __post_init__(self) -> None:
        # Overrides may arrive as strings (CLI, tests): keep the path fields paths.
        object.__setattr__(self, "home", Path(self.home))
        object.__setattr__(self, "data_dir", Path(self.data_dir))

    @property
    def store_location(self) -> str:
        return self.store or str(self.home / "store")

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    @property
    def cache_dir(self) -> Path:
        """Where text embeddings are cached between runs."""
        return self.home / "cache"

    def vlm(self) -> VLMSettings:
        """The VLM's settings (model, index, retrieval mode, threads, cache) derived from these."""
        from vlm.config import DEFAULT_INDEX_NAME, DEFAULT_MODEL_NAME, VLMSettings

        return VLMSettings(model_dir=self.vlm_model or self.models_dir / DEFAULT_MODEL_NAME,
                           index_dir=self.vlm_index or self.index_dir / DEFAULT_INDEX_NAME,
                           retrieval=self.retrieval, threads=max(1, self.vlm_threads), cache_dir=self.cache_dir)

    def data(self, *parts: str) -> Path:
        """A path inside the data folder (existence is the caller's to check)."""
        return self.data_dir.joinpath(*parts)


def _path(name: str) -> Path | None:
    raw = os.environ.get(name)
    return Path(raw) if raw else None


def offline_environment() -> None:
    """Keep the Hugging Face libraries off the network: every model MCRAG loads ships with it.

    Called once by the shell's entry points before any model library is imported; an explicit value
    in the environment wins.
    """
    for name, value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"), ("TOKENIZERS_PARALLELISM", "false")):
        os.environ.setdefault(name, value)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, then explicit overrides (CLI options) on top."""
    env = os.environ
    cors = tuple(o for o in env.get("MCRAG_CORS_ORIGINS", "").split(",") if o)
    home = Path(env.get("MCRAG_HOME", "var"))
    s = Settings(
        home=home,
        store=env.get("MCRAG_STORE", ""),
        data_dir=Path(env["MCRAG_DATA_DIR"]) if env.get("MCRAG_DATA_DIR") else default_data_dir(home),
        token=env.get("MCRAG_TOKEN") or None,
        update_url=env.get("MCRAG_UPDATE_URL") or None,
        gsp_url=env.get("MCRAG_GSP_URL") or None,
        query_timeout=_float("MCRAG_QUERY_TIMEOUT", 30.0),
        max_rows=_int("MCRAG_MAX_ROWS", 100_000),
        open_reads=env.get("MCRAG_OPEN_READS", "1") not in ("0", "false", "no"),
        max_upload_bytes=_int("MCRAG_MAX_UPLOAD_BYTES", 20 * 1024 * 1024),
        cors_origins=cors,
        query_workers=_int("MCRAG_QUERY_WORKERS", 2),
        query_memory_mb=_int("MCRAG_QUERY_MEMORY_MB", 1024),
        remote_allow=tuple(a.strip() for a in env.get("MCRAG_REMOTE_ALLOW", "").split(",") if a.strip()),
        max_image_mb=_int("MCRAG_MAX_IMAGE_MB", 256),
        curator=env.get("MCRAG_CURATOR") or None,
        vlm_model=_path("MCRAG_VLM_MODEL"),
        vlm_index=_path("MCRAG_VLM_INDEX"),
        retrieval=env.get("MCRAG_RETRIEVAL") or "causal",
        vlm_threads=_int("MCRAG_VLM_THREADS", 1),
    )
    clean = {k: v for k, v in overrides.items() if v is not None}
    return replace(s, **clean)  # type: ignore[arg-type]
