"""Ingest: find the recordings and tell whose they are (manager, client, time).

``discovery`` walks the folder; ``layouts`` reads the path; ``calllog`` reads
and joins a PBX/CRM export; ``normalise`` folds phone numbers and directions.
Imports only the ground floor (records, config, errors).
"""
