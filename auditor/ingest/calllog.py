"""Call logs: the CSV a PBX or CRM exports, read whatever its dialect, joined to recordings.

Real exports differ in everything: headers ("Менеджер", "Дата и время",
"Номер клиента", "Файл записи", "Agent", "Call start"...), separators (``;``
from a Russian Excel, ``,``, tabs), encodings (cp1251, UTF-8 with or without
BOM, UTF-16) and date formats (``02.11.2026 10:15``, ISO, Unix time). So the
encoding and delimiter are sniffed, headers are recognised from a list of
synonyms, and a column mapping (``file=Запись,manager=Сотрудник``) overrides
them.

A row is joined to a recording by file name (case-insensitive, path or URL
prefix and extension ignored), else by the client's number and start time
within a tolerance: PBX and CRM clocks, and ring time before answer, put the
two a minute or so apart. Whatever the row says wins over the file name; a
row's language (``ru``, ``en``, ``English``...) is the language the call is
transcribed and analysed in.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote

from auditor.errors import ConfigError, InputError
from auditor.ingest.normalise import normalize_direction, normalize_phone
from auditor.records import RecordingInfo

log = logging.getLogger(__name__)

FIELDS: tuple[str, ...] = ("file", "manager", "client", "started_at", "direction", "date", "time",
                           "language")

# Lower-case, 'ё' -> 'е', punctuation collapsed to single spaces (see _norm_header).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "file": ("file", "filename", "file name", "recording", "recording file", "record",
             "record file", "recordingfile", "audio", "recording url", "record url", "link",
             "файл", "файл записи", "запись", "запись разговора", "имя файла",
             "ссылка на запись", "ссылка на файл", "аудиозапись"),
    "manager": ("manager", "agent", "employee", "operator", "user", "responsible", "extension",
                "менеджер", "сотрудник", "оператор", "ответственный", "пользователь",
                "внутренний номер", "добавочный", "фио менеджера", "менеджер фио"),
    "client": ("client", "client phone", "client number", "phone", "phone number", "number",
               "customer", "customer phone", "caller", "callerid", "contact", "номер клиента",
               "телефон клиента", "клиент", "телефон", "номер телефона", "номер",
               "абонент", "номер абонента", "контакт"),
    "started_at": ("started at", "started", "start", "start time", "call start", "datetime",
                   "date time", "call date", "calldate", "timestamp", "дата и время",
                   "дата время", "дата и время звонка", "время начала", "начало",
                   "начало звонка", "дата звонка", "время звонка", "дата начала"),
    "direction": ("direction", "call direction", "type", "call type", "направление",
                  "тип", "тип звонка", "направление звонка"),
    "date": ("date", "дата"),
    "time": ("time", "время"),
    "language": ("language", "lang", "call language", "spoken language", "язык", "язык звонка",
                 "язык разговора"),
}

# Language names as CRMs write them -> the code Whisper and the analysis take.
_LANGUAGE_NAMES = {
    "russian": "ru", "rus": "ru", "русский": "ru", "рус": "ru", "ru": "ru",
    "english": "en", "eng": "en", "английский": "en", "англ": "en", "en": "en",
    "ukrainian": "uk", "ukr": "uk", "украинский": "uk",
    "kazakh": "kk", "kaz": "kk", "казахский": "kk",
    "german": "de", "deu": "de", "ger": "de", "немецкий": "de",
    "auto": "auto",
}

_DATE_FORMATS = (
    "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%y %H:%M:%S", "%d.%m.%y %H:%M",
    "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
    "%Y%m%d%H%M%S", "%Y%m%d %H%M%S", "%d.%m.%Y", "%d/%m/%Y",
)


@dataclass(frozen=True)
class CallLogRow:
    """One call from the log; ``line`` is the line number in the file (header = 1)."""

    line: int
    file: str | None = None
    manager: str | None = None
    client: str | None = None
    started_at: datetime | None = None
    direction: str | None = None
    language: str | None = None  # a language code (ru, en, ...): what the call is spoken in


@dataclass
class CallLog:
    """A read call log and how it was read."""

    path: Path
    rows: list[CallLogRow]
    encoding: str
    delimiter: str
    columns: dict[str, str]  # field -> header it was read from
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line, why)


@dataclass
class JoinResult:
    recordings: list[RecordingInfo]
    rows_without_recording: list[CallLogRow]
    recordings_without_row: list[Path]
    by_file: int = 0
    by_client_time: int = 0


def _norm_header(h: str) -> str:
    h = h.replace("\ufeff", "").strip().lower().replace("ё", "е")
    return re.sub(r"[\s_\-.,:/()]+", " ", h).strip()


def parse_columns(spec: str | dict[str, str] | None) -> dict[str, str]:
    """``"file=Файл записи,manager=Сотрудник"`` -> {field: header}; fields are checked."""
    if spec is None:
        return {}
    pairs = spec.items() if isinstance(spec, dict) else (
        part.split("=", 1) if "=" in part else (part, "")
        for part in re.split(r"[,;]", spec) if part.strip())
    out: dict[str, str] = {}
    for key, header in pairs:
        key = key.strip().lower().replace("-", "_")
        if key == "start":
            key = "started_at"
        if key not in FIELDS:
            raise ConfigError(f"call-log column mapping: unknown field {key!r} "
                              f"(fields: {', '.join(FIELDS)})")
        if not header.strip():
            raise ConfigError(f"call-log column mapping: no header given for {key!r}")
        out[key] = header.strip()
    return out


def sniff_encoding(raw: bytes) -> str:
    """utf-8-sig / utf-16 by BOM, else utf-8 if it decodes, else cp1251 (Russian Excel)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1251"


