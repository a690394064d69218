"""What a scheduled post says: the digest lists the desk's sources added since the last one."""

from __future__ import annotations

from datetime import timedelta

from handlers.posts import digest_card
from store.db import connect
from store.ingest import ingest
from store.queries import Store
from store.schedule import Post
from tests.conftest import SEEDS, at

NOW = at("2026-03-02T09:00+00:00")


def digest() -> Post:
    return Post(
        "digest:C1:2026-03-02", "C1", "digest", NOW, "UTC", NOW - timedelta(days=30), "weekly"
    )


def test_a_digest_lists_only_the_desk_s_sources_added_since_the_last(db_path, tmp_path):
    db = connect(db_path)
    release = tmp_path / "release.md"
    release.write_text(
        "# Ningbo trade note\n\nThe trade ministers met in Ningbo on 1 March 2026.\n"
    )
    ingest(db, release, NOW - timedelta(days=3), SEEDS)
    store = Store(db)
    text = digest_card(digest(), store, NOW, NOW - timedelta(days=7)).plain()
    assert "Sources added since the last digest" in text and "Ningbo trade note" in text
    later = digest_card(digest(), store.refresh(), NOW, NOW - timedelta(days=1)).plain()
    assert "Ningbo trade note" not in later  # added before that digest
    first = digest_card(digest(), store.refresh(), NOW, None).plain()
    assert "Sources added since" not in first  # a first digest has no "since"
    db.close()


def test_a_reminder_names_its_offset_once(store):
    from handlers.posts import reminder_card

    def said(offset: str) -> str:
        due = at("2026-05-18T01:00+00:00")
        post = Post(
            f"reminder:C1:som2-2026:2026-05-18:{offset}",
            "C1",
            "reminder",
            due,
            "UTC",
            due - timedelta(days=30),
            "reminders",
            "som2-2026",
            offset,
        )
        return reminder_card(post, store).plain()

    assert "Reminder on the first day\n" in said("0d") + "\n"
    assert "the first day the first day" not in said("0d")
    assert "Reminder 7 days before the first day" in said("7d")
