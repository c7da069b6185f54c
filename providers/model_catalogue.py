"""Larger instruction-tuned GGUF models the offline server can run instead of the bundled SmolLM2-135M.

``python cli.py model pull NAME`` downloads one from the Hugging Face hub into ``DATA_DIR/models/NAME.gguf``
and checks its SHA-256; ``LOCAL_MODEL=NAME`` then serves it. Each entry is pinned: the file's URL (at a fixed
revision of its repository where one is known), its size in bytes and its SHA-256 (the values several
public projects pin for the same file; the download is checked against them, so a wrong value fails
loudly, never silently). Any other GGUF works with ``--url URL --sha256 HEX``.

This module is plain data (no imports beyond the standard library), so ``cli.py model --help`` can list the
names without loading anything else.

>>> sorted(CATALOGUE)
['llama-3.2-1b-instruct', 'qwen2.5-1.5b-instruct', 'smollm2-1.7b-instruct']
>>> CATALOGUE["qwen2.5-1.5b-instruct"].size_label
'1.1 GB'
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CATALOGUE", "CatalogueModel"]


@dataclass(frozen=True)
class CatalogueModel:
    """One downloadable model file."""

    name: str
    url: str
    sha256: str
    size: int
    about: str

    @property
    def size_label(self) -> str:
        """The size in decimal gigabytes, one decimal."""
        return f"{self.size / 1e9:.1f} GB"


_MODELS = (
    CatalogueModel(
        name="qwen2.5-1.5b-instruct",
        url="https://huggingface.co/Qwen/Qwen2.5-1.5B-Instruct-GGUF/resolve/"
        "91cad51170dc346986eccefdc2dd33a9da36ead9/qwen2.5-1.5b-instruct-q4_k_m.gguf",
        sha256="6a1a2eb6d15622bf3c96857206351ba97e1af16c30d7a74ee38970e434e9407e",
        size=1_117_320_736,
        about="Qwen2.5 1.5B Instruct, Q4_K_M, from Qwen's own GGUF repository (Apache-2.0)",
    ),
    CatalogueModel(
        name="llama-3.2-1b-instruct",
        url="https://huggingface.co/bartowski/Llama-3.2-1B-Instruct-GGUF/resolve/"
        "067b946cf014b7c697f3654f621d577a3e3afd1c/Llama-3.2-1B-Instruct-Q4_K_M.gguf",
        sha256="6f85a640a97cf2bf5b8e764087b1e83da0fdb51d7c9fab7d0fece9385611df83",
        size=807_694_464,
        about="Llama 3.2 1B Instruct, Q4_K_M (Llama 3.2 Community License)",
    ),
    CatalogueModel(
        name="smollm2-1.7b-instruct",
        url="https://huggingface.co/bartowski/SmolLM2-1.7B-Instruct-GGUF/resolve/main/"
        "SmolLM2-1.7B-Instruct-Q4_K_M.gguf",
        sha256="77665ea4815999596525c636fbeb56ba8b080b46ae85efef4f0d986a139834d7",
        size=1_055_609_824,
        about="SmolLM2 1.7B Instruct, Q4_K_M (Apache-2.0): the bundled model's larger sibling",
    ),
)

#: Known names -> their file.
CATALOGUE: dict[str, CatalogueModel] = {model.name: model for model in _MODELS}
