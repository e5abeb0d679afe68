"""The project's one schedule, run by `registry cron` (RQ's own cron scheduler); run exactly one."""

from rq.cron import CronScheduler

from registry.tasks import purge_expired_login_sessions

# Each entry: (function, queue, RQ cron keyword arguments). Cron strings are read in the
# scheduler process's local time, which `registry cron` sets to Asia/Shanghai.
SCHEDULE = [
    (purge_expired_login_sessions, "maintenance", {"interval": 3600, "name": "purge-expired-login-sessions"}),
]


def build_scheduler(connection) -> CronScheduler:
    scheduler = CronScheduler(connection=connection, name="registry-cron")
    for func, queue, options in SCHEDULE:
        scheduler.register(func, queue_name=queue, job_timeout=600, **options)
    return scheduler
