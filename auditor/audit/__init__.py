"""Audit: the batch runner, the audit of one recording, and rescore of stored transcripts.

Brings the layers below together (ingest -> speech -> analysis -> store);
imports nothing above it (views, cli).
"""
