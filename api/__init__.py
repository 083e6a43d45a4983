"""HTTP API over the core library (FastAPI): prediction, LLM analysis, OpenAI-compatible completions, ops.

Start it with ``python -m core serve``; ``api.main.create_app`` builds the app.
"""
