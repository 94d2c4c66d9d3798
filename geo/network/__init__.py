"""Walking along streets: the network built from an OSM extract or line file (``graph``)
and the locator's single-source router on it (``router``). Pure apart from reading files; may
import the foundations only.
"""
