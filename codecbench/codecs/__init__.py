"""Codecs as data: a CodecSpec per codec family (see codecs/spec.py) and the registry (codecs/registry.py)."""
