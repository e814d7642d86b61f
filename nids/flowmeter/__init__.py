"""Packet captures to NF-BoT-IoT-v2 flow records: NFStream meters the flows, a plugin adds what it lacks."""
