"""A competition bundle as the checker and the local worker read it: a zip whose members are files and folders.

Codabench lets a yaml path name a folder of the bundle or a .zip inside it (it zips folders on upload); both are
read here the same way. Member names that would leave the extraction folder are refused.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path, PurePosixPath

from harness.errors import BadInput


class Archive:
    """The files of a zip (folders are implied by the file names), read on demand."""

    def __init__(self, source: Path | bytes, name: str):
        self.name = name
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
        except (zipfile.BadZipFile, OSError) as exc:
            raise BadInput(f"{name}: not a readable zip file ({exc})") from None
        self.files = sorted(i.filename for i in self._zip.infolist() if not i.is_dir())
        self.unsafe = [f for f in self.files if f.startswith("/") or ".." in PurePosixPath(f).parts]

    @classmethod
    def open(cls, path: str | Path) -> "Archive":
        path = Path(path)
        if not path.is_file():
            raise BadInput(f"{path}: no such file (expected a competition bundle .zip)")
        return cls(path, str(path))

    def __enter__(self) -> "Archive":
        return self

    def __exit__(self, *exc) -> None:
        self._zip.close()

    def read(self, name: str) -> bytes:
        return self._zip.read(name)

    def is_file(self, name: str) -> bool:
        return name in self.files

    def is_folder(self, name: str) -> bool:
        prefix = name.rstrip("/") + "/"
        return any(f.startswith(prefix) for f in self.files)

    def exists(self, name: str) -> bool:
        return self.is_file(name.rstrip("/")) or self.is_folder(name)

    def folder(self, name: str) -> dict[str, bytes]:
        """The files under a yaml path, relative to it: a folder of this zip, or a .zip member's contents."""
        name = name.rstrip("/")
        if self.is_file(name) and name.lower().endswith(".zip"):
            inner = Archive(self.read(name), f"{self.name}:{name}")
            if inner.unsafe:
                raise BadInput(f"{inner.name}: member names leave the folder: {', '.join(inner.unsafe[:3])}")
            return {f: inner.read(f) for f in inner.files}
        prefix = name + "/"
        return {f[len(prefix):]: self.read(f) for f in self.files if f.startswith(prefix) and f not in self.unsafe}


def extract(files: dict[str, bytes], dest: Path) -> None:
    for rel, data in files.items():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
