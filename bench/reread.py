"""Measures monitor/ingest/reread.py's rule on real text (run by hand).

feedparser reads a field of a UTF-8 document again as UTF-8 when its text is all
ISO-8859-1 and those bytes are valid UTF-8: it repairs double-encoded text and misreads
genuine text that pairs up by chance (``NESTLÉ®``). ``reread.plausible`` keeps the
first and refuses the second. This prints, on every translated string of the gettext
catalogs under /usr/share/locale (every language the machine has), as written and in
capitals (capitals before symbols pair up):

- genuine text: how many strings feedparser misreads, and how many of those the rule
  refuses (each one a field read right) or keeps (still misread);
- double-encoded text (the string's UTF-8 bytes read as ISO-8859-1, what a template
  that encodes twice publishes): how many feedparser repairs, and how many of those
  the rule keeps (its recall); a refused one stays double-encoded, as it would be
  without feedparser's guess.

    PYTHONPATH=. python bench/reread.py

The numbers it printed are in docs/feeds.md ("Fields read again as UTF-8").
"""

from __future__ import annotations

import collections
import gettext
import glob
from pathlib import Path

from monitor.ingest.reread import plausible

SHOWN = 12  # refused double-encoded strings printed, to read what is lost


def catalog_strings() -> dict[str, set[str]]:
    """The translated strings of every catalog under /usr/share/locale, by language."""
    found: dict[str, set[str]] = collections.defaultdict(set)
    for path in glob.glob("/usr/share/locale/*/LC_MESSAGES/*.mo"):
        lang = Path(path).parts[-3]
        try:
            with open(path, "rb") as file:
                catalog = gettext.GNUTranslations(file)._catalog  # type: ignore[attr-defined]
        except Exception:
            continue
        for value in catalog.values():
            if isinstance(value, str) and value and not value.isascii():
                found[lang].add(value)
    return found


def reread(text: str) -> str | None:
    """feedparser's re-reading of ``text``, or None when it does not re-read it."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return None


def genuine(texts: list[str], label: str) -> None:
    """Genuine strings feedparser misreads, and what the rule does with them."""
    misread = [t for t in texts if reread(t) not in (None, t)]
    refused = [t for t in misread if not plausible(t)]
    print(
        f"genuine, {label}: {len(texts):,} strings, feedparser misreads {len(misread):,}, "
        f"the rule refuses {len(refused):,}, still misread {len(misread) - len(refused):,}"
    )
    for text in refused[:SHOWN]:
        print(f"    refused: {text[:60]!r} (feedparser: {reread(text)[:60]!r})")
    for text in [t for t in misread if plausible(t)][:SHOWN]:
        print(f"    kept: {text[:60]!r} -> {reread(text)[:60]!r}")


def doubled(texts: list[str], label: str) -> None:
    """Double-encoded strings feedparser repairs, and how many the rule keeps."""
    mojibake = [t.encode("utf-8").decode("latin-1") for t in texts]
    repaired = [m for m in mojibake if reread(m) is not None]
    refused = [m for m in repaired if not plausible(m)]
    share = 100 * (len(repaired) - len(refused)) / max(1, len(repaired))
    print(
        f"double-encoded, {label}: {len(texts):,} strings, feedparser repairs "
        f"{len(repaired):,}, the rule keeps {len(repaired) - len(refused):,} ({share:.3f} %)"
    )
    for text in refused[:SHOWN]:
        print(f"    refused: {reread(text)[:60]!r}")


def main() -> None:
    """Print both measurements, for the strings as written and in capitals."""
    found = catalog_strings()
    texts = sorted({t for values in found.values() for t in values})
    print(f"{len(found)} languages, {len(texts):,} distinct strings with non-ASCII text")
    capitals = sorted({t.upper() for t in texts} - set(texts))
    for label, pool in (("as written", texts), ("in capitals", capitals)):
        genuine(pool, label)
        doubled(pool, label)


if __name__ == "__main__":
    main()
