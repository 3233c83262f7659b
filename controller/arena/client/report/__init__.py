"""``arenactl report``: one self-contained HTML file of stored results.

Three steps, each its own module so that they can be timed apart (``bench/report.py``):
``fetch`` reads the selected runs, their samples and telemetry through ``ArenaClient``;
``build`` turns them into figures (``arena.common.figures``) and tables; ``write`` renders
the Jinja2 template with plotly.js inlined once, so the file opens without a network.
"""
