"""The result store's SQLite schema (tables points, meta and runs) and its version number."""

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS points (
    key        TEXT PRIMARY KEY,
    image_hash TEXT NOT NULL,
    codec_key  TEXT NOT NULL,
    target     TEXT NOT NULL,
    status     TEXT NOT NULL,
    dataset    TEXT,
    image_id   TEXT,
    codec      TEXT,
    label      TEXT,
    target_bpp REAL,
    bpp        REAL,
    created    TEXT,
    record     TEXT NOT NULL,
    UNIQUE (image_hash, codec_key, target)
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id       TEXT PRIMARY KEY,
    argv         TEXT,
    started      TEXT,
    finished     TEXT,
    git_describe TEXT,
    versions     TEXT,
    suite        TEXT,
    summary      TEXT
);
"""
