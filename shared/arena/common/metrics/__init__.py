"""Benchmark metrics from request samples: pure functions with the reference tools' definitions.

Import the module you need (``catalogue`` for the definitions, ``derive`` to compute them): the
catalogue is light, the maths loads NumPy, and a listing needs only the catalogue."""
