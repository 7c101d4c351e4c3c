"""Measures the evidence rule of monitor/ingest/mislabel.py on real text (run by hand).

A feed that declares a single-byte legacy encoding is read as UTF-8 when its whole body
is strict UTF-8 with at least MIN_DISTINCT distinct multibyte characters. This prints how
often genuine legacy text passes (false positives) and how often UTF-8 text does
(recall), for 1 to 5 distinct characters, on:

- every translated string of the gettext catalogs under /usr/share/locale (real text:
  25 languages, each encoded in the windows-125x code page its sites used), alone and
  in capitals (``NESTLÉ®``: capitals before symbols pair up as UTF-8);
- feed documents of 1 to 20 items (title and description) of random such strings,
  half of them in capitals;
- every document under tests/data and the shared real-world cases that declares a
  legacy encoding.

    PYTHONPATH=. python bench/mislabel.py [SHARED_FIXTURES_DIR]

The numbers it printed are in docs/feeds.md ("UTF-8 declared as a legacy encoding").
Seeded: the same catalogs give the same numbers.
"""

from __future__ import annotations

import collections
import gettext
import glob
import random
import re
import sys
from pathlib import Path
from xml.sax.saxutils import escape

from monitor.ingest.charset import declared_encoding, legacy_label

LANGS = {
    "cp1252": ["fr", "de", "es", "it", "pt", "pt_BR", "nl", "sv", "da", "nb", "fi", "ca"],
    "cp1250": ["pl", "cs", "hu", "sk", "ro"],
    "cp1251": ["ru", "uk", "bg"],
    "cp1253": ["el"],
    "cp1254": ["tr"],
    "cp1257": ["lt"],
    "cp1255": ["he"],
    "cp1256": ["ar"],
}
K = (1, 2, 3, 4, 5)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def strings(lang: str, encoding: str) -> list[str]:
    """The translated strings of ``lang``'s catalogs that ``encoding`` can write."""
    found = set()
    for path in glob.glob(f"/usr/share/locale/{lang}/LC_MESSAGES/*.mo"):
        try:
            with open(path, "rb") as file:
                catalog = gettext.GNUTranslations(file)._catalog  # type: ignore[attr-defined]
        except Exception:
            continue
        for key, value in catalog.items():
            text = value.strip() if key and isinstance(value, str) else ""
            if len(text) >= 3 and not _CONTROL.search(text):
                found.add(text)
    return sorted(t for t in found if _writable(t, encoding))


def _writable(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def distinct(body: bytes) -> int | None:
    """Distinct multibyte characters of ``body`` if it is strict UTF-8, else None."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return len(set(_MULTIBYTE.findall(body)))


def document(texts: list[str], encoding: str) -> str:
    items = "".join(
        f"<item><guid>g{n}</guid><title>{escape(a)}</title>"
        f"<description>{escape(b)}</description></item>"
        for n, (a, b) in enumerate(zip(texts[::2], texts[1::2], strict=True))
    )
    return (
        f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel>'
        f"<title>t</title>{items}</channel></rss>"
    )


def row(label: str, total: int, counts: collections.Counter) -> None:
    ge = ", ".join(f">={k}: {counts[k]}" for k in K)
    print(f"{label}: {total} with non-ASCII bytes, valid UTF-8 {counts['valid']}, {ge}")


def single_strings(pools: dict[tuple[str, str], list[str]]) -> None:
    for variant in ("as written", "in capitals"):
        total, counts = 0, collections.Counter()
        for (encoding, _), pool in pools.items():
            for text in pool:
                text = text.upper() if variant == "in capitals" else text
                if not _writable(text, encoding) or text.isascii():
                    continue
                total += 1
                found = distinct(text.encode(encoding))
                if found is not None:
                    counts["valid"] += 1
                    counts.update(k for k in K if found >= k)
        row(f"strings {variant}", total, counts)


def documents(pools: dict[tuple[str, str], list[str]], rng: random.Random) -> None:
    print("documents: legacy bytes (false positives) | the same as UTF-8 (recall)")
    per_pool = 400  # documents per language and size
    for n_items in (1, 2, 3, 5, 10, 20):
        total, counts, recall = 0, collections.Counter(), collections.Counter()
        for (encoding, _), pool in pools.items():
            for _ in range(per_pool):
                texts = [rng.choice(pool) for _ in range(2 * n_items)]
                if rng.random() < 0.5:
                    texts = [t.upper() if len(t) < 80 else t for t in texts]
                    if not all(_writable(t, encoding) for t in texts):
                        continue
                text = document(texts, encoding)
                legacy = text.encode(encoding)
                if legacy.isascii():
                    continue
                total += 1
                found = distinct(legacy)
                if found is not None:
                    counts["valid"] += 1
                    counts.update(k for k in K if found >= k)
                utf8 = distinct(text.encode()) or 0
                recall.update(k for k in K if utf8 >= k)
        shown = ", ".join(f">={k}: {recall[k] / total:.3f}" for k in K)
        row(f"N={n_items:2d}", total, counts)
        print(f"      recall {shown}")


def fixtures(roots: list[Path]) -> None:
    total = valid = 0
    for root in roots:
        for path in sorted(root.rglob("*")):
            if not path.is_file() or path.suffix not in (".xml", ".rss", ".atom", ".rdf"):
                continue
            body = path.read_bytes()
            declared = declared_encoding(body, None)
            if declared and legacy_label(declared[0]) and not body.isascii():
                total += 1
                valid += distinct(body) is not None
    print(f"fixtures declared legacy, with non-ASCII bytes: {total}, valid UTF-8: {valid}")


def main() -> None:
    pools = {(e, lang): strings(lang, e) for e, langs in LANGS.items() for lang in langs}
    pools = {k: v for k, v in pools.items() if v}
    single_strings(pools)
    documents(pools, random.Random(1))
    fixtures([DATA, *(Path(a) for a in sys.argv[1:])])


if __name__ == "__main__":
    main()
