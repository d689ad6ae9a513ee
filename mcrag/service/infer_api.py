"""Grounded inference over HTTP: an uploaded image (or a finding vector) in, answer with evidence out.

The model and exemplar index are loaded once, on the first request, from the same settings the CLI
uses; inference runs one at a time in a worker thread so the event loop keeps serving.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from mcrag.service.auth import require_read

router = APIRouter(prefix="/api", tags=["inference"])
_lock = threading.Lock()
_WORK_BYTES_PER_PIXEL = 12
"""Grayscale float64 plus float32 working copies that decoding to model input makes of every pixel."""


def decode_cost(data: bytes, reduce_to: int = 256) -> tuple[int, str]:
    """Bytes an upload takes to decode, read from its header alone, with a description for messages."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        im = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return 0, "unreadable"  # the decoder's own checks name the problem
    w, h = im.size
    scale = 1
    if im.format == "JPEG":  # decoded at a reduced scale (draft mode), down to the model's input size
        while scale < 8 and w // (scale * 2) >= reduce_to and h // (scale * 2) >= reduce_to:
            scale *= 2
    bands = len(im.getbands())
    depth = 2 if im.mode.startswith("I;16") or (im.info.get("bitdepth", 8) or 8) > 8 else 1
    if im.mode in ("I", "F"):
        depth = 4
    pixels = (w // scale) * (h // scale)
    return pixels * (bands * depth + _WORK_BYTES_PER_PIXEL), f"{w}x{h} {im.format} {im.mode}"


def _grounder(request: Request, mode: str) -> Any:
    """The app's grounder, built on first use; the index is only needed for retrieval modes."""
    from vlm.backends import load_backend
    from vlm.index import ExemplarIndex
    from vlm.infer import Grounder
    from vlm.posterior import FrontEndPosterior

    app = request.app
    cached = getattr(app.state, "grounder", None)
    if cached is not None and (mode == "none" or cached.index is not None):
        return cached
    settings = app.state.settings
    vs = settings.vlm()
    backend = cached.backend if cached is not None else load_backend(vs.model_dir)
    index = ExemplarIndex.load(vs.index_dir) if mode != "none" else None
    table = settings.data("iu_xray", "openi_labels.csv")
    grounder = Grounder(backend, index, app.state.store, store_label=app.state.store.location,
                        threads=vs.threads, whatif_table=table if table.is_file() else None,
                        posterior=FrontEndPosterior.load(vs.index_dir) if index is not None else None)
    app.state.grounder = grounder
    return grounder


@router.post("/infer", summary="Answer report / diagnose / vqa for an image, with its causal evidence")
async def infer(request: Request,
                task: Annotated[Literal["report", "diagnose", "vqa"], Form()] = "diagnose",
                retrieval: Annotated[Literal["none", "semantic", "causal"], Form()] = "causal",
                question: Annotated[str | None, Form(max_length=2000)] = None,
                findings: Annotated[str | None, Form(max_length=4000, description="e.g. Effusion=0.9,Edema=0.4")] = None,
                k: Annotated[int, Form(ge=1, le=50)] = 5,
                view: Annotated[Literal["AP", "PA", "AP supine"] | None,
                                Form(description="The film's projection, when known")] = None,
                include_proposed: Annotated[bool, Form(description="Also show proposed edges, marked")] = False,
                image: Annotated[UploadFile | None, File(description="PNG or JPEG, any size and bit depth")] = None,
                ) -> dict[str, Any]:
    from vlm.errors import IndexMissingError, InputError, ModelMissingError
    from vlm.images import ImageError

    settings = request.app.state.settings
    require_read(request, settings)
    data: bytes | None = None
    if image is not None:
        data = await image.read(settings.max_upload_bytes + 1)
        if len(data) > settings.max_upload_bytes:
            raise HTTPException(413, f"image over the {settings.max_upload_bytes}-byte upload limit")
        if not data:
            raise HTTPException(422, "the uploaded image is empty")
        cost, what = decode_cost(data)
        budget = settings.max_image_mb * 1024 * 1024
        if cost > budget:
            raise HTTPException(413, f"the {what} image needs about {cost // 2**20} MiB to decode, over the "
                                     f"{settings.max_image_mb} MiB one upload may use; downscale it first")
    if data is None and not findings:
        raise HTTPException(422, "send an image, or findings from another front end")
    if task == "vqa" and not (question or "").strip():
        raise HTTPException(422, "task vqa needs a non-empty question")
    if task != "vqa" and question:
        raise HTTPException(422, f"question is only read by task vqa, not {task}")

    def run() -> dict[str, Any]:
        # bad input is the caller's error whatever the model state: check it before loading the model
        if data is not None:
            from vlm.images import load_image

            load_image(data, reduce_to=256)
        if findings:
            from vlm.infer import parse_findings

            parse_findings(findings)
        with _lock:
            grounder = _grounder(request, retrieval)
            result = grounder.infer(data, task, question, retrieval, findings=findings, k=k, view=view,
                                    include_proposed=include_proposed)
        return result.to_json()

    try:
        return await run_in_threadpool(run)
    except (ModelMissingError, IndexMissingError) as err:
        raise HTTPException(503, str(err)) from None
    except (InputError, ImageError, ValueError) as err:
        raise HTTPException(422, str(err)) from None
