"""Exporters: the tables written to files (``files``: our fields, platform bulk layouts) and
to Open Referral HSDS 3.0 (``hsds``). Read through ``geo.store``; convert coordinates only at
this edge, through ``geo.crs``.
"""
