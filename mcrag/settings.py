"""One place for every setting, read from ``MCRAG_*`` environment variables with working defaults.

``MCRAG_DATA_DIR`` is the single data setting: the public data sets are read from there by path
(development default: ``../shared/data`` beside the checkout).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _default_data_dir() -> Path:
    return (REPO_ROOT / ".." / "shared" / "data").resolve()


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

    def data(self, *parts: str) -> Path:
        """A path inside the data folder (existence is the caller's to check)."""
        return self.data_dir.joinpath(*parts)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, then explicit overrides (CLI options) on top."""
    env = os.environ
    cors = tuple(o for o in env.get("MCRAG_CORS_ORIGINS", "").split(",") if o)
    s = Settings(
        home=Path(env.get("MCRAG_HOME", "var")),
        store=env.get("MCRAG_STORE", ""),
        data_dir=Path(env["MCRAG_DATA_DIR"]) if env.get("MCRAG_DATA_DIR") else _default_data_dir(),
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
    )
    clean = {k: v for k, v in overrides.items() if v is not None}
    return replace(s, **clean)  # type: ignore[arg-type]