def sniff_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=";,\t|").delimiter
    except csv.Error:
        first = text.splitlines()[0] if text else ""
        counts = {d: first.count(d) for d in ";,\t|"}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def _map_headers(headers: list[str], explicit: dict[str, str]) -> dict[str, int]:
    norm = [_norm_header(h) for h in headers]
    index: dict[str, int] = {}
    for key, header in explicit.items():
        want = _norm_header(header)
        if want not in norm:
            raise InputError(f"call log has no column {header!r} (columns: "
                             f"{', '.join(h.strip() for h in headers)})")
        index[key] = norm.index(want)
    taken = set(index.values())
    for key in FIELDS:
        if key in index:
            continue
        for syn in SYNONYMS[key]:
            if syn in norm and norm.index(syn) not in taken:
                index[key] = norm.index(syn)
                taken.add(index[key])
                break
    return index


def parse_started(value: str) -> datetime | None:
    """A start time from the formats CRMs export; naive local time."""
    v = value.strip()
    if not v:
        return None
    if re.fullmatch(r"\d{10}(\.\d+)?", v):
        return datetime.fromtimestamp(float(v))
    try:
        dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        dt = None
        for fmt in _DATE_FORMATS:
            try:
                dt = datetime.strptime(v, fmt)
                break
            except ValueError:
                continue
    if dt is not None and dt.tzinfo is not None:
        dt = dt.astimezone().replace(tzinfo=None)
    return dt


def normalize_language(value: str | None) -> str | None:
    """'en', 'EN', 'en-US', 'English', 'английский' -> 'en'; None if it is not a language."""
    v = (value or "").strip().lower().replace("ё", "е")
    if v in _LANGUAGE_NAMES:
        return _LANGUAGE_NAMES[v]
    m = re.fullmatch(r"([a-z]{2})(?:[-_][a-z0-9]+)?", v)
    return m.group(1) if m else None


