"""Measure the analysis against labelled calls (the corpus format of LABELING.md).

Stage precision/recall/F1 are computed over every labelled call, as LABELING.md
labels stages on every call: post-sale and no-contact calls carry no stages in
the labels, and the analysis reports none for them, so they add true negatives
when the call type is right and the errors that follow from it when it is
wrong. The same figures restricted to the calls labelled as sales calls are
reported too (``stages_sales_only``), to tell stage errors from call-type
errors. ``macro_f1`` is the mean of the four stage F1 scores.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.analysis.loaders import load_transcript
from auditor.config import Settings
from auditor.errors import InputError
from auditor.records import (
    ACCUSING,
    BLAMELESS,
    CALL_TYPES,
    SALES_TYPES,
    STAGES,
    VERDICTS,
    CallAnalysis,
    Evidence,
)


@dataclass
class StageMetrics:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"precision": round(self.precision, 4), "recall": round(self.recall, 4),
                "f1": round(self.f1, 4), "tp": self.tp, "fp": self.fp, "fn": self.fn}


@dataclass
class Miss:
    """One disagreement with the labels, with the evidence the analysis used."""

    call_id: str
    path: str
    kind: str  # "call_type", "verdict" or "stage:<name>"
    expected: str
    predicted: str
    reason: str
    evidence: list[Evidence] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.call_id, "path": self.path, "field": self.kind,
                "expected": self.expected, "predicted": self.predicted, "reason": self.reason,
                "evidence": [e.to_dict() for e in self.evidence]}


@dataclass
class EvalReport:
    n: int = 0
    call_type_correct: int = 0
    verdict_correct: int = 0
    # A call whose manager did nothing wrong reported as missed or incomplete:
    # the costliest error, a head of sales acts on it against a person.
    false_accusations: int = 0
    inconclusive: int = 0
    stages: dict[str, StageMetrics] = field(
        default_factory=lambda: {s: StageMetrics() for s in STAGES})
    stages_sales_only: dict[str, StageMetrics] = field(
        default_factory=lambda: {s: StageMetrics() for s in STAGES})
    call_type_confusion: dict[str, dict[str, int]] = field(
        default_factory=lambda: {a: {b: 0 for b in CALL_TYPES} for a in CALL_TYPES})
    verdict_confusion: dict[str, dict[str, int]] = field(
        default_factory=lambda: {a: {b: 0 for b in VERDICTS} for a in VERDICTS})
    misses: list[Miss] = field(default_factory=list)
    by_language: dict[str, EvalReport] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # files without labels
    errors: list[str] = field(default_factory=list)  # files that could not be read
    seconds: float = 0.0

    @property
    def call_type_accuracy(self) -> float:
        return self.call_type_correct / self.n if self.n else 0.0

    @property
    def verdict_accuracy(self) -> float:
        return self.verdict_correct / self.n if self.n else 0.0

    @property
    def false_accusation_rate(self) -> float:
        return self.false_accusations / self.n if self.n else 0.0

    @property
    def inconclusive_rate(self) -> float:
        return self.inconclusive / self.n if self.n else 0.0

    @property
    def macro_f1(self) -> float:
        return sum(m.f1 for m in self.stages.values()) / len(self.stages)

    def add(self, call_id: str, path: str, labels: dict[str, Any],
            result: CallAnalysis) -> None:
        self.n += 1
        exp_type, exp_verdict = labels["call_type"], labels["verdict"]
        exp_stages = set(labels["stages"])
        self.call_type_confusion[exp_type][result.call_type] += 1
        self.verdict_confusion[exp_verdict][result.verdict] += 1
        if result.call_type == exp_type:
            self.call_type_correct += 1
        else:
            self.misses.append(Miss(call_id, path, "call_type", exp_type, result.call_type,
                                    result.call_type_reason, list(result.call_type_evidence)))
        if exp_verdict in BLAMELESS and result.verdict in ACCUSING:
            self.false_accusations += 1
        if result.verdict == "inconclusive":
            self.inconclusive += 1
        if result.verdict == exp_verdict:
            self.verdict_correct += 1
        else:
            self.misses.append(Miss(call_id, path, "verdict", exp_verdict, result.verdict,
                                    result.reason))
        found = set(result.stages_found)
        for stage in STAGES:
            for table, counts in ((self.stages, True),
                                  (self.stages_sales_only, exp_type in SALES_TYPES)):
                if not counts:
                    continue
                m = table[stage]
                if stage in found and stage in exp_stages:
                    m.tp += 1
                elif stage in found:
                    m.fp += 1
                elif stage in exp_stages:
                    m.fn += 1
            if (stage in found) != (stage in exp_stages):
                sr = result.stages.get(stage)
                self.misses.append(Miss(
                    call_id, path, f"stage:{stage}",
                    "present" if stage in exp_stages else "absent",
                    "present" if stage in found else "absent",
                    sr.reason if sr else "", list(sr.evidence) if sr else []))

    def summary(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "call_type_accuracy": round(self.call_type_accuracy, 4),
            "verdict_accuracy": round(self.verdict_accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "false_accusations": self.false_accusations,
            "false_accusation_rate": round(self.false_accusation_rate, 4),
            "inconclusive": self.inconclusive,
            "stages": {s: m.to_dict() for s, m in self.stages.items()},
            "stages_sales_only": {s: m.to_dict() for s, m in self.stages_sales_only.items()},
        }

    def to_dict(self) -> dict[str, Any]:
        out = self.summary()
        out.update({
            "by_language": {k: v.summary() for k, v in sorted(self.by_language.items())},
            "call_type_confusion": self.call_type_confusion,
            "verdict_confusion": self.verdict_confusion,
            "misses": [m.to_dict() for m in self.misses],
            "skipped": self.skipped,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
        })
        return out


def labelled_files(paths: list[Path]) -> list[Path]:
    """JSON files under the given files and folders, sorted, without duplicates."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*.json") if q.is_file()))
        elif p.exists():
            out.append(p)
        else:
            raise InputError(f"{p}: no such file or folder")
    return list(dict.fromkeys(out))


