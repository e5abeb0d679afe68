"""People: women, pregnant women, newborns and children, and their identities."""