def read_call_log(path: Path, columns: str | dict[str, str] | None = None) -> CallLog:
    """Read a call-log CSV of any common dialect; rows that cannot be read are listed."""
    explicit = parse_columns(columns)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read call log: {e.strerror or e}") from None
    encoding = sniff_encoding(raw)
    text = raw.decode(encoding, errors="replace")
    if not text.strip():
        raise InputError(f"{path}: call log is empty")
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    headers = next(reader)
    index = _map_headers(headers, explicit)
    has_time = "started_at" in index or "date" in index
    if "file" not in index and not ("client" in index and has_time):
        raise InputError(
            f"{path}: call log needs a file column, or client and start-time columns; found "
            f"{', '.join(h.strip() for h in headers)}. Map them with e.g. "
            f"--call-log-columns 'file=Запись,client=Телефон,started_at=Начало'")
    logbook = CallLog(path=path, rows=[], encoding=encoding, delimiter=delimiter,
                      columns={k: headers[i].strip() for k, i in index.items()})
    for n, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue

        def cell(key: str, cells: list[str] = cells) -> str | None:
            i = index.get(key)
            if i is None or i >= len(cells):
                return None
            return cells[i].strip() or None

        started = None
        stamp = cell("started_at")
        if stamp is None and cell("date"):
            stamp = f"{cell('date')} {cell('time') or ''}".strip()
        if stamp:
            started = parse_started(stamp)
            if started is None:
                logbook.problems.append((n, f"cannot read start time {stamp!r}"))
        spoken = cell("language")
        language = normalize_language(spoken)
        if spoken is not None and language is None:
            logbook.problems.append((n, f"cannot read language {spoken!r}"))
        row = CallLogRow(line=n, file=cell("file"), manager=cell("manager"),
                         client=normalize_phone(cell("client")), started_at=started,
                         direction=normalize_direction(cell("direction")), language=language)
        if row.file is None and (row.client is None or row.started_at is None):
            logbook.problems.append((n, "no file and no client + start time: cannot be joined"))
        logbook.rows.append(row)
    log.info("call log %s: %d rows, %s, delimiter %r, columns %s", path, len(logbook.rows),
             encoding, delimiter, logbook.columns)
    return logbook


def file_key(name: str) -> str:
    """The bare file name of a path or URL, lower-cased: what joins a row to a file."""
    name = name.strip().split("?", 1)[0].split("#", 1)[0]
    if "%" in name:
        name = unquote(name)
    return re.split(r"[\\/]", name)[-1].lower()


def _stem(key: str) -> str:
    return key.rsplit(".", 1)[0] if "." in key else key


def phone_key(phone: str | None) -> str | None:
    """The last ten digits (8 912... and +7 912... are one number); shorter kept whole."""
    digits = re.sub(r"\D", "", phone or "")
    if not digits:
        return None
    return digits[-10:]


def _merge(rec: RecordingInfo, row: CallLogRow) -> RecordingInfo:
    return replace(
        rec,
        manager=row.manager or rec.manager,
        client=row.client or rec.client,
        started_at=row.started_at or rec.started_at,
        direction=row.direction or rec.direction,
        language=row.language or rec.language,
    )


def join(recordings: list[RecordingInfo], logbook: CallLog, tolerance_s: float = 120.0
         ) -> JoinResult:
    """Attach each row to its recording: by file name first, then client + nearest time."""
    by_name: dict[str, int] = {}
    by_stem: dict[str, int] = {}
    for n, rec in enumerate(recordings):
        key = rec.path.name.lower()
        by_name.setdefault(key, n)
        by_stem.setdefault(_stem(key), n)
    matched: dict[int, CallLogRow] = {}
    pending: list[CallLogRow] = []
    result = JoinResult(recordings=[], rows_without_recording=[], recordings_without_row=[])
    for row in logbook.rows:
        i: int | None = None
        if row.file:
            key = file_key(row.file)
            i = by_name.get(key)
            if i is None:
                i = by_stem.get(_stem(key))
        if i is not None and i not in matched:
            matched[i] = row
            result.by_file += 1
        else:
            pending.append(row)
    # Client + time: nearest free recording of the same number within the tolerance.
    by_phone: dict[str, list[int]] = {}
    for i, rec in enumerate(recordings):
        k = phone_key(rec.client)
        if k is not None and rec.started_at is not None and i not in matched:
            by_phone.setdefault(k, []).append(i)
    for row in pending:
        k = phone_key(row.client)
        best: tuple[float, int] | None = None
        if k is not None and row.started_at is not None:
            for i in by_phone.get(k, []):
                if i in matched:
                    continue
                delta = abs((recordings[i].started_at - row.started_at).total_seconds())  # type: ignore[operator]
                if delta <= tolerance_s and (best is None or delta < best[0]):
                    best = (delta, i)
        if best is None:
            result.rows_without_recording.append(row)
        else:
            matched[best[1]] = row
            result.by_client_time += 1
    for i, rec in enumerate(recordings):
        if i in matched:
            result.recordings.append(_merge(rec, matched[i]))
        else:
            result.recordings.append(rec)
            result.recordings_without_row.append(rec.path)
    return result
