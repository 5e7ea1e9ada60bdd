"""Speech: probe and decode audio, the speech model, the transcriber, VAD and guards.

Turns a recording into a speaker-attributed :class:`auditor.records.Transcript`.
faster-whisper and PyAV are imported inside functions. Imports only ingest and
the ground floor.
"""
