"""Rule models: the per-language cue files in models/ compiled into one spaCy Matcher.

The files are data, edited by analysts (see models/README.md); this module only
reads them. Every cue becomes a Matcher label ``section.name`` ("profile.role",
"time.weekday"), so one pass over a turn finds every cue of every stage.

The models ship inside the wheel as the package ``auditor._rules``; in a source
checkout without an install the repository's ``models/`` folder is used.
"""

from __future__ import annotations

import functools
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from spacy.matcher import Matcher
    from spacy.tokens import Doc

RULE_FILES = ("stages.json", "calltype.json", "dialogue.json")
# Language-independent decisions and thresholds; hashed into every ruleset
# version (auditor.analysis.model.models_version), so an edit re-runs rescore.
DECISION_FILE = "decision.toml"


@dataclass(frozen=True)
class Cue:
    """One named cue of a rule file with how much it weighs and where it counts."""

    key: str
    section: str
    name: str
    weight: float = 1.0
    where: str = ""  # "question", "statement", "restate" for stage cues
    extra: dict[str, Any] = field(default_factory=dict)
    not_before: frozenset[str] = frozenset()
    not_after: frozenset[str] = frozenset()
    not_with: frozenset[str] = frozenset()  # sections that cancel the cue in its clause


@dataclass(frozen=True)
class Forms:
    """A Doc's tokens as the cue matching reads them."""

    lower: list[str]  # by token
    lemma: list[str]  # by token
    words: set[str]  # both, of every token: a word not in here is not in the Doc


@dataclass(frozen=True)
class Hit:
    """A cue found in a turn: token span [start, end) of the turn's Doc."""

    key: str
    start: int
    end: int
    negated: bool = False


@dataclass
class RuleSet:
    """The compiled rules of one language."""

    language: str
    version: str
    stages: dict[str, Any]
    calltype: dict[str, Any]
    dialogue: dict[str, Any]
    cues: dict[str, Cue]
    matchers: list[tuple[frozenset[str] | None, Matcher]]
    single: dict[tuple[str, str], tuple[str, ...]]
    negators: frozenset[str]
    negation_window: int
    negatable: frozenset[str]

    def section(self, name: str) -> list[Cue]:
        return [c for c in self.cues.values() if c.section == name]

    def match(self, doc: Doc) -> tuple[list[Hit], Forms]:
        """All cues in a Doc, with guards applied and negation marked; and the Doc's forms.

        The forms are read for the cues anyway; other readers of the same Doc
        (the checklist) use them instead of reading its tokens again.
        """
        vocab = doc.vocab.strings
        lemmas = [t.lemma_ for t in doc]
        lowers = [t.lower_ for t in doc]
        words = set(lemmas) | set(lowers)
        found: list[tuple[str, int, int]] = []
        single = self.single
        for i, (lemma, lower) in enumerate(zip(lemmas, lowers, strict=True)):
            keys = single.get(("LEMMA", lemma), ()) + single.get(("LOWER", lower), ())
            for key in dict.fromkeys(keys):
                found.append((key, i, i + 1))
        for trigger, matcher in self.matchers:
            if trigger is None or not trigger.isdisjoint(words):
                found.extend((vocab[m], s, e) for m, s, e in matcher(doc))
        hits: list[Hit] = []
        seen: set[tuple[str, int, int]] = set()
        for key, start, end in found:
            if (key, start, end) in seen:
                continue
            seen.add((key, start, end))
            cue = self.cues[key]
            if cue.not_before and end < len(doc) and _word_in(doc[end], cue.not_before):
                continue
            if cue.not_after and start > 0 and _word_in(_word_before(doc, start), cue.not_after):
                continue
            # A negator just before the cue, or inside a gap of the pattern
            # ("мы не производим", "we do not offer"), negates it.
            negated = cue.section in self.negatable and any(
                doc[i].lower_ in self.negators or doc[i].lemma_ in self.negators
                for i in range(max(0, start - self.negation_window), end)
            )
            hits.append(Hit(cue.key, start, end, negated))
        hits.sort(key=lambda h: (h.start, h.end))
        return hits, Forms(lowers, lemmas, words)


