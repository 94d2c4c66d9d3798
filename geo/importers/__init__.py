"""Importers: read a file, validate every row, write the good ones in one transaction."""
