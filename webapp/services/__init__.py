"""Glue between HTTP and ``matcher``: database rows ↔ DataFrames and the jobs that call matcher.

Views call these functions; nothing here renders pages or scores pairs itself.
"""