def _single_word(pattern: list[dict[str, Any]]) -> tuple[str, list[str]] | None:
    """("LEMMA", values) for a one-token pattern on one plain attribute, else None."""
    if len(pattern) != 1 or len(pattern[0]) != 1:
        return None
    (attr, value), = pattern[0].items()
    if attr not in ("LEMMA", "LOWER"):
        return None
    if isinstance(value, str):
        return attr, [value]
    if isinstance(value, dict) and set(value) == {"IN"}:
        return attr, [str(v) for v in value["IN"]]
    return None


def _trigger(patterns: list[list[dict[str, Any]]]) -> frozenset[str] | None:
    """Words one of which a turn must contain for any pattern to match.

    None when some pattern does not start with a plain LEMMA/LOWER/TEXT value
    or set (a regex, a number test, an optional first token): always run.
    """
    words: set[str] = set()
    for pattern in patterns:
        if not pattern:
            return None
        first = pattern[0]
        if "OP" in first and first["OP"] not in ("!", "1"):
            return None
        values = None
        for attr in ("LEMMA", "LOWER"):
            if attr in first:
                v = first[attr]
                if isinstance(v, str):
                    values = {v}
                elif isinstance(v, dict) and set(v) == {"IN"}:
                    values = set(v["IN"])
        if values is None:
            return None
        words |= values
    return frozenset(words)


def _word_in(token: Any, words: frozenset[str]) -> bool:
    return token.lower_ in words or token.lemma_ in words


def _word_before(doc: Any, i: int) -> Any:
    """The token before doc[i], past a comma or dash ("те, кто" reads as "те кто")."""
    j = i - 1
    while j > 0 and doc[j].text in (",", "-", "—", "–"):
        j -= 1
    return doc[j]


def _models_root() -> Any:
    """The folder (or importlib Traversable) that holds ru/, en/ ..."""
    try:
        from importlib.resources import files

        root = files("auditor._rules")
        if root.joinpath("ru", "ruleset.toml").is_file():
            return root
    except (ImportError, ModuleNotFoundError, TypeError):
        pass
    return Path(__file__).resolve().parents[2] / "models"


def _read(root: Any, language: str, name: str) -> str:
    try:
        return str(root.joinpath(language, name).read_text(encoding="utf-8"))
    except (FileNotFoundError, OSError) as e:
        raise ConfigError(f"rule model {language}/{name} cannot be read: {e}") from None


