"""news-monitor: polls news feeds, matches items against watch rules, delivers alerts."""

__version__ = "0.1.0"
USER_AGENT = f"news-monitor/{__version__} (+https://github.com/news-monitor/news-monitor)"
