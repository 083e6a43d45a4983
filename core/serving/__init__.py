"""Model operations behind the API: the output cache, canary routing, drift monitoring and the model server.

``from core import serving`` gives the public surface; each idea lives in its own module:
``cache`` (keyed text hash, in-process and Redis caches), ``canary`` (routing a share of texts to a candidate
heads version), ``drift`` (PSI and KS against a version's reference, kept in ``core.models.reference``), ``server`` (token policy, prediction log,
``ModelServer``).
"""

from core.models.reference import REFERENCE_FILE, REFERENCE_SAMPLE, build_reference, load_reference, save_reference
from core.serving.cache import (
    CACHE_MAX_ENTRIES,
    CACHE_TTL_SECONDS,
    HASH_KEY_FILE,
    RedisCache,
    TTLCache,
    make_cache,
    text_hash,
)
from core.serving.canary import (
    CANARY_FILE,
    DEFAULT_CANARY_SHARE,
    Canary,
    clear_canary,
    promote_canary,
    read_canary,
    route,
    set_canary,
)
from core.serving.drift import drift_report, ks, parse_since, psi
from core.serving.server import PREDICT_ENDPOINTS, ModelServer, log_predictions, prediction_rows, require_api_token

__all__ = [
    "CACHE_TTL_SECONDS", "CACHE_MAX_ENTRIES", "HASH_KEY_FILE", "TTLCache", "RedisCache", "make_cache", "text_hash",
    "CANARY_FILE", "DEFAULT_CANARY_SHARE", "Canary", "read_canary", "set_canary", "clear_canary", "promote_canary",
    "route", "REFERENCE_FILE", "REFERENCE_SAMPLE", "parse_since", "psi", "ks", "save_reference", "load_reference",
    "build_reference", "drift_report", "PREDICT_ENDPOINTS", "ModelServer", "require_api_token", "prediction_rows",
    "log_predictions",
]
