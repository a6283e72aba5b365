"""Packets: builders with checksums computed, decoders to a tree of fields, capture
filters (classic BPF and the same test in Python) and pcap files, all on bytes."""
