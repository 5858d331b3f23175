"""Helpers that prepare external programs for codecs: building libbpg's bpgenc/bpgdec, running a program in its
own process group with a timeout."""
