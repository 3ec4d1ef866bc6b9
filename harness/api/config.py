"""One config helper for every bundle: a flat profile dict (plus `--set` overrides) -> the bundle's config
objects, with unknown keys refused ("did you mean ...?"): a typo in `--set` must never pass silently."""
from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any, Mapping

from harness.errors import BadInput


def _names(target: Any) -> set[str]:
    if is_dataclass(target):
        return {f.name for f in fields(target)}
    return set(target)


def split_config(config: Mapping[str, Any], *targets: Any, what: str = "config key") -> list[Any]:
    """Build one value per target from the keys of `config` it knows:

    - a dataclass type: an instance from the keys it has fields for (its defaults for the rest);
    - a mapping of name -> default: a dict of those names, the config's values over the defaults;
    - a set of names: a dict of the names the config gives (for keyword arguments with defaults elsewhere).

    A key no target knows is BadInput naming it, the close known keys and all of them; a value a dataclass
    refuses (TypeError, ValueError) is BadInput naming the class.
    """
    built, used = [], set()
    for target in targets:
        names = _names(target)
        mine = {k: v for k, v in config.items() if k in names}
        used |= set(mine)
        if is_dataclass(target):
            try:
                built.append(target(**mine))
            except (TypeError, ValueError) as exc:
                raise BadInput(f"{target.__name__}: {exc}") from exc
        elif isinstance(target, Mapping):
            built.append({**target, **mine})
        else:
            built.append(mine)
    unknown = sorted(set(config) - used)
    if unknown:
        from harness.registry import suggest

        known = sorted(set().union(*(_names(t) for t in targets)))
        raise BadInput("; ".join(suggest(k, known, what) for k in unknown))
    return built