def read_rule_files(language: str) -> dict[str, Any]:
    """The raw contents of a language's rule files (for tests and tools)."""
    root = _models_root()
    out: dict[str, Any] = {}
    try:
        out["ruleset"] = tomllib.loads(_read(root, language, "ruleset.toml"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"rule model {language}/ruleset.toml is not valid TOML: {e}") from None
    for name in RULE_FILES:
        try:
            out[name] = json.loads(_read(root, language, name))
        except json.JSONDecodeError as e:
            raise ConfigError(
                f"rule model {language}/{name} is not valid JSON: line {e.lineno}: {e.msg}"
            ) from None
    return out


def model_toml(name: str) -> dict[str, Any]:
    """A TOML file at the top of the rule models (decision.toml, metrics.toml)."""
    try:
        return tomllib.loads(str(_models_root().joinpath(name).read_text(encoding="utf-8")))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{name} cannot be read: {e}") from None


def toml_number(name: str, data: dict[str, Any], section: str, key: str) -> float:
    """data[section][key] of the file ``name`` as a number; a missing one is an error."""
    try:
        return float(data[section][key])
    except (KeyError, TypeError, ValueError):
        raise ConfigError(f"{name}: [{section}] {key} is missing or not a number") from None


@functools.cache
def decision_settings() -> dict[str, Any]:
    """models/decision.toml: when the audio cannot support a judgement, and the thresholds."""
    return model_toml(DECISION_FILE)


def threshold(section: str, key: str) -> float:
    """A number from models/decision.toml; a missing one is an error (the code states no default)."""
    return toml_number(DECISION_FILE, decision_settings(), section, key)


@functools.cache
def ruleset_version(language: str) -> str:
    """The version string of a language's rules (cheap: reads one small TOML file)."""
    root = _models_root()
    try:
        meta = tomllib.loads(_read(root, language, "ruleset.toml"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"rule model {language}/ruleset.toml is not valid TOML: {e}") from None
    return str(meta.get("version", f"{language}-unversioned"))


@functools.cache
def load_ruleset(language: str) -> RuleSet:
    """Compile the language's rule files against its spaCy vocabulary (cached)."""
    from spacy.matcher import Matcher

    from auditor.analysis.nlp import pipeline

    raw = read_rule_files(language)
    nlp = pipeline(language)
    # Single-word patterns ({"LEMMA": {"IN": [...]}}) are looked up in a dict;
    # the rest go to one small Matcher per cue, run only on turns that hold a
    # word its patterns start with. The Matcher tries every pattern at every
    # token, so this keeps analysis fast as the rule files grow; the results
    # are the same as one Matcher over all patterns.
    matchers: list[tuple[frozenset[str] | None, Matcher]] = []
    single: dict[tuple[str, str], list[str]] = {}
    cues: dict[str, Cue] = {}
    sources = {"stages.json": raw["stages.json"], "calltype.json": raw["calltype.json"],
               "dialogue.json": raw["dialogue.json"]}
    for fname, data in sources.items():
        for section, body in data.items():
            if not isinstance(body, dict) or "cues" not in body:
                continue
            for name, spec in body["cues"].items():
                key = f"{section}.{name}"
                if key in cues:
                    raise ConfigError(f"rule model {language}/{fname}: duplicate cue {key}")
                cues[key] = Cue(
                    key=key, section=section, name=name,
                    weight=float(spec.get("weight", 1.0)),
                    where=str(spec.get("in", "")),
                    extra={k: v for k, v in spec.items()
                           if k not in ("patterns", "weight", "in", "not_before", "not_after",
                                        "not_with")},
                    not_before=frozenset(spec.get("not_before", [])),
                    not_after=frozenset(spec.get("not_after", [])),
                    not_with=frozenset(spec.get("not_with", [])),
                )
                matcher = Matcher(nlp.vocab, validate=True)
                try:
                    # Validate every pattern, including those served by the dict.
                    matcher.add(key, spec["patterns"])
                except (ValueError, KeyError, TypeError) as e:
                    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                    raise ConfigError(
                        f"rule model {language}/{fname}: cue {key} has a bad pattern: {first}"
                    ) from None
                rest = []
                for pattern in spec["patterns"]:
                    simple = _single_word(pattern)
                    if simple is None:
                        rest.append(pattern)
                        continue
                    attr, values = simple
                    for v in values:
                        single.setdefault((attr, v), []).append(key)
                if rest:
                    matcher = Matcher(nlp.vocab)
                    matcher.add(key, rest)
                    matchers.append((_trigger(rest), matcher))
    neg = raw["dialogue.json"].get("negation", {})
    return RuleSet(
        language=language,
        version=str(raw["ruleset"].get("version", f"{language}-unversioned")),
        stages=raw["stages.json"],
        calltype=raw["calltype.json"],
        dialogue=raw["dialogue.json"],
        cues=cues,
        matchers=matchers,
        single={k: tuple(dict.fromkeys(v)) for k, v in single.items()},
        negators=frozenset(neg.get("tokens", [])),
        negation_window=int(neg.get("window", 2)),
        negatable=frozenset(neg.get("sections", [])),
    )
