"""The bundle's words: its pages (overview, evaluation, data, terms) and each phase's starting-kit README, written
from the protocol's facts so that what participants read is what the scorer does.

The sentences that say the same thing in two places (the file format, the classes, the ranking, a phase's
limits) are made once here.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from harness.export.codabench.schema import KEEP_TO_RULE, PLATFORM_LIMIT_DEFAULTS, format_date
from harness.scoring.bootstrap import DEFAULT_DRAWS
from harness.scoring.predictions import PROBA_TOLERANCE

if TYPE_CHECKING:
    from harness.export.codabench.phase import PhaseExport
    from harness.protocols.model import Protocol

TEMPLATE = "predictions_template.csv"
EXAMPLE_DIR = "example_bundle"
KEEP_TEXT = {"best": "each participant's best-ranked scored submission stands on the board",
             "latest": "each participant's latest scored submission stands on the board"}


def classes_table(proto: Protocol) -> str:
    return "\n".join(["| index | class |", "|---|---|", *(f"| {i} | {c} |" for i, c in enumerate(proto.classes))])


def ranking_text(proto: Protocol, columns: Sequence[dict]) -> str:
    order = ", then ".join(c["title"] for c in columns)
    return (f"Ranked by {order} (higher is better; shown to 4 decimals); a tie goes to the earlier submission. "
            f"{KEEP_TEXT[proto.board_keep].capitalize()} (Codabench `{KEEP_TO_RULE[proto.board_keep]}`).")


def limits_text(phase: PhaseExport) -> str:
    """The phase's limits as the protocol states them, and what Codabench applies where the protocol is silent."""
    lim = phase.limits
    day = lim.per_team_per_day or PLATFORM_LIMIT_DEFAULTS["max_submissions_per_day"]
    total = lim.per_team_total or PLATFORM_LIMIT_DEFAULTS["max_submissions"]
    defaults = [what for what, given in (("per-day", lim.per_team_per_day), ("total", lim.per_team_total)) if not given]
    text = f"At most {day} scored submission{'s' if day != 1 else ''} per day and {total} in total"
    if defaults:
        text += (f" (the {' and '.join(defaults)} limit{'s are' if len(defaults) > 1 else ' is'} Codabench's "
                 f"default{'s' if len(defaults) > 1 else ''}: the protocol sets none)")
    return text + ". Codabench counts per participant account; a failed submission (a malformed file) does not count."


def dates_text(phase: PhaseExport) -> str:
    if not (phase.start or phase.end):
        return "dates: set by the organisers"
    return " - ".join(format_date(d) + " UTC" if d else "open" for d in (phase.start, phase.end))


def format_text(proto: Protocol, n_samples: int | None = None) -> str:
    """The predictions file, the rules `harness score` and the scoring program enforce (predictions.py)."""
    rows = f"{n_samples} rows, one per test sample" if n_samples is not None else "one row per test sample"
    k = proto.n_classes
    return "\n".join([
        "Submit a zip file holding one CSV file (any name; `predictions.csv` is usual), UTF-8, comma-separated:",
        "",
        "```",
        "sample_id,prediction",
        f"<sample_id>,{proto.classes[0]}",
        "```",
        "",
        f"- Header `sample_id,prediction`, then {rows}: every `sample_id` of `{TEMPLATE}` exactly once, in any order.",
        "- `prediction`: a class name (case and spacing ignored) or its index (table below).",
        f"- Optional probability columns `p_<class>`: all {k} or none, each in [0, 1], each row summing to 1 "
        f"within {PROBA_TOLERANCE}. They are checked, not scored.",
        "- A file breaking any rule is rejected as a whole, with every problem listed by row and column; it is "
        "not scored and does not count against the limits.",
    ])


def metrics_text(proto: Protocol) -> str:
    k = proto.n_classes
    pooled = proto.splitter.evaluation_note()
    return "\n".join([
        f"- UF1 = (1/K) sum_c 2TP_c / (2TP_c + FP_c + FN_c); UAR = (1/K) sum_c TP_c / N_c; ACC = sum_c TP_c / N, "
        f"with K = {k}, fixed by the protocol: a class absent from the test set or never predicted scores 0 and "
        "stays in the mean." + pooled,
        f"- The detailed results of a submission add 95% intervals (bootstrap over subjects, {DEFAULT_DRAWS} draws), "
        "the per-class precision, recall and F1, and the confusion matrix.",
    ])


