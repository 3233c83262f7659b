"""Code shared by the Arena controller and agent: schemas, statistics, wire conversion."""
