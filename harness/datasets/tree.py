"""Walking a dataset folder as users lay it out: through symbolic links, shallowest first, never in circles.

Releases are large (DFME alone is 340k frames), so users keep them where they like and reach them through
symbolic links (`dfme/frames -> /data/dfme_frames`). Every adapter finds its files and folders through this
module, which follows links, reports a link that points back into its own ancestry (a cycle) or that cannot be
resolved at all (a loop) as an error naming the link, and goes on with the rest of the tree.
"""
from __future__ import annotations

import errno
import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

from harness.errors import Problem

LOCK_PREFIX = "~$"  # Excel's lock file beside an open workbook (`~$CASME2-coding-20140508.xlsx`)


@dataclass(frozen=True)
class Entry:
    path: Path
    is_dir: bool
    depth: int          # 1 for a child of the root


def _skipped(name: str) -> bool:
    return name.startswith((".", "_"))


def _real(path: Path) -> str:
    return os.path.realpath(path)


def walk(root: Path, max_depth: int, problems: list[Problem] | None = None,
         descend: Callable[[Path], bool] | None = None) -> Iterator[Entry]:
    """Every file and folder under `root` down to `max_depth`, breadth first, sorted by name within a folder.

    Symbolic links are followed. A linked folder whose target is the folder itself or one of its ancestors is a
    cycle: it is reported (error, naming the link) and not entered. A link that cannot be resolved because it
    points to itself through other links (ELOOP) is reported the same way. Hidden folders and folders starting
    with `_` (the synthetic corpus's ground truth) are not entered; `descend(folder)` can stop the walk below
    a folder the caller has found what it wanted in.
    """
    frontier: list[tuple[Path, tuple[str, ...]]] = [(Path(root), (_real(Path(root)),))]
    for depth in range(1, max_depth + 1):
        nxt: list[tuple[Path, tuple[str, ...]]] = []
        for folder, ancestors in frontier:
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except (FileNotFoundError, NotADirectoryError, PermissionError):
                continue
            except OSError as exc:
                _report_loop(problems, folder, exc)
                continue
            for e in entries:
                path = Path(e.path)
                try:
                    is_dir = e.is_dir()
                    is_file = not is_dir and e.is_file()
                except OSError as exc:
                    _report_loop(problems, path, exc)
                    continue
                if not (is_dir or is_file):
                    continue  # a dangling link: nothing there
                if is_dir and e.is_symlink():
                    target = _real(path)
                    if target in ancestors:
                        if problems is not None:
                            problems.append(Problem(
                                str(path), f"symbolic link cycle: it leads back to {target}, a folder that "
                                           "contains it; the walk does not enter it",
                                hint="remove the link or point it outside its own folder tree"))
                        continue
                yield Entry(path, is_dir, depth)
                if is_dir and not _skipped(e.name) and (descend is None or descend(path)):
                    nxt.append((path, ancestors + (_real(path),)))
        frontier = nxt


def _report_loop(problems: list[Problem] | None, path: Path, exc: OSError) -> None:
    if exc.errno == errno.ELOOP:
        if problems is not None:
            problems.append(Problem(str(path), "symbolic link loop: the link cannot be resolved (it points back to "
                                               "itself, directly or through other links)",
                                    hint="fix or remove the link"))
        return
    raise exc


def find_files(root: Path, patterns: Sequence[str], max_depth: int = 3,
               problems: list[Problem] | None = None) -> list[Path]:
    """Files under `root` whose name matches one of `patterns` (case-insensitively), shallowest first; Excel
    lock files are not annotation files and are left out."""
    pats = [p.lower() for p in patterns]
    out = []
    for e in walk(root, max_depth + 1, problems):
        name = e.path.name.lower()
        if not e.is_dir and not name.startswith(LOCK_PREFIX) and any(fnmatch.fnmatch(name, p) for p in pats):
            out.append(e.path)
    return out


def find_dir(root: Path, names: Sequence[str], max_depth: int = 3,
             problems: list[Problem] | None = None) -> Path | None:
    """The shallowest folder named one of `names` (earlier names preferred at equal depth), looking through a
    doubled zip folder such as CASME2_RAW_selected/CASME2_RAW_selected."""
    wanted = [n.lower() for n in names]
    best: tuple[int, int, Path] | None = None
    for e in walk(root, max_depth + 1, problems):
        if best is not None and e.depth > best[0]:
            break
        if e.is_dir and e.path.name.lower() in wanted:
            rank = (e.depth, wanted.index(e.path.name.lower()), e.path)
            best = rank if best is None or rank[:2] < best[:2] else best
    if best is None:
        return None
    found = best[2]
    inner = child_dir(found, found.name)
    return inner or found


def child_dir(parent: Path | None, name: str) -> Path | None:
    """`parent/name` if it is a folder, else the one folder whose name differs only in case (CAS(ME)^3 writes
    clip `J` in its annotation for the folder `j`); None when there is none."""
    if parent is None:
        return None
    exact = Path(parent) / name
    if exact.is_dir():
        return exact
    try:
        matches = [p for p in Path(parent).iterdir() if p.name.lower() == name.lower() and p.is_dir()]
    except OSError:
        return None
    return matches[0] if len(matches) == 1 else None


def dirs_by_name(root: Path, names: set[str], max_depth: int,
                 problems: list[Problem] | None = None) -> dict[str, Path]:
    """Folders anywhere under `root` (down to `max_depth`) whose name is in `names`: name -> shallowest folder.
    A folder found is not entered (it is a clip: its frames need no walking)."""
    found: dict[str, Path] = {}
    for e in walk(root, max_depth, problems, descend=lambda p: p.name not in names):
        if e.is_dir and e.path.name in names:
            found.setdefault(e.path.name, e.path)
    return found
