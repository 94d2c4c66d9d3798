"""The planner's service: ``/coverage`` (the analysis, cached by data versions) and siting
jobs under ``/jobs`` (each solved in a child process). Figures come only from
``geo.coverage`` and ``geo.siting``.
"""
