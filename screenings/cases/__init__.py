"""Follow-up cases: the one writer of their events and state, and the check that replays them."""
