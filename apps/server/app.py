"""An OpenAI-compatible speech API over :class:`EmotionalSpeechPipeline` (FastAPI; run by ``emotive serve``).

Routes:
  POST /v1/audio/speech   OpenAI's fields: ``model``, ``input``, ``voice``, ``response_format`` (wav, pcm, flac,
                          mp3), ``speed`` (0.5-2; OpenAI's 0.25-4 range is wider than the engine's), ``instructions``
                          (read by the text-emotion resolver: "sound sad and tired" -> sad), ``stream_format``
                          (``audio``: the bytes, chunked sentence by sentence for wav/pcm; ``sse``: server-sent
                          events ``speech.audio.delta`` with base64 audio, then ``speech.audio.done``);
                          ours: ``emotion`` (any Emotion form; wins over ``instructions``), ``intensity`` (0-1),
                          ``guidance`` (0-3, scales the intensity: the direct engine has no classifier-free
                          guidance, so guidance acts as the emotion-strength knob it stands for; 1 = as asked),
                          ``seed`` (0 to 2**32 - 1, default 0). Inline tags in ``input`` work as in ``speak``.
                          Response headers ``x-emotion`` (label), ``x-emotion-spec`` and ``x-voice`` say what
                          was spoken.
  GET  /v1/models         the model (and the OpenAI names accepted for it)
  GET  /v1/voices         the voices (and the OpenAI voice names mapped onto them)

Errors are OpenAI-shaped JSON ``{"error": {"message", "type", "param", "code"}}``: 400 for values the engine
refuses, 413 for a body over the limit, 422 for a malformed body or wrong types, 429 when every render slot and
waiting place is taken, 404/405 for other routes; never a traceback.

``emotive demo`` serves these routes too, on its own port (:class:`ApiInFront`), speaking with the Speech tab's
pipeline.
"""

import asyncio
import base64
import json
import math
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from emotive.apps.server.formats import FORMATS, MEDIA_TYPES, encode, mp3_available, pcm16, wav_header

MODEL = "emotive-speech"
MODEL_ALIASES = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")
"""OpenAI's model names, accepted so existing clients work unchanged; all speak with the one engine, ``SERVER_ENGINE``."""
SERVER_ENGINE = "direct"
"""The server speaks with the direct engine whatever the pipeline's default: a server is judged by its first byte,
which direct reaches ~0.25 s sooner than codec-lm (the LM samples the whole sentence first), and its ``guidance``
acts on the intensity."""
OPENAI_VOICES = {
    "alloy": "jf_alpha", "ash": "jm_kumo", "ballad": "jm_kumo", "coral": "jf_gongitsune", "echo": "jm_kumo",
    "fable": "jm_kumo", "onyx": "jm_kumo", "sage": "aria", "shimmer": "jf_nezumi", "verse": "jm_kumo",
}
"""OpenAI's voice names -> ours (``nova`` is one of ours already): female-sounding names to the female voices,
the others to the one male voice."""
SPEED_RANGE = (0.5, 2.0)
GUIDANCE_RANGE = (0.0, 3.0)


@dataclass(frozen=True)
class Limits:
    """What one server accepts.

    Attributes:
        max_body_bytes: largest request body (413 above).
        max_chars: longest ``input`` (OpenAI's own limit is 4,096 characters).
        workers: requests rendered at the same time (each Kokoro call already uses the cores it is given).
        queue: requests waiting for a render slot; the next one gets 429.
    """

    max_body_bytes: int = 64 * 1024
    max_chars: int = 4096
    workers: int = 1
    queue: int = 16


class ApiError(Exception):
    """An error answered as OpenAI-shaped JSON."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None,
                 kind: str = "invalid_request_error"):
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.kind = status, message, param, code, kind


def error_body(message: str, kind: str = "invalid_request_error", param: str | None = None,
               code: str | None = None) -> dict:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


class _BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes gets 413 (declared length or counted while read)."""

    def __init__(self, app: Any, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        seen = 0

        async def counted() -> dict:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return msg

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await self._refuse(send)

    async def _refuse(self, send: Callable) -> None:
        body = json.dumps(error_body(f"The request body is over {self.limit} bytes.", code="request_too_large"))
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body.encode()})


class _TooLarge(Exception):
    pass


