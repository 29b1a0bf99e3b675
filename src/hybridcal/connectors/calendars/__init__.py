"""connectors/calendars"""
