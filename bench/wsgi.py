"""The application as gunicorn serves it for the benchmark, plus the trivial endpoint used as a floor.

    DATABASE_URL=... SECRET_KEY=... gunicorn -w 2 'bench.wsgi:app'

The only differences from production are the login rate limit (fifty users log in from one address at
once) and /bench/ping, which touches neither the database nor the session: what a request costs when
the framework does nothing, under the same load.
"""

from __future__ import annotations

from registry import create_app


def bench_app():
    app = create_app({"LOGIN_RATE_LIMIT": "100000 per minute"})

    @app.get("/bench/ping")
    def bench_ping():
        return "ok", 200, {"Content-Type": "text/plain"}

    return app


app = bench_app()
