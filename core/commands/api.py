"""API commands: serve, drift, canary."""

from __future__ import annotations

import os

from core.models import registry as model_registry
from core.serving import (
    DEFAULT_CANARY_SHARE,
    build_reference,
    clear_canary,
    drift_report,
    promote_canary,
    read_canary,
    require_api_token,
    set_canary,
)


def register(sub) -> None:
    p = sub.add_parser("serve", help="serve the models over HTTP (FastAPI; bearer token from MHD_API_TOKEN)")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--no-preload-llm", action="store_true", help="load the LLM on its first request instead")
    p.set_defaults(func=serve)

    p = sub.add_parser("drift", help="per-head drift of recent predictions against the version's reference (PSI, KS)")
    p.add_argument("--since", default="30d", help="window: 30d, 12h, 2w, 90m or an ISO date (default 30d)")
    p.add_argument("--version", help="only this heads version (default: every version that served)")
    p.add_argument("--build-reference", metavar="VERSION", nargs="?", const="latest",
                   help="score the reference corpus with VERSION (default latest) and save it, then report")
    p.set_defaults(func=drift)

    p = sub.add_parser("canary", help="route a share of /predict traffic to a candidate heads version")
    csub = p.add_subparsers(dest="canary_command", metavar="ACTION")
    csub.required = True
    c = csub.add_parser("set", help="send --share of texts to VERSION")
    c.add_argument("version")
    c.add_argument("--share", type=float, default=None, help="fraction of texts, 0 < share <= 1 (default 0.1)")
    c.set_defaults(func=canary_set)
    c = csub.add_parser("clear", help="stop the canary (roll the candidate back; LATEST is unchanged)")
    c.set_defaults(func=canary_clear)
    c = csub.add_parser("promote", help="make the candidate LATEST (validation gate applies) and stop the canary")
    c.add_argument("--force", action="store_true", help="promote even if the candidate failed its gate")
    c.set_defaults(func=canary_promote)
    c = csub.add_parser("status", help="show the serving version and the canary")
    c.set_defaults(func=canary_status)


def serve(args, settings) -> int:
    import uvicorn

    require_api_token(settings)  # before any model loads
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: binding {args.host}: the API is reachable from other machines; put TLS in front of it")
    print(f"mhdash API on http://{args.host}:{args.port} (OpenAPI: /docs, /openapi.json; cache: "
          f"{'redis' if os.environ.get('REDIS_URL') else 'memory'})")
    # The HTTP front end lives in api/; uvicorn imports its factory by name, so core never imports it.
    os.environ["MHD_SERVE_PRELOAD_LLM"] = "0" if args.no_preload_llm else "1"
    if getattr(args, "config", None):
        os.environ["MHD_SERVE_CONFIG"] = str(args.config)
    uvicorn.run("api.main:app_from_environment", factory=True, host=args.host, port=args.port, log_level="info",
                access_log=False)
    return 0


def drift(args, settings) -> int:

    if args.build_reference:
        path = build_reference(settings, args.build_reference)
        print(f"reference saved: {path}")
    df = drift_report(settings, args.since, version=args.version)
    if df.empty:
        print(f"no predictions logged since {df.attrs['since']}")
        return 0
    print(f"drift since {df.attrs['since']} (PSI < 0.10 stable, 0.10-0.25 moderate, >= 0.25 major; KS alpha 0.01)")
    print(df.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    missing = sorted(df.loc[df["status"] == "no reference", "version"].unique())
    if missing:
        print(f"no reference saved for {', '.join(missing)}: run `python -m core drift --build-reference VERSION`")
    return 0


def canary_set(args, settings) -> int:

    c = set_canary(settings.heads_dir, args.version,
                   DEFAULT_CANARY_SHARE if args.share is None else args.share)
    print(f"canary: {c.share:.0%} of texts go to {c.version}")
    return 0


def canary_clear(args, settings) -> int:

    c = clear_canary(settings.heads_dir)
    print(f"canary {c.version} stopped" if c else "no canary was set")
    return 0


def canary_promote(args, settings) -> int:

    version = promote_canary(settings.heads_dir, force=args.force)
    print(f"{version} is now LATEST; canary stopped")
    return 0


def canary_status(args, settings) -> int:

    print(f"serving (LATEST): {model_registry.latest(settings.heads_dir) or 'none'}")
    c = read_canary(settings.heads_dir)
    print(f"canary: {c.version} at {c.share:.0%} since {c.set_at}" if c else "canary: none")
    return 0
