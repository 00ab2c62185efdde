"""Fuzzy matching of spoken requests against library rows."""

from __future__ import annotations

from assistant.services.music.search import find, is_ambiguous

ROWS = [
    (1, "Here Comes the Sun", "The Beatles", "Abbey Road", "The Beatles", "Rock"),
    (2, "Something", "The Beatles", "Abbey Road", "The Beatles", "Rock"),
    (3, "Yesterday", "The Beatles", "Help!", "The Beatles", "Pop"),
    (4, "Yesterday", "Boyz II Men", "II", "Boyz II Men", "R&B"),
    (5, "So What", "Miles Davis", "Kind of Blue", "Miles Davis", "Jazz"),
    (6, "Blue in Green", "Miles Davis", "Kind of Blue", "Miles Davis", "Jazz"),
    (7, "Hoppípolla", "Sigur Rós", "Takk...", "Sigur Rós", "Post-rock"),
    (8, "Yesterday", "The Beatles", "1", "The Beatles", "Pop"),
]


def test_title_by_artist_is_split_and_both_must_match() -> None:
    best = find(ROWS, "here comes the sun by the beatles")[0]
    assert (best.kind, best.name, best.artist, best.track_ids) == ("track", "Here Comes the Sun", "The Beatles", [1])


def test_an_artist_filter_picks_one_of_two_songs_with_the_same_title() -> None:
    matches = find(ROWS, "yesterday", artist="boyz ii men")
    assert matches[0].track_ids == [4]
    assert not is_ambiguous(matches)


def test_the_same_title_by_two_artists_is_ambiguous_but_one_artists_two_copies_are_not() -> None:
    matches = find(ROWS, "yesterday")
    assert is_ambiguous(matches)
    assert {m.artist for m in matches[:2]} == {"The Beatles", "Boyz II Men"}
    assert sum(1 for m in matches if m.kind == "track" and m.artist == "The Beatles") == 1


def test_misheard_titles_still_match() -> None:
    assert find(ROWS, "here come the son")[0].track_ids == [1]
    assert find(ROWS, "hoppipolla")[0].track_ids == [7]


def test_artist_album_and_genre_requests_play_groups_in_album_order() -> None:
    artist = find(ROWS, "miles davis")[0]
    assert (artist.kind, artist.track_ids) == ("artist", [5, 6])
    album = find(ROWS, "kind of blue")[0]
    assert (album.kind, album.artist, album.track_ids) == ("album", "Miles Davis", [5, 6])
    genre = find(ROWS, "jazz")[0]
    assert (genre.kind, genre.track_ids) == ("genre", [5, 6])


def test_playlists_are_matched_by_name() -> None:
    best = find(ROWS, "road trip", playlists={"Road Trip": [2, 5]})[0]
    assert (best.kind, best.track_ids, best.description) == ("playlist", [2, 5], "the playlist Road Trip")


def test_nonsense_and_empty_queries_find_nothing() -> None:
    assert find(ROWS, "xqzvw kkrrpt") == []
    assert find(ROWS, "   ") == []


def test_descriptions_name_the_kind() -> None:
    matches = {m.kind: m.description for m in find(ROWS, "abbey road", limit=10)}
    assert matches["album"] == "the album Abbey Road by The Beatles"
