"""Users, roles, login sessions and the one function that decides what a user may see."""
