"""Everything of the site that speaks to the broker."""
