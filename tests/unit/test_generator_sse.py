from arena.agent.generator.sse import SSEParser


def feed_all(*reads: bytes) -> list[str]:
    parser = SSEParser()
    events = [event for read in reads for event in parser.feed(read)]
    return events + parser.close()


def test_one_event_split_across_reads() -> None:
    parser = SSEParser()
    assert parser.feed(b"da") == []
    assert parser.feed(b'ta: {"a": ') == []
    assert parser.feed(b"1}\n") == []
    assert parser.feed(b"\n") == ['{"a": 1}']


def test_several_events_in_one_read() -> None:
    assert feed_all(b"data: 1\n\ndata: 2\n\ndata: [DONE]\n\n") == ["1", "2", "[DONE]"]


def test_data_without_space_keeps_other_spaces() -> None:
    assert feed_all(b"data:x\n\ndata:  two\n\n") == ["x", " two"]


def test_crlf_and_bare_cr_line_endings() -> None:
    assert feed_all(b"data: a\r\n\r\ndata: b\r\rdata: c\n\n") == ["a", "b", "c"]


def test_crlf_split_between_reads_is_one_line_end() -> None:
    assert feed_all(b"data: a\r", b"\n\r", b"\ndata: b\r\n\r\n") == ["a", "b"]


def test_comments_and_other_fields_are_ignored() -> None:
    stream = b": keep-alive\n\nevent: message\nid: 7\ndata: x\n\n:ping\n\n"
    assert feed_all(stream) == ["x"]


def test_multi_line_data_joined_with_newline() -> None:
    assert feed_all(b"data: first\ndata: second\n\n") == ["first\nsecond"]


def test_utf8_character_split_between_reads() -> None:
    encoded = "data: café\n\n".encode()
    cut = encoded.index(b"\xa9")  # inside the two-byte é
    assert feed_all(encoded[:cut], encoded[cut:]) == ["café"]


def test_unterminated_last_event_is_delivered_on_close() -> None:
    assert feed_all(b"data: 1\n\ndata: [DONE]") == ["1", "[DONE]"]


def test_empty_data_line_makes_an_empty_event() -> None:
    assert feed_all(b"data\n\n") == [""]