def evaluate(paths: list[Path] | Path, settings: Settings | None = None) -> EvalReport:
    """Analyse every labelled call under paths and compare with its labels."""
    from auditor.analysis import analyze

    settings = settings or Settings()
    if isinstance(paths, (str, Path)):
        paths = [Path(paths)]
    files = labelled_files(list(paths))
    report = EvalReport()
    started = time.perf_counter()
    for path in files:
        try:
            transcript, labels = load_transcript(path)
        except InputError as e:
            report.errors.append(str(e))
            continue
        if labels is None:
            report.skipped.append(str(path))
            continue
        try:
            _check_labels(path, labels)
            result = analyze(transcript, settings)
        except InputError as e:
            report.errors.append(str(e))
            continue
        call_id = transcript.source or path.stem
        report.add(call_id, str(path), labels, result)
        lang = report.by_language.setdefault(result.language, EvalReport())
        lang.add(call_id, str(path), labels, result)
    report.seconds = time.perf_counter() - started
    if report.n == 0:
        raise InputError(f"{', '.join(str(p) for p in paths)}: no labelled calls found"
                         + (f" ({report.errors[0]})" if report.errors else ""))
    return report


def _check_labels(path: Path, labels: dict[str, Any]) -> None:
    ct, verdict, stages = labels.get("call_type"), labels.get("verdict"), labels.get("stages")
    if ct not in CALL_TYPES:
        raise InputError(f"{path}: labels.call_type {ct!r} is not one of {', '.join(CALL_TYPES)}")
    if verdict not in VERDICTS:
        raise InputError(f"{path}: labels.verdict {verdict!r} is not one of {', '.join(VERDICTS)}")
    if not isinstance(stages, list) or any(s not in STAGES for s in stages):
        raise InputError(f"{path}: labels.stages must be a list of {', '.join(STAGES)}")
