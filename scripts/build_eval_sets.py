#!/usr/bin/env python3
"""Builds the MiniLM evaluation sets: >= 1,000 plain English sentences from
text that is installed on this machine (nothing is downloaded), split into a
calibration set and an evaluation set that share no sentence.

    python3 scripts/build_eval_sets.py [--out test/Inputs/eval_sets]
    python3 scripts/build_eval_sets.py --check   # rebuild from the recorded
                                                 # sources, compare sha256

Sources (sorted by path; symbolic links and files with identical bytes are
read once):

    /usr/share/common-licenses/*          licence texts (base-files)
    /usr/share/doc/*/copyright            Debian copyright files
    /usr/share/doc/**/README*             package READMEs (.gz read as text)

Each file is cut into paragraphs (blank lines), a paragraph's lines are
joined, markup is stripped and the paragraph is split into sentences. A
sentence is kept when it reads as prose: 6 to 30 words, 40 to 200
characters, starts with a capital letter and ends with . ! or ?, at least
80 % of its characters are letters or spaces, few capitals (no shouted
licence clauses), and no URL, e-mail address, path, code punctuation or
licence boilerplate markers (see is_prose()). Sentences are deduplicated on
a normalised key (lower case, letters and digits only), so two sentences
that differ only in case, whitespace or punctuation count as one. At most
MAX_PER_SOURCE sentences come from one file (so that one long README does
not make the set about one topic); which ones, and the order of the final
sets, are decided by sha256(SEED + key), which is independent of the Python
and numpy versions. The first CALIBRATION_SIZE sentences in that order are
the calibration set, the next EVALUATION_SIZE the evaluation set.

Writes OUT/minilm_calibration.json, OUT/minilm_evaluation.json (JSON lists
of strings) and OUT/provenance.json (every source file that gave a sentence, with
its sha256 and the number of sentences taken from it, the counts at each filter stage, and
the sha256 of each set file). The same sources give the same bytes.

As a module: load_sets(directory) -> (calibration, evaluation),
normalise(sentence), sentences_from_text(text), select(candidates, ...),
build(out_dir, sources=None).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "test" / "Inputs" / "eval_sets"
CALIBRATION_FILE = "minilm_calibration.json"
EVALUATION_FILE = "minilm_evaluation.json"
PROVENANCE_FILE = "provenance.json"

SEED = "lowbit-eval-sets-v1"
CALIBRATION_SIZE = 128
EVALUATION_SIZE = 1024
MAX_PER_SOURCE = 12

MIN_WORDS, MAX_WORDS = 6, 30
MIN_CHARS, MAX_CHARS = 40, 200
MIN_LETTER_FRACTION = 0.80
MAX_CAPITAL_FRACTION = 0.15
MAX_READ_BYTES = 2_000_000

SOURCE_PATTERNS = (
    ("/usr/share/common-licenses", "*"),
    ("/usr/share/doc", "*/copyright"),
    ("/usr/share/doc", "**/README*"),
)

_URL = re.compile(r"(https?://|ftp://|www\.|\w@\w|\.(com|org|net|html?|txt|py|c|h|gz|so)\b)", re.I)
_CODE = re.compile(r"[{}<>=_|\\#*`$\[\]~^]|/|\.\.|::|->|;\s*$|\(\)")
_BOILERPLATE = re.compile(
    r"\b(copyright|\(c\)|all rights reserved|license|licen[cs]e[ds]?|gnu|gpl|lgpl|fsf|warrant\w*|"
    r"merchantability|fitness for a particular|debian|ubuntu|maintainer|upstream|dfsg|"
    r"redistribut\w*|sublicens\w*)\b", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[\"'(]?[A-Z])")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "cf.", "Mr.", "Dr.", "Inc.", "Ltd.", "No.", "St.", "al.")


def normalise(sentence: str) -> str:
    """The deduplication key: lower case, letters and digits only, one space
    between words. Two sentences with the same key count as the same one."""
    return " ".join(re.findall(r"[a-z0-9]+", sentence.lower()))


def _rank(key: str) -> str:
    return hashlib.sha256((SEED + "\0" + key).encode("utf-8")).hexdigest()


def is_prose(sentence: str) -> bool:
    """True for a sentence that reads as plain English prose (see the module
    docstring for the rules)."""
    words = sentence.split()
    if not (MIN_WORDS <= len(words) <= MAX_WORDS and MIN_CHARS <= len(sentence) <= MAX_CHARS):
        return False
    if not sentence[0].isupper() or sentence[-1] not in ".!?":
        return False
    if not sentence.isascii() or _URL.search(sentence) or _CODE.search(sentence):
        return False
    if _BOILERPLATE.search(sentence):
        return False
    letters = sum(c.isalpha() for c in sentence)
    if (letters + sentence.count(" ")) / len(sentence) < MIN_LETTER_FRACTION:
        return False
    capitals = sum(c.isupper() for c in sentence)
    if capitals / max(letters, 1) > MAX_CAPITAL_FRACTION:
        return False
    if sum(c.isdigit() for c in sentence) > 4:
        return False
    # Mostly real words: a word of letters with at most one trailing mark.
    wordlike = sum(bool(re.fullmatch(r"[\"'(]?[A-Za-z][a-z'-]*[.,;:!?\"')]*", w)) for w in words)
    return wordlike / len(words) >= 0.9


def _paragraphs(text: str) -> list[str]:
    """Blank-line separated blocks, lines joined. Markdown headings, list
    bullets and Debian copyright-file field names are stripped; a block
    whose lines are indented by a tab or 4+ spaces (code) is dropped."""
    out = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        lines = [ln for ln in block.split("\n") if ln.strip() and ln.strip() != "."]
        if not lines:
            continue
        # Debian copyright files indent their text by one space; code by more.
        if all(ln.startswith(("\t", "    ")) for ln in lines):
            continue
        cleaned = []
        for ln in lines:
            ln = ln.strip()
            ln = re.sub(r"^(#+\s+|[-*+]\s+|\d+[.)]\s+|[A-Z][A-Za-z-]*:\s+)", "", ln)
            cleaned.append(ln)
        out.append(" ".join(cleaned))
    return out


def sentences_from_text(text: str) -> list[str]:
    """The prose sentences of a text, in order (not deduplicated)."""
    found = []
    for paragraph in _paragraphs(text):
        paragraph = re.sub(r"\s+", " ", paragraph).strip()
        pieces, current = [], ""
        for piece in _SENTENCE_END.split(paragraph):
            current = f"{current} {piece}".strip() if current else piece
            if not current.endswith(_ABBREVIATIONS):
                pieces.append(current)
                current = ""
        if current:
            pieces.append(current)
        found.extend(p.strip() for p in pieces if is_prose(p.strip()))
    return found


def discover_sources() -> list[Path]:
    """The candidate text files on this machine, sorted, each real file once."""
    seen, sources = set(), []
    for root, pattern in SOURCE_PATTERNS:
        root_path = Path(root)
        if not root_path.is_dir():
            continue
        for path in sorted(root_path.glob(pattern)):
            if path.is_symlink() or not path.is_file():
                continue
            if path.suffix in (".html", ".htm", ".pdf", ".png", ".svg", ".json", ".xml"):
                continue
            if str(path) not in seen:
                seen.add(str(path))
                sources.append(path)
    return sorted(sources, key=str)


def read_source(path: Path) -> bytes:
    return Path(path).read_bytes()[:MAX_READ_BYTES]


def decode(data: bytes, name: str) -> str:
    if name.endswith(".gz"):
        data = gzip.decompress(data)[:MAX_READ_BYTES]
    return data.decode("utf-8", errors="replace")


def select(candidates: list[tuple[str, list[str]]], calibration_size: int = CALIBRATION_SIZE,
           evaluation_size: int = EVALUATION_SIZE, max_per_source: int = MAX_PER_SOURCE):
    """candidates: [(source name, sentences)] in source order. Returns
    (calibration, evaluation, taken per source, stage counts). A sentence
    is attributed to the first source (in order) that has it."""
    seen: set[str] = set()
    pool: list[tuple[str, str]] = []  # (rank, sentence)
    per_source: dict[str, int] = {}
    total = unique = 0
    for name, sentences in candidates:
        fresh = {}
        for s in sentences:
            total += 1
            key = normalise(s)
            if key and key not in seen and key not in fresh:
                fresh[key] = s
        unique += len(fresh)
        chosen = sorted(fresh.items(), key=lambda kv: _rank(kv[0]))[:max_per_source]
        for key, s in chosen:
            seen.add(key)
            pool.append((_rank(key), s))
        # Keys not chosen stay available to a later source.
        per_source[name] = len(chosen)
    pool.sort()
    need = calibration_size + evaluation_size
    if len(pool) < need:
        raise SystemExit(f"build_eval_sets.py: only {len(pool)} sentences pass the filters, need {need}")
    calibration = [s for _, s in pool[:calibration_size]]
    evaluation = [s for _, s in pool[calibration_size:need]]
    counts = {"prose_sentences": total, "unique_per_source_sum": unique, "pool_after_cap": len(pool),
              "calibration": len(calibration), "evaluation": len(evaluation)}
    return calibration, evaluation, per_source, counts


def _dump(obj) -> bytes:
    return (json.dumps(obj, indent=1, ensure_ascii=True) + "\n").encode("ascii")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build(out_dir, sources: list[Path] | None = None) -> dict:
    """Reads the sources (default: discover_sources()), writes the three
    files into out_dir and returns the provenance record."""
    sources = discover_sources() if sources is None else [Path(s) for s in sources]
    files, candidates, digests_seen = [], [], set()
    for path in sources:
        data = read_source(path)
        digest = sha256_bytes(data)
        if digest in digests_seen:  # the same text installed twice
            continue
        digests_seen.add(digest)
        sentences = sentences_from_text(decode(data, path.name))
        candidates.append((str(path), sentences))
        files.append({"path": str(path), "sha256": digest, "bytes": len(data)})
    calibration, evaluation, per_source, counts = select(candidates)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    blobs = {CALIBRATION_FILE: _dump(calibration), EVALUATION_FILE: _dump(evaluation)}
    for name, blob in blobs.items():
        (out_dir / name).write_bytes(blob)
    used = [dict(f, sentences=per_source[f["path"]]) for f in files if per_source.get(f["path"])]
    provenance = {
        "generator": "scripts/build_eval_sets.py",
        "command": "python3 scripts/build_eval_sets.py",
        "seed": SEED,
        "rules": {"words": [MIN_WORDS, MAX_WORDS], "chars": [MIN_CHARS, MAX_CHARS],
                  "min_letter_fraction": MIN_LETTER_FRACTION, "max_capital_fraction": MAX_CAPITAL_FRACTION,
                  "max_per_source": MAX_PER_SOURCE, "dedup_key": "normalise(): lower case, [a-z0-9]+ words"},
        "counts": {"source_files_read": len(files), "source_files_used": len(used), **counts},
        "sets": {name: {"sha256": sha256_bytes(blob), "sentences": len(json.loads(blob))}
                 for name, blob in blobs.items()},
        # The files that gave a sentence. A file that gave none had only
        # sentences already taken from an earlier file (or none that pass
        # the filters), so a rebuild from these alone gives the same bytes.
        "sources": used,
    }
    (out_dir / PROVENANCE_FILE).write_bytes(_dump(provenance))
    return provenance


def load_sets(directory=DEFAULT_OUT) -> tuple[list[str], list[str]]:
    directory = Path(directory)
    return (json.loads((directory / CALIBRATION_FILE).read_text()),
            json.loads((directory / EVALUATION_FILE).read_text()))


def recorded_sources(directory=DEFAULT_OUT) -> tuple[list[Path], list[str]]:
    """The source files a provenance file lists, and the problems that stop
    a byte-identical rebuild here (a file missing or with other bytes)."""
    provenance = json.loads((Path(directory) / PROVENANCE_FILE).read_text())
    paths, problems = [], []
    for f in provenance["sources"]:
        path = Path(f["path"])
        paths.append(path)
        if not path.is_file():
            problems.append(f"{path} is missing")
        elif sha256_bytes(read_source(path)) != f["sha256"]:
            problems.append(f"{path} has other bytes than recorded")
    return paths, problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    parser.add_argument("--check", action="store_true",
                        help="rebuild from the sources recorded in OUT/provenance.json into a temporary "
                             "folder and compare the set files' sha256 with the recorded ones")
    args = parser.parse_args(argv)
    if args.check:
        import tempfile

        paths, problems = recorded_sources(args.out)
        if problems:
            print("build_eval_sets: cannot rebuild byte-identically here:\n  " + "\n  ".join(problems[:10]))
            return 2
        recorded = json.loads((args.out / PROVENANCE_FILE).read_text())["sets"]
        with tempfile.TemporaryDirectory() as tmp:
            rebuilt = build(tmp, paths)["sets"]
        ok = all(rebuilt[n]["sha256"] == recorded[n]["sha256"] for n in recorded)
        for name in recorded:
            print(f"{name}: recorded {recorded[name]['sha256'][:16]} rebuilt {rebuilt[name]['sha256'][:16]}")
        print("build_eval_sets: " + ("identical" if ok else "DIFFERENT"))
        return 0 if ok else 1
    provenance = build(args.out)
    counts = provenance["counts"]
    print(f"build_eval_sets: {counts['source_files_read']} files read, {counts['source_files_used']} used, "
          f"{counts['prose_sentences']} prose sentences, {counts['pool_after_cap']} after dedup and the "
          f"per-file cap of {MAX_PER_SOURCE}")
    for name, info in provenance["sets"].items():
        size = (args.out / name).stat().st_size
        print(f"build_eval_sets: wrote {args.out / name} ({info['sentences']} sentences, {size} bytes, "
              f"sha256 {info['sha256']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