class ApiInFront:
    """ASGI middleware: requests under ``/v1`` go to ``api`` (:func:`create_app`'s app, with its limits and JSON
    errors), every other request to the app it wraps. ``emotive demo`` puts the API in front of its Gradio app
    this way, so the demo's port serves the same routes as ``emotive serve``."""

    PREFIX = "/v1"

    def __init__(self, app: Any, api: Any):
        self.app, self.api = app, api

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path == self.PREFIX or path.startswith(self.PREFIX + "/"):
            await self.api(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def create_app(load_pipeline: Callable[[], Any] | None = None, limits: Limits = Limits(), warm: bool = True) -> Any:
    """The FastAPI app (wrapped in the body-size limit). ``load_pipeline``: returns the pipeline (default: the
    packaged Kokoro), called once at start-up, or by the first request when the app is served without its lifespan
    (behind :class:`ApiInFront`); ``warm`` renders one word at start-up so the first request does not pay for
    loading."""
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, Response, StreamingResponse
    from pydantic import BaseModel, ConfigDict, StrictFloat, StrictInt, StrictStr
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException as StarletteHTTPException

    state: dict[str, Any] = {"admitted": 0, "served": 0, "refused": 0, "slots": asyncio.Semaphore(limits.workers),
                             "loading": asyncio.Lock()}

    def load() -> Any:
        if load_pipeline is not None:
            return load_pipeline()
        from emotive.generators.speech.pipeline import EmotionalSpeechPipeline

        return EmotionalSpeechPipeline.from_pretrained()

    async def pipeline() -> Any:
        """The pipeline, loaded by the first request when the app runs without its lifespan (mounted in the demo:
        :class:`ApiInFront`)."""
        if "pipe" not in state:
            async with state["loading"]:
                if "pipe" not in state:
                    state["pipe"] = await run_in_threadpool(load)
        return state["pipe"]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pipe = await pipeline()
        if warm:
            await run_in_threadpool(pipe, "Hello.")
        yield

    app = FastAPI(title="emotive speech", description=__doc__, lifespan=lifespan, docs_url="/docs",
                  redoc_url=None)

    class SpeechRequest(BaseModel):
        model_config = ConfigDict(extra="ignore")
        model: StrictStr = MODEL
        input: StrictStr
        voice: StrictStr | None = None
        response_format: StrictStr | None = None
        speed: StrictFloat | StrictInt | None = None
        instructions: StrictStr | None = None
        stream_format: StrictStr | None = None
        emotion: StrictStr | None = None
        intensity: StrictFloat | StrictInt | None = None
        guidance: StrictFloat | StrictInt | None = None
        seed: StrictInt | None = None

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.message, exc.kind, exc.param, exc.code), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errs = exc.errors()
        first = errs[0] if errs else {}
        if first.get("type") == "json_invalid":
            return JSONResponse(error_body("The request body is not valid JSON.", code="invalid_json"), status_code=422)
        loc = [str(x) for x in first.get("loc", ()) if x != "body"]
        param = ".".join(loc) or None
        msg = str(first.get("msg", "invalid request"))
        text = f"{param}: {msg}" if param else f"The request body does not fit this route: {msg}"
        return JSONResponse(error_body(text[:300], param=param, code="invalid_type"), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(error_body(str(exc.detail), "invalid_request_error" if exc.status_code < 500
                                       else "server_error"), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(error_body(f"Internal error: {type(exc).__name__}.", "server_error"), status_code=500)

    @app.get("/v1/models")
    async def models() -> dict:
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "emotive"} for m in (MODEL, *MODEL_ALIASES)]
        return {"object": "list", "data": data}

    @app.get("/v1/voices")
    async def voices() -> dict:
        pipe = await pipeline()
        data = [{"id": v, "object": "voice"} for v in pipe.voices]
        data += [{"id": k, "object": "voice", "alias_of": v} for k, v in OPENAI_VOICES.items() if k not in pipe.voices]
        return {"object": "list", "data": data, "default": pipe.voices[0]}

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", "admitted": state["admitted"], "served": state["served"], "refused": state["refused"]}

    @app.post("/v1/audio/speech")
    async def speech(req: SpeechRequest) -> Any:
        job = _check(req, await pipeline(), limits)
        if state["admitted"] >= limits.workers + limits.queue:
            state["refused"] += 1
            raise ApiError(429, f"The server is busy ({limits.workers} rendering, {limits.queue} waiting); retry "
                           "shortly.", code="rate_limit_exceeded", kind="rate_limit_error")
        state["admitted"] += 1
        released = False
        slots: asyncio.Semaphore = state["slots"]

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                state["admitted"] -= 1
                slots.release()

        acquired = False
        try:
            await slots.acquire()
            acquired = True
            return await _respond(job, release)
        except BaseException:
            if acquired:
                release()
            else:
                state["admitted"] -= 1
            raise

    async def _respond(job: dict, release: Callable[[], None]) -> Any:
        pipe = state["pipe"]
        fmt, sse = job["format"], job["sse"]
        it = pipe.stream(job["text"], **job["kw"])
        first = await run_in_threadpool(_first_chunk, it)
        sr = first.sample_rate
        emo = job["kw"]["emotion"]
        headers = {"x-emotion": emo.label, "x-emotion-spec": str(emo)[:200], "x-voice": job["kw"]["voice"]}
        if fmt in ("flac", "mp3") and not sse:
            import numpy as np

            rest = await run_in_threadpool(list, it)
            release()
            state["served"] += 1
            wav = np.concatenate([first.waveform, *(c.waveform for c in rest)])
            data = await run_in_threadpool(encode, wav, sr, fmt)
            return Response(data, media_type=MEDIA_TYPES[fmt], headers=headers)

        async def audio() -> AsyncIterator[bytes]:
            try:
                if fmt == "wav":
                    yield wav_header(sr)
                yield pcm16(first.waveform, sr)
                while (chunk := await run_in_threadpool(next, it, None)) is not None:
                    yield pcm16(chunk.waveform, sr)
                state["served"] += 1
            finally:
                release()

        async def events() -> AsyncIterator[bytes]:
            async for data in audio():
                event = {"type": "speech.audio.delta", "audio": base64.b64encode(data).decode()}
                yield f"data: {json.dumps(event)}\n\n".encode()
            yield b'data: {"type": "speech.audio.done"}\n\n'

        body = events() if sse else audio()
        weakref.finalize(body, release)   # a client gone before the first byte: the body never runs its finally
        return StreamingResponse(body, media_type="text/event-stream" if sse else MEDIA_TYPES[fmt], headers=headers)

    return _BodyLimit(app, limits.max_body_bytes) if limits.max_body_bytes else app


