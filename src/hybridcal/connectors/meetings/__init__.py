"""connectors/meetings"""
