"""The coverage analysis: who is beyond a walk of a station, per boundary.

``analysis`` is pure (GeoDataFrames and arrays in, a frozen result out); ``demand`` re-spreads
residents, ``supply`` chooses the stations that count, ``whatif`` applies a planned change,
``report`` writes the result as files. May import ``geo.network`` (walked distances) and the
foundations; never ``geo.store`` (the caller loads the frames).
"""
