"""The daemon: ``cursor-tracker daemon``, an aiohttp service beside the command line and the
console. It runs the hourly job by itself, serves ``POST /api/cron`` for outside schedulers, a
JSON API for scripts, ``/healthz`` and ``/metrics``; its handlers are thin calls into the core.
"""
