"""The editors' write path: tokens (``auth``), station and enterprise writes with their
audit (``routes``, ``tables``), file uploads through the importers (``uploads``) and worker
reports with moderation (``reports``).
"""