def _first_chunk(it: Any) -> Any:
    """The stream's first chunk; the pipeline's refusals (bad text, tag, voice) become 400s before any byte."""
    from emotive.conditioning import EmotiveError

    try:
        return next(it)
    except EmotiveError as e:
        raise ApiError(400, str(e), param="input") from None


def _finite(name: str, x: float | None, lo: float, hi: float) -> float | None:
    if x is None:
        return None
    if not (math.isfinite(x) and lo <= x <= hi):
        raise ApiError(400, f"{name} must be a number from {lo:g} to {hi:g}, got {x!r}.", param=name)
    return float(x)


def _check(req: Any, pipe: Any, limits: Limits) -> dict:
    """A request -> the pipeline's arguments; every refusal is one 400 naming its field."""
    import torch

    from emotive.apps.seeds import check_seed
    from emotive.conditioning import Emotion, EmotiveError

    if req.model not in (MODEL, *MODEL_ALIASES):
        raise ApiError(400, f"Unknown model {req.model[:40]!r}; use {MODEL} (or {', '.join(MODEL_ALIASES)}).",
                       param="model", code="model_not_found")
    if not req.input.strip():
        raise ApiError(400, "input is empty; give the text to speak.", param="input")
    if len(req.input) > limits.max_chars:
        raise ApiError(400, f"input is {len(req.input)} characters; the limit is {limits.max_chars}.",
                       param="input", code="string_above_max_length")
    fmt = (req.response_format or ("mp3" if mp3_available() else "wav")).lower()
    if fmt not in FORMATS or (fmt == "mp3" and not mp3_available()):
        have = [f for f in FORMATS if f != "mp3" or mp3_available()]
        raise ApiError(400, f"response_format {fmt[:20]!r} is not available here; use one of {', '.join(have)}.",
                       param="response_format")
    sse = (req.stream_format or "audio").lower()
    if sse not in ("audio", "sse"):
        raise ApiError(400, "stream_format must be 'audio' or 'sse'.", param="stream_format")
    if sse == "sse" and fmt not in ("wav", "pcm"):
        raise ApiError(400, "stream_format 'sse' sends wav or pcm audio; ask for one of those.",
                       param="stream_format")
    speed = _finite("speed", req.speed, *SPEED_RANGE)
    intensity = _finite("intensity", req.intensity, 0.0, 1.0)
    guidance = _finite("guidance", req.guidance, *GUIDANCE_RANGE)
    try:
        seed = check_seed(req.seed if req.seed is not None else 0)
    except EmotiveError as e:
        raise ApiError(400, str(e), param="seed") from None
    spec, param = (req.emotion, "emotion") if req.emotion is not None else (req.instructions, "instructions")
    try:
        emotion = Emotion.parse(spec) if spec is not None and spec.strip() else Emotion.neutral()
        if intensity is not None:
            emotion = emotion.with_intensity(intensity)
        if guidance is not None:
            emotion = emotion.with_intensity(min(1.0, emotion.intensity * guidance))
    except EmotiveError as e:
        raise ApiError(400, str(e), param=param) from None
    voice = req.voice or pipe.voices[0]
    voice = OPENAI_VOICES.get(voice, voice) if voice not in pipe.voices else voice
    try:
        voice = pipe.voice_bank.canonical(voice)
    except EmotiveError as e:
        raise ApiError(400, str(e), param="voice") from None
    kw = dict(emotion=emotion, voice=voice, generator=torch.Generator().manual_seed(seed),
              pace=1.0 / speed if speed else 1.0, engine=SERVER_ENGINE)
    return {"text": req.input, "kw": kw, "format": fmt, "sse": sse == "sse"}
