"""``hybridcal doctor``: checks everything before and after roll-out and says what to fix."""
