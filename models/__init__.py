"""Rule models of the analysis, one folder per language (shipped as auditor._rules)."""
