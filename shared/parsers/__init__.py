"""Parsers for the reference tools' output files: one module per format, pure text → data.

Each parser raises ``ParseError`` for a file it cannot read at all; problems confined to one
part of a file (a broken table row, a bad number) come back beside the data instead, so the
rest of the file still counts. ``result_folder`` walks a folder tree and gathers both.
"""


class ParseError(ValueError):
    """The file cannot be read as its format; the message says what is wrong."""
