"""What a result means, decided in one place: a finished job's samples turned into stored
metrics (``aggregation``), and the results users read, judged for validity and spread
(``runs`` for measured jobs, ``imported`` for imported ones). The store keeps the rows."""
