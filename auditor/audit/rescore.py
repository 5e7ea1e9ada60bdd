"""Re-run the analysis on every stored transcript with the current rules.

No audio is decoded and nothing is transcribed: a transcript is kept per
(audio hash, model, language), and the analysis is cheap, so a change of a
threshold or a rule model is applied to the whole history in seconds.

Human decisions are never touched. A review stays the effective verdict; the
rescore only reports the calls where the new automatic verdict disagrees with
it, so that someone can look again.

The work is split in three: read every transcript in one read transaction,
run the analysis (in worker processes when there are many), then write all
results in one short transaction, so an audit running at the same time is
blocked for a moment, not for the whole rescore.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import time
import warnings
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import defer
from sqlmodel import Session, select

from auditor import store
from auditor.config import Settings
from auditor.records import CallAnalysis
from auditor.records import Transcript as TranscriptDoc

log = logging.getLogger(__name__)

Analyzer = Callable[[TranscriptDoc, Settings], CallAnalysis]
_BATCH = 500


def default_analyzer() -> Analyzer:
    """auditor.analysis.analyze, imported only when a rescore runs (it loads spaCy)."""
    from auditor.analysis import analyze

    return analyze


@dataclass(frozen=True)
class VerdictChange:
    recording_id: int
    manager: str | None
    path: str
    old: str | None  # None: the call had no analysis before
    new: str
    old_type: str | None
    new_type: str
    reviewed: bool

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Disagreement:
    """A reviewed call whose new automatic verdict is not the human one."""

    recording_id: int
    manager: str | None
    review_verdict: str
    reviewer: str
    reviewed_at: datetime
    note: str
    auto_before: str | None
    auto_after: str

    @property
    def is_new(self) -> bool:
        """The old rules agreed with the reviewer; the new ones do not."""
        return self.auto_before == self.review_verdict

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["reviewed_at"] = self.reviewed_at.isoformat()
        d["is_new"] = self.is_new
        return d


@dataclass
class RescoreSummary:
    total: int = 0  # recordings with status done
    rescored: int = 0
    changes: list[VerdictChange] = field(default_factory=list)
    disagreements: list[Disagreement] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (recording, why)
    failed: list[tuple[int, str]] = field(default_factory=list)
    rulesets: Counter[str] = field(default_factory=Counter)
    dry_run: bool = False
    seconds: float = 0.0

    @property
    def transitions(self) -> Counter[tuple[str, str]]:
        """(old verdict, new verdict) -> how many calls moved that way."""
        return Counter((c.old or "none", c.new) for c in self.changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total, "rescored": self.rescored, "changed": len(self.changes),
            "dry_run": self.dry_run, "seconds": round(self.seconds, 3),
            "rulesets": dict(self.rulesets),
            "transitions": [{"from": a, "to": b, "count": n}
                            for (a, b), n in self.transitions.most_common()],
            "changes": [c.to_dict() for c in self.changes],
            "disagreements": [d.to_dict() for d in self.disagreements],
            "skipped": [{"recording_id": r, "reason": why} for r, why in self.skipped],
            "failed": [{"recording_id": r, "error": e} for r, e in self.failed],
        }


@dataclass
class _Work:
    rec: store.Recording
    old: store.Analysis | None
    transcript_id: int
    doc: TranscriptDoc
    analysis: CallAnalysis | None = None


Progress = Callable[[int, int], None]  # (done, total)


def rescore(
    engine: Engine,
    settings: Settings,
    analyzer: Analyzer | None = None,
    dry_run: bool = False,
    ids: list[int] | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> RescoreSummary:
    """Analyse every done recording's stored transcript again and store the results.

    Returns what changed; reviews are left as they are and reported where the
    new automatic verdict disagrees with them. One failing transcript is
    recorded and skipped, never stops the run. ``jobs`` worker processes share
    the analysis (default: settings.threads).
    """
    t0 = time.perf_counter()
    analyze = analyzer or default_analyzer()
    summary = RescoreSummary(dry_run=dry_run)
    work, reviews = _load(engine, ids, summary)
    outcomes = _analyze_all(analyze, settings, [w.doc for w in work],
                            jobs if jobs is not None else settings.threads, progress)
    for w, out in zip(work, outcomes, strict=True):
        if isinstance(out, str):
            summary.failed.append((w.rec.id or 0, out))
        else:
            w.analysis = out
    done = [w for w in work if w.analysis is not None]
    for w in done:
        _account(summary, w, reviews.get(w.rec.id or 0))
    if not dry_run and done:
        with Session(engine) as s:  # one short transaction for every write
            for w in done:
                assert w.analysis is not None
                store.save_analysis(s, w.rec.id or 0, w.transcript_id, w.analysis)
            s.commit()
    summary.seconds = time.perf_counter() - t0
    log.info("rescored %d of %d calls in %.1f s; %d verdicts changed", summary.rescored,
             summary.total, summary.seconds, len(summary.changes))
    return summary


def _load(engine: Engine, ids: list[int] | None, summary: RescoreSummary
          ) -> tuple[list[_Work], dict[int, store.Review]]:
    """Every done recording with its current analysis and stored transcript (a read snapshot)."""
    R, A = store.Recording, store.Analysis
    work: list[_Work] = []
    with Session(engine, expire_on_commit=False) as s:
        q = (select(R, A).join(A, A.recording_id == R.id, isouter=True)  # type: ignore[arg-type]
             .where(R.status == "done").order_by(R.id))  # type: ignore[arg-type]
        if ids is not None:
            q = q.where(R.id.in_(ids))  # type: ignore[union-attr]
        pairs = list(s.exec(q.options(defer(A.details_json))))  # type: ignore[arg-type]
        reviews = store.latest_reviews(s, ids)
        summary.total = len(pairs)
        for i in range(0, len(pairs), _BATCH):
            batch = pairs[i:i + _BATCH]
            transcripts = store.transcripts_for(s, batch)
            for rec, old in batch:
                rid = rec.id or 0
                stored = transcripts.get(rid)
                if stored is None:
                    summary.skipped.append((rid, "no stored transcript"))
                    continue
                doc = stored.to_doc()
                doc.duration_s = rec.duration_s if rec.duration_s is not None else stored.duration_s
                doc.source = rec.path
                work.append(_Work(rec, old, stored.id or 0, doc))
    return work, reviews


def _account(summary: RescoreSummary, w: _Work, review: store.Review | None) -> None:
    assert w.analysis is not None
    rid = w.rec.id or 0
    summary.rescored += 1
    summary.rulesets[w.analysis.ruleset_version] += 1
    old_verdict = w.old.verdict if w.old is not None else None
    if old_verdict != w.analysis.verdict:
        summary.changes.append(VerdictChange(
            recording_id=rid, manager=w.rec.manager, path=w.rec.path, old=old_verdict,
            new=w.analysis.verdict, old_type=w.old.call_type if w.old else None,
            new_type=w.analysis.call_type, reviewed=review is not None))
    if review is not None and review.verdict != w.analysis.verdict:
        summary.disagreements.append(Disagreement(
            recording_id=rid, manager=w.rec.manager, review_verdict=review.verdict,
            reviewer=review.reviewer, reviewed_at=review.created_at, note=review.note,
            auto_before=old_verdict, auto_after=w.analysis.verdict))


# --- running the analyzer, in worker processes when it pays ---------------------------

_PARALLEL_MIN = 64  # below this, starting workers costs more than it saves
_worker: tuple[Analyzer, Settings] | None = None


def _safe(analyze: Analyzer, doc: TranscriptDoc, settings: Settings) -> CallAnalysis | str:
    try:
        return analyze(doc, settings)
    except Exception as e:  # one bad transcript must not stop the run
        log.warning("analysis failed for %s: %s", doc.source, e, exc_info=True)
        return _err_text(e)


def _init_worker(analyze: Analyzer, settings: Settings) -> None:
    global _worker
    _worker = (analyze, settings)


def _in_worker(doc: TranscriptDoc) -> CallAnalysis | str:
    assert _worker is not None
    return _safe(_worker[0], doc, _worker[1])


def _analyze_all(analyze: Analyzer, settings: Settings, docs: list[TranscriptDoc], jobs: int,
                 progress: Progress | None) -> list[CallAnalysis | str]:
    total = len(docs)
    report = progress or (lambda _done, _total: None)
    if not docs:
        return []
    # The first one in this process loads spaCy and the rules, so that forked
    # workers start with them in (shared, copy-on-write) memory.
    out: list[CallAnalysis | str] = [_safe(analyze, docs[0], settings)]
    report(1, total)
    rest = docs[1:]
    if jobs > 1 and len(rest) >= _PARALLEL_MIN and "fork" in mp.get_all_start_methods():
        # fork passes the analyzer by memory, not by pickle: a closure or a
        # test's fake works as well as auditor.analysis.analyze.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
            with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("fork"),
                                     initializer=_init_worker,
                                     initargs=(analyze, settings)) as pool:
                for result in pool.map(_in_worker, rest, chunksize=8):
                    out.append(result)
                    report(len(out), total)
    else:
        for doc in rest:
            out.append(_safe(analyze, doc, settings))
            report(len(out), total)
    return out


def _err_text(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
