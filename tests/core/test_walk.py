"""The walk's shortcuts (process-wide key caches, the smallest-key test for array-index
keys) give the order, paths and shape the plain rules give."""

from __future__ import annotations

from haechi import walk
from haechi.canonical import js_string, short_hash
from haechi.walk import key_segment, walk_document


def test_array_index_keys_come_first_even_when_a_non_index_key_sorts_past_nine():
    document = {"9abc": "a", "95": "b", "b": "c", "1": "d", "01": "e"}
    texts = walk_document(document, max_depth=8).texts
    assert texts == ["1", "d", "95", "b", "9abc", "a", "b", "c", "01", "e"]
    assert walk_document({"9abc": "a", "95": "b"}, max_depth=8).texts == ["95", "b", "9abc", "a"]


def test_objects_whose_keys_open_with_letters_keep_insertion_order():
    document = {"zeta": 1, "_x": 2, "@y": 3, "alpha": 4}
    assert walk_document(document, max_depth=8).texts[::2] == ["zeta", "_x", "@y", "alpha"]


def test_cached_key_segments_and_fragments_match_the_hash_and_stay_bounded(monkeypatch):
    monkeypatch.setattr(walk, "_key_segments", {})
    monkeypatch.setattr(walk, "_key_fragments", {})
    monkeypatch.setattr(walk, "_CACHED_KEYS", 3)
    long_key = "k" * (walk._CACHED_KEY_LENGTH + 1)
    for key in ["a", "b", long_key, "c", "d", "e"]:
        assert key_segment(key) == "key_" + short_hash(key)
        fragment = js_string(key) + ":"
        assert walk._key_fragment(key) == (fragment, "," + fragment)
        assert key_segment(key) == "key_" + short_hash(key)  # from the table when cached
    assert set(walk._key_segments) == {"a", "b", "c"}
    assert set(walk._key_fragments) == {"a", "b", "c"}


def test_the_shape_hash_does_not_depend_on_what_earlier_walks_cached():
    document = {"messages": [{"role": "user", "content": "hi"}], "n": None, "ok": True}
    first = walk_document(document, max_depth=8).shape_hash
    walk_document({"messages": {"role": []}}, max_depth=8)
    assert walk_document(document, max_depth=8).shape_hash == first
    shape = (
        '{"messages":[{"role":{"type":"string","length":4},"content":{"type":"string",'
        '"length":2}}],"n":{"type":"null"},"ok":{"type":"boolean"}}'
    )
    assert first == short_hash(shape)


def test_only_schema_like_keys_are_remembered_across_calls():
    from haechi import walk as walk_module

    walk_document({"minji.kim@example.com": {"role": "user"}, "user_4111": 1}, max_depth=8)
    remembered = set(walk_module._key_segments) | set(walk_module._key_fragments)
    assert "role" in remembered
    assert "minji.kim@example.com" not in remembered
    assert "user_4111" not in remembered
