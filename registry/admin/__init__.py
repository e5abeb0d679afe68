"""System administration: institutions and users."""
