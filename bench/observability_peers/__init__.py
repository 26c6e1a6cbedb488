"""The servers of bench/observability.py (served by uvicorn with ``--app-dir bench``)."""
