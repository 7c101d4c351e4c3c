"""The service: the long-running daemon and what keeps it going.

``daemon`` (state lock, signals, reload, clean shutdown), ``jobs`` (what each scheduled
job runs and when), ``scheduling`` (APScheduler wiring for clock jumps and coalescing),
``reload`` (a new config checked and swapped in), ``health`` (the daemon's health check)
and ``sdnotify`` (systemd notify and watchdog). Nothing in a stage imports this package.
"""
