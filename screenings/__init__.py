"""What happens to people: screening results, follow-up cases, indicators and reports."""
