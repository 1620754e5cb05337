"""Property-based ingest of hostile files: whatever lies beside a good article, it is indexed and found.

Bounded in `make test`; `make fuzz` runs many more examples (RAG_FUZZ_EXAMPLES).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.loaders import SUPPORTED_SUFFIXES, Candidate, SkipFile, load_documents
from tests.helpers import GOOD, rag

pytestmark = pytest.mark.fuzz
EXAMPLES = int(os.environ.get("RAG_FUZZ_EXAMPLES", "0"))
ENCODINGS = ["utf-8", "utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252", "shift_jis", "koi8-r", "gb18030"]
BOMS = [b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"]

text_in_an_encoding = st.builds(
    lambda text, enc: text.encode(enc, errors="replace"), st.text(max_size=600), st.sampled_from(ENCODINGS)
)
truncated_multibyte = st.builds(
    lambda text, cut: text.encode("utf-8")[: max(1, len(text.encode("utf-8")) - cut)],
    st.text(alphabet="éü漢字ß€😀 ", min_size=4, max_size=200),
    st.integers(1, 3),
)
bom_then_junk = st.builds(lambda bom, tail: bom + tail, st.sampled_from(BOMS), st.binary(max_size=400))
with_nuls = st.builds(
    lambda text, every: b"\x00".join(
        text.encode()[i : i + every] for i in range(0, len(text.encode()), every)
    ),
    st.text(min_size=1, max_size=300),
    st.integers(1, 20),
)
huge_line = st.builds(
    lambda word, n: (word + " ").encode() * n, st.sampled_from(["storm", "ß", "a"]), st.integers(1000, 60000)
)
deep_nesting = st.builds(
    lambda tag, n: (f"<{tag}>" * n + "text" + f"</{tag}>" * n).encode(),
    st.sampled_from(["div", "item", "feed", "rss", "b"]),
    st.integers(100, 20000),
)
CONTENT = st.one_of(
    st.binary(max_size=3000), text_in_an_encoding, truncated_multibyte, bom_then_junk, with_nuls, huge_line,
    deep_nesting,
)  # fmt: skip
SUFFIXES = st.sampled_from(sorted(SUPPORTED_SUFFIXES) + [".TXT", ".Html", ".bin", ""])
NAMES = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"),
    min_size=1,
    max_size=30,
).filter(lambda n: n not in (".", "..") and not n.startswith("good"))
HOSTILE_FILES = st.dictionaries(st.tuples(NAMES, SUFFIXES), CONTENT, min_size=1, max_size=8)


@settings(max_examples=EXAMPLES or 60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=CONTENT, suffix=SUFFIXES)
def test_a_loader_gives_documents_or_a_reason_never_an_exception(content, suffix):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"file{suffix}"
        path.write_bytes(content)
        try:
            docs = load_documents(Candidate(path, "file"), max_file_mb=5)
        except SkipFile as why:
            assert str(why) and "\n" not in str(why)
            return
        assert docs and all(d.text.strip() and d.title and "\n" not in d.title for d in docs)


@pytest.mark.slow
@settings(max_examples=EXAMPLES or 3, deadline=None, suppress_health_check=list(HealthCheck))
@given(files=HOSTILE_FILES)
def test_hostile_files_never_stop_an_ingest_of_a_good_article(files):
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work) / "inbox"
        folder.mkdir()
        (folder / "good-ferry.txt").write_text(GOOD)
        for (name, suffix), content in files.items():
            try:
                (folder / f"{name}{suffix}").write_bytes(content)
            except OSError:
                continue  # a name this file system refuses (too long in bytes, say)
        index = str(Path(work) / "index")
        result = rag("ingest", str(folder), "--index", index, "--json", timeout=600)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        status = {o["doc_id"]: o["status"] for o in json.loads(result.stdout)["outcomes"]}
        assert status.get("good-ferry") in ("indexed", "duplicate"), status
        for line in result.stderr.splitlines():
            assert len(line) < 600
        asked = rag("ask", "Why was the ferry to Lindholm cancelled?", "--index", index, "--json")
        assert asked.returncode == 0, asked.stderr
        answer = json.loads(asked.stdout)
        assert not answer["abstained"] and "storm" in answer["answer"].lower()
