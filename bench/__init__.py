"""`make bench`: the service under load, next to the two ceilings it cannot beat.

One command starts its own PostgreSQL (or uses BENCH_DATABASE_URL), migrates it, loads
a realistic corpus (bench/corpus.py), measures a bare Litestar endpoint and raw asyncpg
behind the same granian settings (bench/ceilings.py), then the real service with
authentication, rate limits, ETags, metrics and logs switched on, each endpoint driven
by wrk (bench/wrk/requests.lua), and finally a soak that watches every worker's memory.
It prints one table and writes the figures as JSON (bench/run.py).
"""
