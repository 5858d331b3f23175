"""Semantic segmenters used to score decoded images by mIoU (interface and registry in :mod:`.registry`)."""

from .registry import ENTRY_POINT_GROUP, Segmenter, SegmenterError, create, names

__all__ = ["ENTRY_POINT_GROUP", "Segmenter", "SegmenterError", "create", "names"]