def overview_md(proto: Protocol, phases: Sequence[PhaseExport], columns: Sequence[dict]) -> str:
    rows = [f"| {p.name} | {p.description or '-'} | {len(p.rows)} | {p.n_subjects} | {limits_text(p)} | "
            f"{dates_text(p)} |" for p in phases]
    return "\n".join([
        f"# {proto.title}", "", proto.description, "",
        f"Protocol `{proto.name}` version {proto.version}, exported by `harness export codabench`.", "",
        "## Phases", "", "| phase | about | test samples | subjects | limits | dates |", "|---|---|---|---|---|---|",
        *rows, "", "## Classes", "", classes_table(proto), "", "## Ranking", "", ranking_text(proto, columns), "",
    ])


def evaluation_md(proto: Protocol, columns: Sequence[dict]) -> str:
    return "\n".join([
        "# Evaluation", "", metrics_text(proto), "", ranking_text(proto, columns), "",
        "## The predictions file", "", format_text(proto), "", classes_table(proto), "",
        "The scoring program is the harness's own scorer (the modules of `harness score`, packaged unchanged): "
        "the same file gets the same numbers and the same messages here and with `harness score`.", "",
    ])


def data_md(proto: Protocol, phases: Sequence[PhaseExport]) -> str:
    counts = [f"- {p.name}: {len(p.rows)} test samples from {p.n_subjects} subjects" for p in phases]
    return "\n".join([
        "# Data", "",
        f"This benchmark uses {', '.join(proto.datasets)}. The frames and annotation files are licensed by their "
        "owners and are not on this platform: obtain the release from them, under their licence, and read it in "
        "its official layout (the harness's `--data-root`).", "",
        *counts, "",
        "The test sample ids of each phase are in its starting kit (`predictions_template.csv`); their labels are "
        "held out and reach only the scoring program.", "",
        *([f"Exclusions: {n}" for n in proto.exclusion_notes] + [""] if proto.exclusion_notes else []),
        *(["## References", "", *(f"- {r}" for r in proto.references), ""] if proto.references else []),
    ])


def terms_md(proto: Protocol) -> str:
    return "\n".join([
        "# Terms", "",
        f"- The data of {', '.join(proto.datasets)} are used under their owners' licence; participants obtain them "
        "from the owners and do not share them.",
        "- The test samples are not used for training, tuning or model selection, and are not labelled by hand.",
        "- Predictions come from the method a team describes; the organisers may ask for its code and a report "
        "and may disqualify a submission that does not match them.",
        "- Failed submissions do not count against the limits; gaming the limits with several accounts is "
        "not allowed.",
        "- The organisers' own rules for this competition apply in addition to these.", "",
    ])


def starting_kit_readme(proto: Protocol, phase: PhaseExport, columns: Sequence[dict]) -> str:
    flag = f" --phase {phase.protocol_phase}" if phase.protocol_phase else ""
    return "\n".join([
        f"# Starting kit: {proto.title}, phase {phase.name}", "",
        f"`{TEMPLATE}` lists the {len(phase.rows)} test samples of this phase with an empty prediction. Fill in "
        "one class per row, then zip the file and submit the zip:", "",
        "```", f"cp {TEMPLATE} predictions.csv   # then fill the prediction column",
        "zip submission.zip predictions.csv", "```", "",
        "## File format", "", format_text(proto, len(phase.rows)), "", "## Classes", "", classes_table(proto), "",
        "## Limits", "", limits_text(phase), "", "## Ranking", "", ranking_text(proto, columns), "",
        "## Reproducing with the harness", "",
        f"`{EXAMPLE_DIR}/` is the smallest submission bundle (`bundle.yaml` and `model.py`: the majority class of "
        "the training data). With the harness installed and a data root that holds labels for this phase (the "
        "synthetic corpus `harness data synth --like " + ",".join(proto.datasets) + " --out ROOT` does):", "",
        "```",
        f"harness submit {EXAMPLE_DIR} -p {proto.name}{flag} --data-root ROOT",
        f"harness template -p {proto.name}{flag} --data-root ROOT -o {TEMPLATE}",
        f"harness score predictions.csv -p {proto.name}{flag} --data-root ROOT",
        "```", "",
        "`harness score` runs the same validation and metrics as this phase's scoring program.", "",
    ])
