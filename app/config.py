"""Default settings; every key can be overridden by a BUSI_-prefixed environment variable.

`create_app` loads this class, then `BUSI_*` variables (values parsed as JSON when they
parse, so BUSI_MAX_CONTENT_LENGTH=5242880 is an int), then the mapping given to it.
"""
from __future__ import annotations

from inference import imaging, paths

MEGABYTE = 1024 * 1024


class Config:
    MODELS_DIR = str(paths.MODELS_DIR)
    # Threads per LiteRT interpreter; None: the model card's (1: two gunicorn workers then
    # do not fight over two cores). Raise it for one worker on a bigger machine.
    MODEL_THREADS: int | None = None

    # Uploads. A request larger than this is refused with 413 before it is read.
    MAX_CONTENT_LENGTH = 10 * MEGABYTE
    # Own pixel limit, checked from the file header before any pixel is decoded (it also bounds
    # memory: inference/imaging.py says how), and the smallest side analysed.
    MAX_IMAGE_PIXELS = imaging.MAX_IMAGE_PIXELS
    MIN_IMAGE_SIDE = imaging.MIN_IMAGE_SIDE
    # Uploads a minute per client address, enforced by the proxy (scripts/serve.sh's nginx, or
    # the Ingress), 10 at once allowed; 0: no limit. The app only says when to try again.
    RATE_LIMIT = 60

    # Signs the session cookie that carries the CSRF token. None: a random key per
    # process (gunicorn.conf.py shares one across its workers); set BUSI_SECRET_KEY
    # when several hosts serve the same site.
    SECRET_KEY: str | None = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Set BUSI_SESSION_COOKIE_SECURE=true when served over HTTPS (it should be).
    SESSION_COOKIE_SECURE = False
    # Tokens live as long as the page may sit open before the upload.
    WTF_CSRF_TIME_LIMIT = 3600 * 4

    # Nearest centres (app.location.online.Geocoder reads these): offline gazetteer only by
    # default. Online, OpenStreetMap's Nominatim policy needs an agent that identifies the
    # deployment, e.g. "busi-triage/1.0 (+https://your.site/contact)".
    GEOCODER_ONLINE = False
    GEOCODER_USER_AGENT: str | None = None
    GEOCODER_TIMEOUT = 3  # seconds
    GEOCODER_CACHE_SIZE = 512  # answers kept, to keep Nominatim traffic low
    CENTRES_LIMIT = 3

